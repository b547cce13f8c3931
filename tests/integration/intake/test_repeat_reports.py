"""重复件: a clue on a matter already open is merged into it, and a wrong merge is split."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from libs.kit.issuer import create_client
from tests.integration.fixtures import Intake, eventually
from tests.integration.intake.conftest import resident_id, transfer
from tests.integration.intake.test_personal_data import operator_auth
from tests.integration.intake.test_public_reports import report
from zhengfeng.cli import app as cli

CJK = re.compile(r"[\u4e00-\u9fff]")
OTHER_ID = resident_id("11010519491231002")


async def _send(intake: Intake, auth: dict[str, str], body: dict[str, Any], **headers: str) -> Any:
    response = await intake.http.post("/v1/clue-transfers", json=body, headers={**auth, **headers})
    assert response.status_code == 201, response.text
    return response.json()


async def _types_on(intake: Intake, clue_id: str) -> list[str]:
    async with intake.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT type FROM events WHERE stream_id = :s ORDER BY stream_version"),
            {"s": f"clue-{clue_id}"},
        )
        return [t.rsplit(".", 1)[-1] for (t,) in rows]


async def _clue(intake: Intake, clue_id: str, **params: str) -> Any:
    clerk = await operator_auth(intake, "clerk")
    return await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk, params=params)


async def test_a_transfer_on_the_same_id_number_is_merged_as_a_repeat_report(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    first = await _send(intake, audit, transfer("SJ-1"))
    # Same ID number, written with another unit (he moved); one category shared.
    again = transfer(
        "SW-7",
        categories=["violation_gifts", "violation_dining"],
        narrative="税务稽查发现其收受礼金。",
        urgency="normal",
    )
    again["reported_persons"][0]["unit"] = "某县发改委"
    second = await _send(intake, tax, again)

    opened = await _clue(intake, first["clue_id"])
    tax_view = await intake.http.get(second["status_url"], headers=tax)
    audit_view = await intake.http.get(second["status_url"], headers=audit)

    assert (second["status"], second["status_label"]) == ("merged", "已并入")
    assert second["clue_id"] != first["clue_id"]
    assert second["clue_number"] != first["clue_number"]  # its own receipt number
    assert second["merged_into"] is None  # another department's clue stays unnamed
    assert second["status_url"] == f"/v1/clue-transfers/{second['clue_id']}"
    assert tax_view.status_code == 200 and tax_view.json() == second
    assert audit_view.status_code == 404
    clue = opened.json()
    assert clue["repeat_count"] == 1
    assert (clue["priority"], clue["priority_label"]) == ("high", "高")  # urgent + 1 repeat
    [repeat] = clue["repeats"]
    assert repeat["repeat_id"] == second["clue_id"]
    assert repeat["source_department"] == "tax" and repeat["source_reference"] == "SW-7"
    assert repeat["narrative"] == "税务稽查发现其收受礼金。"
    assert repeat["matched_on"] == ["id_number"]
    assert repeat["overlapping_categories"] == ["violation_gifts"]
    assert repeat["reported_persons"][0]["name"] == "王*"  # masked like the clue's own
    assert await _types_on(intake, first["clue_id"]) == ["clue_received", "clue_merged"]
    assert await _types_on(intake, second["clue_id"]) == []  # no second clue opened
    async with intake.engine.connect() as conn:  # and only the clue is found by its persons
        indexed = await conn.execute(text("SELECT clue_id::text, id_key FROM clue_subjects"))
        assert [clue_id for clue_id, _ in indexed] == [first["clue_id"]]


async def test_a_public_report_by_name_and_unit_joins_a_partner_transfer(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-2"))
    filed = await intake.http.post(
        "/v1/reports",
        json=report(
            reported_persons=[{"name": "王五", "unit": "某县财政局"}],  # no ID number
            categories=["violation_gifts"],
            narrative="王局长过年收购物卡。",
        ),
    )
    assert filed.status_code == 201, filed.text
    code = filed.json()["receipt_code"]

    status = await intake.http.get(
        f"/v1/reports/{code}", headers={"X-Report-Secret": "qingshan-yijiu-2026"}
    )
    clue = (await _clue(intake, first["clue_id"])).json()

    assert status.status_code == 200, status.text
    assert (status.json()["status"], status.json()["status_label"]) == ("merged", "已并入")
    assert clue["repeat_count"] == 1
    [repeat] = clue["repeats"]
    assert repeat["source_kind"] == "public_report" and repeat["matched_on"] == ["name_unit"]
    assert repeat["narrative"] == "王局长过年收购物卡。"


async def test_a_hotline_order_naming_the_same_official_is_a_repeat(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-3"))
    platform = await intake.bearer(
        await create_client(intake.engine, kind="system", name="12345", scopes=["hotline:orders"])
    )
    response = await intake.http.post(
        "/v1/hotline-orders",
        json={
            "order_number": "GD-9",
            "unit": "某县财政局",
            "category": "作风",
            "content": "来电反映王五收受购物卡。",
            "status": "processing",
            "named_officials": [{"name": "王五", "id_number": resident_id(), "unit": "某县财政局"}],
            "misconduct_categories": ["violation_gifts"],
        },
        headers=platform,
    )

    assert response.status_code == 201, response.text
    assert response.json()["clue_status"] == "merged"
    clue = (await _clue(intake, first["clue_id"])).json()
    assert clue["repeat_count"] == 1 and clue["repeats"][0]["source_kind"] == "hotline_12345"


async def test_reports_that_are_not_the_same_matter_open_clues_of_their_own(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-10"))
    namesake = transfer("SJ-11")  # same name and unit, another ID number: another person
    namesake["reported_persons"][0]["id_number"] = OTHER_ID
    other_person = transfer("SJ-12")
    other_person["reported_persons"][0].update(name="赵六", id_number=None)
    other_matter = transfer("SJ-13", categories=["violation_dining"])  # no shared category

    answers = [await _send(intake, audit, body) for body in (namesake, other_person, other_matter)]

    assert [a["status"] for a in answers] == ["received"] * 3
    assert (await _clue(intake, first["clue_id"])).json()["repeat_count"] == 0


async def test_a_report_after_the_window_opens_a_new_clue(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-20"))
    store = intake.app.state.runtime.store
    window = intake.app.state.deps.duplicate_rules.window_days
    later = store.clock() + timedelta(days=window, hours=1)
    store.clock = lambda: later

    second = await _send(intake, audit, transfer("SJ-21"))

    assert second["status"] == "received"
    assert (await _clue(intake, first["clue_id"])).json()["repeat_count"] == 0


async def test_a_retried_transfer_gets_its_original_answer_not_a_merge(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-30"), **{"Idempotency-Key": "k-1"})
    by_reference = await _send(intake, audit, transfer("SJ-30"))
    by_key = await _send(intake, audit, transfer("SJ-30"), **{"Idempotency-Key": "k-1"})
    repeat = await _send(intake, audit, transfer("SJ-31"), **{"Idempotency-Key": "k-2"})
    repeat_again = await _send(intake, audit, transfer("SJ-31"), **{"Idempotency-Key": "k-2"})

    assert by_reference == first and by_key == first
    assert first["status"] == "received"
    assert repeat["status"] == "merged" and repeat_again == repeat
    # The department sent the earlier clue itself, so it may know which one it joined.
    assert repeat["merged_into"] == {"clue_number": first["clue_number"], "reference": "SJ-30"}
    assert (await _clue(intake, first["clue_id"])).json()["repeat_count"] == 1


async def test_repeats_raise_the_count_and_the_partner_list_shows_them_merged(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-40", urgency="normal"))
    for n in range(3):
        await _send(intake, audit, transfer(f"SJ-4{n + 1}", urgency="normal"))

    clue = (await _clue(intake, first["clue_id"])).json()

    assert clue["repeat_count"] == 3
    assert clue["priority"] == "high"  # normal (0) + 3 repeats reaches 高
    assert [r["source_reference"] for r in clue["repeats"]] == ["SJ-41", "SJ-42", "SJ-43"]

    async def listed() -> Any:
        page = (
            await intake.http.get("/v1/clue-transfers", params={"status": "merged"}, headers=audit)
        ).json()
        return page if len(page["items"]) == 3 else None

    page = await eventually(listed, "three merged transfers in the list")
    assert {i["reference"] for i in page["items"]} == {"SJ-41", "SJ-42", "SJ-43"}
    assert {i["status_label"] for i in page["items"]} == {"已并入"}


async def _split(
    intake: Intake, clue_id: str, repeat_id: str, auth: dict[str, str], **headers: str
) -> Any:
    return await intake.http.post(
        f"/v1/clues/{clue_id}/repeats/{repeat_id}/split",
        json={"reason": "身份证号相同但反映的是另一件事"},
        headers={**auth, **headers},
    )


async def test_a_clerk_splits_a_wrong_merge_into_a_clue_of_its_own(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    first = await _send(intake, audit, transfer("SJ-50"))
    second = await _send(intake, tax, transfer("SW-51", narrative="另一件事：违规兼职。"))
    clerk = await operator_auth(intake, "clerk")
    etag = (await _clue(intake, first["clue_id"])).headers["ETag"]

    split = await _split(intake, first["clue_id"], second["clue_id"], clerk, **{"If-Match": etag})
    again = await _split(intake, first["clue_id"], second["clue_id"], clerk)
    original = (await _clue(intake, first["clue_id"])).json()
    own = await _clue(intake, second["clue_id"])
    tax_view = (await intake.http.get(second["status_url"], headers=tax)).json()

    assert split.status_code == 201, split.text
    assert split.json() == {
        "clue_id": first["clue_id"],
        "repeat_count": 0,
        "priority": "elevated",
        "priority_label": "较高",
        "new_clue_id": second["clue_id"],
        "new_clue_number": second["clue_number"],
        "new_clue_url": f"/v1/clues/{second['clue_id']}",
    }
    assert again.status_code == 409 and again.json()["type"].endswith("already-split")
    assert original["repeat_count"] == 0 and original["repeats"] == []
    assert own.status_code == 200, own.text
    assert own.json()["narrative"] == "另一件事：违规兼职。"
    assert own.json()["source_department"] == "tax"
    assert own.json()["clue_number"] == second["clue_number"]
    assert (tax_view["status"], tax_view["clue_number"]) == ("received", second["clue_number"])
    # History keeps both: the merge and the split on the clue, the new clue on its own.
    assert await _types_on(intake, first["clue_id"]) == [
        "clue_received",
        "clue_merged",
        "clue_split",
    ]
    assert await _types_on(intake, second["clue_id"]) == ["clue_received"]


async def test_a_split_clue_is_itself_found_by_later_reports(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-60"))
    second = await _send(intake, audit, transfer("SJ-61"))
    clerk = await operator_auth(intake, "clerk")
    assert (await _split(intake, first["clue_id"], second["clue_id"], clerk)).status_code == 201

    third = await _send(intake, audit, transfer("SJ-62"))

    # The earliest open clue on the matter takes it: the original, not the split-off one.
    assert third["status"] == "merged"
    assert third["merged_into"]["reference"] == "SJ-60"


async def test_a_merged_public_report_keeps_its_reporter_side_through_a_split(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-70"))
    filed = await intake.http.post(
        "/v1/reports",
        json=report(
            reported_persons=[{"name": "王五", "unit": "某县财政局"}],
            categories=["violation_gifts"],
        ),
    )
    code = filed.json()["receipt_code"]
    secret = {"X-Report-Secret": "qingshan-yijiu-2026"}
    async with intake.engine.connect() as conn:
        repeat_id = str(
            (await conn.execute(text("SELECT clue_id FROM report_receipts"))).scalar_one()
        )
    clerk = await operator_auth(intake, "clerk")
    asked = await intake.http.post(
        f"/v1/reports/{code}/messages", json={"text": "受理了吗？"}, headers=secret
    )

    split = await _split(intake, first["clue_id"], repeat_id, clerk)
    status = await intake.http.get(f"/v1/reports/{code}", headers=secret)
    messages = await intake.http.get(f"/v1/reports/{code}/messages", headers=secret)

    assert asked.status_code == 201, asked.text
    assert split.status_code == 201, split.text
    assert status.json()["status"] == "received"
    assert [m["text"] for m in messages.json()] == ["受理了吗？"]
    assert await _types_on(intake, repeat_id) == [
        "report_received",
        "report_message_posted",
        "clue_received",
    ]


async def test_split_refuses_bad_requests_with_problems(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-80"))
    second = await _send(intake, audit, transfer("SJ-81"))
    clerk = await operator_auth(intake, "clerk")
    investigator = await operator_auth(intake, "investigator")
    url = f"/v1/clues/{first['clue_id']}/repeats/{second['clue_id']}/split"

    no_reason = await intake.http.post(url, json={"reason": " "}, headers=clerk)
    stale = await intake.http.post(
        url, json={"reason": "错并"}, headers={**clerk, "If-Match": '"1"'}
    )
    bad_etag = await intake.http.post(
        url, json={"reason": "错并"}, headers={**clerk, "If-Match": "yesterday"}
    )
    not_a_repeat = await intake.http.post(
        f"/v1/clues/{first['clue_id']}/repeats/{first['clue_id']}/split",
        json={"reason": "错并"},
        headers=clerk,
    )
    not_allowed = await intake.http.post(url, json={"reason": "错并"}, headers=investigator)
    merged_opened = await _clue(intake, second["clue_id"])

    for response, status, field in (
        (no_reason, 422, "reason"),
        (stale, 409, "If-Match"),
        (bad_etag, 400, "If-Match"),
        (not_a_repeat, 404, "repeat_id"),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}
    assert not_allowed.status_code == 403
    assert merged_opened.status_code == 404
    assert merged_opened.json()["merged_into"] == first["clue_id"]
    assert (await _clue(intake, first["clue_id"])).json()["repeat_count"] == 1
    assert await _types_on(intake, first["clue_id"]) == ["clue_received", "clue_merged"]


async def test_reports_of_one_matter_arriving_together_open_one_clue(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    answers = await asyncio.gather(*(_send(intake, audit, transfer(f"SJ-9{n}")) for n in range(6)))

    [first] = [a for a in answers if a["status"] == "received"]
    clue = (await _clue(intake, first["clue_id"])).json()
    assert sorted(a["status"] for a in answers) == ["merged"] * 5 + ["received"]
    assert clue["repeat_count"] == 5
    assert sorted(r["repeat_id"] for r in clue["repeats"]) == sorted(
        a["clue_id"] for a in answers if a["status"] == "merged"
    )


async def test_namesakes_arriving_together_stay_apart_and_a_report_without_id_joins_one(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    bodies = []
    for n in range(4):  # same name and unit, four ID numbers: four people
        body = transfer(f"SJ-8{n}")
        body["reported_persons"][0]["id_number"] = resident_id(f"11010519491231{n:02d}1")
        bodies.append(body)
    unnumbered = transfer("SJ-89")
    unnumbered["reported_persons"][0]["id_number"] = None  # may be any one of them
    answers = await asyncio.gather(
        *(_send(intake, audit, b) for b in [*bodies[:2], unnumbered, *bodies[2:]])
    )

    by_id, without_id = [*answers[:2], *answers[3:]], answers[2]
    if without_id["status"] == "received":  # it came first: every namesake joined it
        assert [a["status"] for a in by_id] == ["merged"] * 4
    else:  # it joined the first of theirs, and no namesake joined another
        assert [a["status"] for a in by_id] == ["received"] * 4
        first = min(by_id, key=lambda a: (a["received_at"], a["clue_id"]))
        assert without_id["merged_into"]["clue_number"] == first["clue_number"]


async def test_only_a_new_clue_is_judged_for_jurisdiction_a_split_one_too(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    city = transfer("SJ-100")
    city["reported_persons"][0]["unit"] = "市财政局"  # not this commission's: to forward
    first = await _send(intake, audit, city)
    second = await _send(intake, audit, {**city, "reference": "SJ-101"})
    clerk = await operator_auth(intake, "clerk")

    merged_types = await _types_on(intake, second["clue_id"])
    split = await _split(intake, first["clue_id"], second["clue_id"], clerk)

    assert await _types_on(intake, first["clue_id"]) == [
        "clue_received",
        "clue_marked_for_forwarding",
        "clue_merged",
        "clue_split",
    ]
    assert merged_types == []  # the repeat is not marked again: its clue already was
    assert split.status_code == 201, split.text
    assert await _types_on(intake, second["clue_id"]) == [
        "clue_received",
        "clue_marked_for_forwarding",
    ]


async def test_a_shredded_person_is_never_matched_again(intake: Intake, database_url: str) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-110"))
    async with intake.engine.connect() as conn:
        person_ref = str(
            (
                await conn.execute(
                    text("SELECT person_ref FROM clue_subjects WHERE clue_id = :c"),
                    {"c": first["clue_id"]},
                )
            ).scalar_one()
        )
    settings = intake.app.state.runtime.settings
    env = {
        "DATABASE_URL": database_url,
        "ZF_INTAKE_DB_SCHEMA": settings.db_schema,
        "ZF_INTAKE_PII_VAULT_SCHEMA": settings.pii_vault_schema,
    }
    shred = await asyncio.to_thread(
        CliRunner().invoke, cli, ["pii", "shred", person_ref, "--reason", "依法删除"], env=env
    )
    assert shred.exit_code == 0, shred.output

    async def forgotten() -> bool:
        async with intake.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT count(*) FROM clue_subjects WHERE person_ref = :p"), {"p": person_ref}
            )
            return rows.scalar_one() == 0

    await eventually(forgotten, "the shredded person's blind indexes forgotten")
    again = await _send(intake, audit, transfer("SJ-111"))

    assert again["status"] == "received"
    assert (await _clue(intake, first["clue_id"])).json()["repeat_count"] == 0


async def test_refusals_read_in_chinese_and_keep_their_machine_fields(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    first = await _send(intake, audit, transfer("SJ-90"))
    second = await _send(intake, audit, transfer("SJ-91"))
    clerk = await operator_auth(intake, "clerk")
    investigator = await operator_auth(intake, "investigator")
    url = f"/v1/clues/{first['clue_id']}/repeats/{second['clue_id']}/split"

    invalid = await intake.http.post(url, json={"reason": " ", "why": "x"}, headers=clerk)
    stale = await intake.http.post(
        url, json={"reason": "错并"}, headers={**clerk, "If-Match": '"1"'}
    )
    wrong_role = await intake.http.post(url, json={"reason": "错并"}, headers=investigator)
    done = await intake.http.post(url, json={"reason": "错并"}, headers=clerk)
    again = await intake.http.post(url, json={"reason": "错并"}, headers=clerk)

    assert done.status_code == 201, done.text
    refusals = {
        "validation-error": (invalid, 422),
        "stale-version": (stale, 409),
        "forbidden-role": (wrong_role, 403),
        "already-split": (again, 409),
    }
    for slug, (response, status) in refusals.items():
        problem = response.json()
        assert (response.status_code, problem["type"]) == (status, f"/problems/{slug}"), problem
        assert CJK.search(problem["title"]) and CJK.search(problem["detail"]), problem
        assert all(CJK.search(e["reason"]) for e in problem.get("errors", [])), problem
    assert {e["field"]: e["code"] for e in invalid.json()["errors"]} == {
        "reason": "string_too_short",
        "why": "extra_forbidden",
    }
    assert stale.json()["errors"][0]["field"] == "If-Match"
    assert "请重新读取后再提交" in stale.json()["detail"]
    assert "信访室" in wrong_role.json()["detail"]
