"""责任清单 through the API: published as JSON or CSV, answered as of a date."""

from __future__ import annotations

from sqlalchemy import text

from libs.kit.problems import PROBLEM_JSON
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability, eventually
from tests.integration.accountability.factories import UNIT, responsibility_list


async def publish(
    acc: Accountability, body: dict[str, object], **headers: str
) -> dict[str, object]:
    response = await acc.http.post(
        "/v1/responsibility-lists", json=body, headers={**OFFICER, **headers}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def who(acc: Accountability, on: str, department: str | None = "财务科") -> dict[str, str]:
    params = {"unit": UNIT, "on": on}
    if department:
        params["department"] = department
    response = await acc.http.get("/v1/responsibility", params=params, headers=LEADER)
    assert response.status_code == 200, response.text
    return {p["party_id"]: p["name"] for p in response.json()["parties"]} | {
        "version": str(response.json()["source_list"]["version"])
    }


async def test_a_date_between_two_list_versions_is_answered_by_the_earlier_one(
    acc: Accountability,
) -> None:
    await publish(acc, responsibility_list("2025-01-01", finance_leader="林副局长"))
    await publish(acc, responsibility_list("2026-06-01", finance_leader="黄副局长", chief="周局长"))

    assert await who(acc, "2026-03-04") == {
        "party_committee": f"中共{UNIT}党组",
        "first_responsible": "陈**",  # leaders' names are sealed: masked in answers
        "discipline_body": "县纪委监委派驻第三纪检监察组",
        "discipline_head": "吴**",
        "department_leader": "林***",
        "version": "1",
    }
    later = await who(acc, "2026-06-01")
    assert (later["first_responsible"], later["department_leader"], later["version"]) == (
        "周**",
        "黄***",
        "2",
    )


async def test_each_party_names_the_list_entry_that_made_it_responsible(
    acc: Accountability,
) -> None:
    published = await publish(acc, responsibility_list("2025-01-01"))
    response = await acc.http.get(
        "/v1/responsibility",
        params={"unit": UNIT, "on": "2025-05-05", "department": "财务科"},
        headers=LEADER,
    )
    leader = next(p for p in response.json()["parties"] if p["party_id"] == "department_leader")
    assert leader["basis"] == "department_leader:财务科"
    assert leader["responsibility"] == "leadership"
    assert leader["responsibility_label"] == "领导责任"
    assert leader["list_id"] == published["list_id"]


async def test_no_list_covering_the_date_is_a_404_problem(acc: Accountability) -> None:
    await publish(acc, responsibility_list("2025-01-01", "2025-12-31"))
    response = await acc.http.get(
        "/v1/responsibility", params={"unit": UNIT, "on": "2026-01-01"}, headers=LEADER
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "2026-01-01" in response.json()["detail"]


async def test_a_period_ending_before_it_starts_is_refused_naming_the_field(
    acc: Accountability,
) -> None:
    response = await acc.http.post(
        "/v1/responsibility-lists",
        json=responsibility_list("2025-01-01", "2024-12-31"),
        headers=OFFICER,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "valid_to"
    assert await events(acc) == 0


async def test_a_stale_if_match_is_409_and_the_current_one_publishes(acc: Accountability) -> None:
    first = await publish(acc, responsibility_list("2025-01-01"))
    assert first["version"] == 1
    await publish(acc, responsibility_list("2026-01-01"), **{"If-Match": '"1"'})
    stale = await acc.http.post(
        "/v1/responsibility-lists",
        json=responsibility_list("2026-02-01"),
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2


async def test_a_retried_publication_with_the_same_key_is_recorded_once(
    acc: Accountability,
) -> None:
    body = responsibility_list("2025-01-01")
    first = await publish(acc, body, **{"Idempotency-Key": "list-1"})
    again = await acc.http.post(
        "/v1/responsibility-lists", json=body, headers={**OFFICER, "Idempotency-Key": "list-1"}
    )
    assert again.status_code == 201
    assert again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await events(acc) == 1


CSV = """unit,valid_from,valid_to,role,department,name,post,key_area
泰顺县交通运输局,2025-01-01,2026-05-31,party_committee,,中共泰顺县交通运输局党组,,是
泰顺县交通运输局,2025-01-01,2026-05-31,first_responsible,,陈局长,党组书记、局长,
泰顺县交通运输局,2025-01-01,2026-05-31,discipline_body,,县纪委监委派驻第三纪检监察组,,
泰顺县交通运输局,2025-01-01,2026-05-31,discipline_head,,吴组长,组长,
泰顺县交通运输局,2025-01-01,2026-05-31,department_leader,财务科,林副局长,副局长,
泰顺县交通运输局,2026-06-01,,party_committee,,中共泰顺县交通运输局党组,,是
泰顺县交通运输局,2026-06-01,,first_responsible,,周局长,党组书记、局长,
泰顺县交通运输局,2026-06-01,,discipline_body,,县纪委监委派驻第三纪检监察组,,
泰顺县交通运输局,2026-06-01,,discipline_head,,吴组长,组长,
泰顺县交通运输局,2026-06-01,,department_leader,财务科,黄副局长,副局长,
"""


async def test_a_csv_upload_publishes_one_version_per_unit_and_period(acc: Accountability) -> None:
    response = await acc.http.post(
        "/v1/responsibility-lists/csv",
        content=CSV.encode(),
        headers={**OFFICER, "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    assert [(i["valid_from"], i["version"], i["key_area"]) for i in response.json()["items"]] == [
        ("2025-01-01", 1, True),
        ("2026-06-01", 2, True),
    ]
    assert (await who(acc, "2026-05-31"))["department_leader"] == "林***"
    assert (await who(acc, "2026-06-01"))["department_leader"] == "黄***"

    async def listed() -> list[int]:
        response = await acc.http.get(
            "/v1/responsibility-lists", params={"unit": UNIT}, headers=LEADER
        )
        return [i["version"] for i in response.json()["items"]]

    assert await eventually(listed, "both versions listed") == [1, 2]


async def test_a_csv_with_one_bad_row_publishes_nothing_and_names_the_line(
    acc: Accountability,
) -> None:
    bad = CSV.replace("2026-06-01,,first_responsible", "2026-13-01,,first_responsible")
    response = await acc.http.post(
        "/v1/responsibility-lists/csv",
        content=bad.encode(),
        headers={**OFFICER, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "line 8.valid_from"
    assert await events(acc) == 0


async def test_only_the_accountability_office_publishes_lists(acc: Accountability) -> None:
    response = await acc.http.post(
        "/v1/responsibility-lists", json=responsibility_list(), headers=LEADER
    )
    assert response.status_code == 403


async def events(acc: Accountability) -> int:
    async with acc.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM events"))).scalar_one())
