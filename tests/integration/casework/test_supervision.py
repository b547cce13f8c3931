"""Supervision over HTTP: 挂牌督办, 领导包案, the 清单 loop, 风腐同查 links."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.casework.conftest import LEADER, OFFICER, SUPERVISOR, Casework
from tests.integration.casework.test_cases_api import _to_investigation


async def test_linked_cases_show_each_other_in_both_timelines(cw: Casework) -> None:
    conduct = await _to_investigation(cw)
    corruption = await cw.receive(categories=["embezzlement"], person=("赵六", "某县交通局"))

    linked = await cw.command(
        conduct,
        "link_case",
        OFFICER,
        other_case_id=str(corruption),
        relation="conduct_to_corruption",
        reason="由风查腐：宴请费用来源可疑",
    )
    again = await cw.command(
        conduct,
        "link_case",
        OFFICER,
        other_case_id=str(corruption),
        relation="conduct_to_corruption",
    )

    assert linked.status_code == 200, linked.text
    assert again.status_code == 409
    one = (await cw.http.get(f"/v1/cases/{conduct}/timeline", headers=LEADER)).json()
    other = (await cw.http.get(f"/v1/cases/{corruption}/timeline", headers=LEADER)).json()
    assert one["case"]["links"] == [
        {"case_id": str(corruption), "relation": "conduct_to_corruption"}
    ]
    assert other["case"]["links"] == [
        {"case_id": str(conduct), "relation": "corruption_to_conduct"}
    ]
    assert {e["case_id"] for e in one["events"]} == {str(conduct), str(corruption)}
    assert {e["case_id"] for e in other["events"]} == {str(conduct), str(corruption)}
    assert any(
        e["linked_as"] == "corruption_to_conduct" and e["data"].get("command") == "file_case"
        for e in other["events"]
    )


async def test_listed_case_has_a_report_deadline_and_shows_as_supervised(cw: Casework) -> None:
    case_id = await cw.receive()
    due = (date.today() + timedelta(days=20)).isoformat()

    by_officer = await cw.command(
        case_id, "list_for_supervision", OFFICER, body="市纪委", report_due=due
    )
    listed = await cw.decided(
        case_id, "list_for_supervision", SUPERVISOR, body="市纪委", report_due=due
    )
    supervised = await cw.http.get("/v1/cases", params={"supervised": "true"}, headers=LEADER)
    reported = await cw.command(case_id, "report_supervision", OFFICER, reason="已按期报告进展")

    assert by_officer.status_code == 403
    assert listed.json()["deadlines"]["supervision_report"]["due"] == due
    assert [i["case_id"] for i in supervised.json()["items"]] == [str(case_id)]
    assert "supervision_report" not in reported.json()["deadlines"]


async def test_repeat_report_goes_back_to_the_leader_who_owns_the_matter(cw: Casework) -> None:
    first = await cw.receive(person=("钱七", "某镇政府"))
    owned = await cw.command(
        first,
        "assign",
        LEADER,
        department="第二审查调查室",
        officer="officer-7",
        supervisor="supervisor-2",
        leader="leader-1",
        reason="领导包案",
    )
    assert owned.status_code == 200, owned.text

    repeat = await cw.receive(person=("钱七", "某镇政府"))
    case = (await cw.http.get(f"/v1/cases/{repeat}", headers=LEADER)).json()

    assert (case["leader"], case["officer"], case["department"]) == (
        "leader-1",
        "officer-7",
        "第二审查调查室",
    )


async def test_problem_list_item_follows_the_closed_loop(cw: Casework) -> None:
    case_id = await cw.receive()
    due = (date.today() + timedelta(days=30)).isoformat()

    steps = [
        await cw.command(case_id, "assign_task", SUPERVISOR, item="食堂超标接待", due=due),
        await cw.command(case_id, "track_task", SUPERVISOR, item="食堂超标接待"),
        await cw.command(case_id, "feedback_task", OFFICER, item="食堂超标接待"),
    ]
    skipped = await cw.command(case_id, "track_task", SUPERVISOR, item="食堂超标接待")
    closed = await cw.command(case_id, "revisit_task", SUPERVISOR, item="食堂超标接待")

    assert [s.status_code for s in steps] == [200, 200, 200]
    assert "task:食堂超标接待" not in steps[-1].json()["deadlines"]
    assert skipped.status_code == 409
    assert closed.json()["tasks"] == {"食堂超标接待": "closed"}
