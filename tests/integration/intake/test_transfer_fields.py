"""Partner transfers with the full intake form: what is accepted, what is refused, and
that a refusal names the field and stores nothing."""

from __future__ import annotations

from typing import Any

from libs.events import pii
from libs.kit.problems import PROBLEM_JSON
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import resident_id, transfer


async def _partner(intake: Intake, department: str = "audit") -> dict[str, str]:
    return await intake.bearer(await intake.partner(department))


async def _clue_events(intake: Intake) -> list[Any]:
    return [e for e in await intake.events() if e.type == "zhengfeng.intake.clue_received"]


async def _refused(intake: Intake, response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert await _clue_events(intake) == []
    assert await intake.count("partner_references") == 0
    return dict(response.json())


async def test_a_full_transfer_records_every_field_in_the_clue(intake: Intake) -> None:
    auth = await _partner(intake)

    response = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)

    assert response.status_code == 201, response.text
    async with intake.engine.connect() as conn:
        from sqlalchemy import text

        data = (await conn.execute(text("SELECT data FROM events"))).scalar_one()
    person = data["reported_persons"][0]
    assert (person["rank"], person["top_leader"], person["key_minority"]) == ("正科级", True, True)
    assert data["urgency"] == "urgent"
    assert (data["occurred_from"], data["occurred_to"]) == ("2026-01-20", "2026-02-10")
    assert await pii.open_texts(intake.app.state.deps.vault, data["place"]) == "某县"  # sealed


async def test_an_id_number_with_a_wrong_check_digit_is_refused_by_field(intake: Intake) -> None:
    auth = await _partner(intake)
    good = resident_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    body = transfer()
    body["reported_persons"][0]["id_number"] = bad

    problem = await _refused(
        intake, await intake.http.post("/v1/clue-transfers", json=body, headers=auth)
    )

    [error] = problem["errors"]
    assert error["field"] == "reported_persons[0].id_number"
    assert "校验码" in error["reason"]
    # The schema states the 18-character form; the check digit is a refusal of its own.
    assert problem["type"] == "/problems/invalid-resident-id"


async def test_a_lowercase_x_check_character_is_accepted(intake: Intake) -> None:
    auth = await _partner(intake)
    body = transfer()
    body["reported_persons"][0]["id_number"] = "11010519491231002x"

    response = await intake.http.post("/v1/clue-transfers", json=body, headers=auth)

    assert response.status_code == 201, response.text


async def test_unknown_categories_are_refused_listing_the_valid_ones(intake: Intake) -> None:
    auth = await _partner(intake)

    problem = await _refused(
        intake,
        await intake.http.post(
            "/v1/clue-transfers",
            json=transfer(categories=["violation_gifts", "jaywalking"]),
            headers=auth,
        ),
    )

    assert problem["errors"] == [{"field": "categories[1]", "reason": "没有类别「jaywalking」"}]
    assert "violation_dining" in problem["valid_categories"]
    assert "jaywalking" in problem["detail"]


async def test_wrong_types_and_missing_fields_are_each_named(intake: Intake) -> None:
    auth = await _partner(intake)
    body = transfer(urgency="whenever", occurred_from="yesterday", categories="violation_gifts")
    del body["narrative"]
    body["reported_persons"][0]["top_leader"] = "perhaps"

    problem = await _refused(
        intake, await intake.http.post("/v1/clue-transfers", json=body, headers=auth)
    )

    assert {e["field"] for e in problem["errors"]} == {
        "urgency",
        "occurred_from",
        "categories",
        "narrative",
        "reported_persons[0].top_leader",
    }


async def test_an_end_before_the_start_is_refused(intake: Intake) -> None:
    auth = await _partner(intake)

    problem = await _refused(
        intake,
        await intake.http.post(
            "/v1/clue-transfers",
            json=transfer(occurred_from="2026-03-01", occurred_to="2026-02-01"),
            headers=auth,
        ),
    )

    assert "早于开始日期" in problem["errors"][0]["reason"]
    assert problem["type"] == "/problems/date-order"


async def test_malformed_json_is_a_problem_naming_the_body(intake: Intake) -> None:
    auth = await _partner(intake)

    problem = await _refused(
        intake,
        await intake.http.post(
            "/v1/clue-transfers",
            content=b'{"reference": "SJ-1", ',
            headers={**auth, "Content-Type": "application/json"},
        ),
    )

    assert problem["errors"][0]["field"].startswith("body")


async def test_a_body_that_is_not_utf8_is_a_problem_and_stores_nothing(intake: Intake) -> None:
    auth = await _partner(intake)
    gbk = '{"reference": "SJ-1", "narrative": "收受礼金"}'.encode("gbk")

    problem = await _refused(
        intake,
        await intake.http.post(
            "/v1/clue-transfers",
            content=gbk,
            headers={**auth, "Content-Type": "application/json"},
        ),
        status=400,
    )

    assert problem["errors"][0]["field"] == "body"
    assert "UTF-8" in problem["detail"]


async def test_an_oversize_body_is_413_before_it_is_read(intake: Intake) -> None:
    auth = await _partner(intake)

    problem = await _refused(
        intake,
        await intake.http.post(
            "/v1/clue-transfers", json=transfer(narrative="很" * 20000), headers=auth
        ),
        status=413,
    )

    assert problem["errors"] == [{"field": "body", "reason": "超过 32768 字节"}]


async def test_an_oversize_body_without_a_length_is_413_too(intake: Intake) -> None:
    auth = await _partner(intake)

    async def chunks() -> Any:
        for _ in range(40):
            yield b" " * 1024

    problem = await _refused(
        intake,
        await intake.http.post(
            "/v1/clue-transfers",
            content=chunks(),
            headers={**auth, "Content-Type": "application/json"},
        ),
        status=413,
    )

    assert problem["errors"][0]["field"] == "body"
