"""Operators dispose of clues and run cases over HTTP, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import text

from libs.kit.problems import PROBLEM_JSON
from tests.integration.casework.conftest import (
    LEADER,
    OFFICER,
    OTHER_OFFICER,
    REVIEWER,
    SUPERVISOR,
    Casework,
)

CJK = re.compile(r"[\u4e00-\u9fff]")

SUBJECT = {"name": "王五", "unit": "某县财政局", "department": "财务科"}
CHECKLIST = {
    code: "已查明"
    for code in (
        "who_decided",
        "who_organised",
        "who_paid",
        "which_fund",
        "who_attended",
        "what_requested",
        "what_consumed",
    )
}


async def test_a_clue_from_intake_waits_in_the_register_assigned_by_category(cw: Casework) -> None:
    clue_id = await cw.receive()

    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()

    assert case["status"] == "pending_disposal" and case["status_label"] == "待处置"
    assert (case["department"], case["officer"]) == ("第一监督检查室", "duty-officer-1")
    assert "clue_disposal" in case["deadlines"]
    assert "dispose" in case["allowed_commands"]


async def test_a_case_says_which_of_the_commands_allowed_now_the_caller_may_give(
    cw: Casework,
) -> None:
    clue_id = await cw.receive()

    async def mine(headers: dict[str, str]) -> set[str]:
        case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=headers)).json()
        assert set(case["my_commands"]) <= set(case["allowed_commands"])
        return set(case["my_commands"])

    assert {"dispose", "feedback_task"} <= await mine(OFFICER)  # assigned to duty-officer-1
    assert "assign" not in await mine(OFFICER)
    assert await mine(REVIEWER) == set()
    assert "assign" in await mine(LEADER) and "dispose" not in await mine(LEADER)


async def test_disposal_by_inquiry_letter_records_actor_reason_and_documents(cw: Casework) -> None:
    clue_id = await cw.receive()

    response = await cw.decided(
        clue_id,
        "dispose",
        OFFICER,
        method="talk_or_inquiry",
        reason="问题较轻，函询说明",
        documents=["函询通知书〔2026〕12号"],
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "talk_or_inquiry"
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    step = next(
        e
        for e in timeline["events"]
        if e["type"].endswith("case_transitioned") and e["data"]["command"] == "dispose"
    )
    proposed = next(e for e in timeline["events"] if e["type"].endswith("proposal_submitted"))
    assert proposed["actor"] == "operator:duty-officer-1"  # 拟办
    assert step["actor"] == "operator:leader-1"  # the last sign-off carried it out
    assert step["reason"] == "问题较轻，函询说明"
    assert step["documents"] == ["函询通知书〔2026〕12号"]
    published = next(e for e in timeline["events"] if e["type"].endswith("clue_disposed"))
    assert published["reason"] == "问题较轻，函询说明"


async def test_illegal_command_is_409_listing_the_commands_allowed_now(cw: Casework) -> None:
    clue_id = await cw.receive()

    response = await cw.command(clue_id, "decide", REVIEWER, form=1, measures=["talk"])

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "/problems/illegal-transition"
    assert "dispose" in body["allowed_commands"] and "decide" not in body["allowed_commands"]


async def test_stale_if_match_is_409_and_nothing_is_written(cw: Casework) -> None:
    clue_id = await cw.receive()
    seen = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).headers["ETag"]
    await cw.decided(clue_id, "dispose", OFFICER, method="preliminary_verification")

    stale = await cw.http.post(
        f"/v1/cases/{clue_id}/dispose",
        json={"reason": "再次处置", "method": "close"},
        headers={**OFFICER, "If-Match": seen},
    )
    missing = await cw.http.post(
        f"/v1/cases/{clue_id}/dispose", json={"reason": "x", "method": "close"}, headers=OFFICER
    )

    assert stale.status_code == 409 and stale.json()["type"] == "/problems/stale-version"
    assert missing.status_code == 428
    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    assert case["status"] == "preliminary_verification"


async def test_bad_command_body_names_the_field(cw: Casework) -> None:
    clue_id = await cw.receive()

    no_reason = await cw.command(clue_id, "dispose", OFFICER, method="talk_or_inquiry", reason="")
    hold = await cw.command(clue_id, "dispose", OFFICER, method="hold")

    assert no_reason.status_code == 422
    assert any(e["field"] == "reason" for e in no_reason.json()["errors"])
    assert hold.status_code == 422 and hold.json()["errors"][0]["field"] == "review_on"


async def test_a_retried_command_with_the_same_idempotency_key_is_answered_once(
    cw: Casework,
) -> None:
    clue_id = await cw.receive()
    etag = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).headers["ETag"]
    headers = {**OFFICER, "If-Match": etag, "Idempotency-Key": "k-1"}
    body = {"reason": "初核", "method": "preliminary_verification"}

    first = await cw.http.post(f"/v1/cases/{clue_id}/dispose", json=body, headers=headers)
    again = await cw.http.post(f"/v1/cases/{clue_id}/dispose", json=body, headers=headers)

    assert first.status_code == again.status_code == 202  # proposed, once
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    async with cw.engine.connect() as conn:
        n = await conn.execute(
            text(
                "SELECT count(*) FROM events WHERE stream_id = :s"
                " AND type LIKE '%proposal_submitted'"
            ),
            {"s": f"clue-{clue_id}"},
        )
        assert n.scalar_one() == 1


async def test_officers_act_only_on_matters_assigned_to_them(cw: Casework) -> None:
    clue_id = await cw.receive()

    response = await cw.command(clue_id, "dispose", OTHER_OFFICER, method="close")
    read = await cw.http.get(f"/v1/cases/{clue_id}", headers=OTHER_OFFICER)

    assert response.status_code == 403 and "承办人是 duty-officer-1" in response.json()["detail"]
    assert read.status_code == 403


async def _to_investigation(cw: Casework, **filing: object) -> object:
    clue_id = await cw.receive()
    for name, body in (
        ("dispose", {"method": "preliminary_verification"}),
        ("conclude_verification", {"outcome": "propose_filing"}),
        (
            "file_case",
            {"case_number": f"AJ-{uuid4().hex[:6]}", "subject": SUBJECT, **filing},
        ),
        ("start_investigation", {}),
    ):
        response = await cw.decided(clue_id, name, OFFICER, **body)
        assert response.status_code == 200, response.text
    return clue_id


async def test_a_dining_case_shows_its_seven_questions_answered_and_missing(
    cw: Casework,
) -> None:
    case_id = await _to_investigation(cw)
    await cw.decided(case_id, "answer_checklist", OFFICER, answers={"who_paid": "单位公款"})

    checklist = (await cw.http.get(f"/v1/cases/{case_id}/checklist", headers=OFFICER)).json()

    assert checklist["required"] is True
    questions = {q["code"]: q for q in checklist["questions"]}
    assert questions["who_paid"] == {"code": "who_paid", "label": "谁买的单", "answer": "单位公款"}
    assert len(questions) == 7 and "who_paid" not in checklist["missing"]
    assert len(checklist["missing"]) == 6


async def test_case_runs_from_filing_to_closure_with_roles(cw: Casework) -> None:
    case_id = await _to_investigation(cw, misconduct_date="2026-01-10")

    early = await cw.command(case_id, "transfer_for_review", OFFICER)
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "checklist"
    await cw.command(case_id, "answer_checklist", OFFICER, answers=CHECKLIST)
    assert (await cw.decided(case_id, "transfer_for_review", OFFICER)).status_code == 200
    by_leader = await cw.command(case_id, "decide", LEADER, form=2, measures=["warning"])
    assert by_leader.status_code == 403  # the leader approves a decision, 审理室 proposes it
    not_major = await cw.command(case_id, "extend_review", REVIEWER)
    assert not_major.status_code == 409 and not_major.json()["errors"][0]["field"] == "major"
    opinion = {"form": 2, "measures": ["warning"], "facts": "违规公款宴请"}
    assert (await cw.decided(case_id, "review_opinion", REVIEWER, **opinion)).status_code == 200
    decided = await cw.decided(case_id, "decide", REVIEWER, form=2, measures=["warning"])
    assert decided.json()["form"] == 2
    for name, body in (
        ("start_execution", {}),
        ("complete_execution", {}),
        ("record_visit", {"visited_on": "2026-06-01", "rating": "good"}),
        ("close_case", {}),
    ):
        response = await cw.command(case_id, name, OFFICER, **body)
        assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed"
    # The register (folded by the projection) equals the case replayed from its stream.
    listed = await cw.http.get("/v1/cases", params={"status": "closed"}, headers=LEADER)
    replayed = await cw.http.get(f"/v1/cases/{case_id}", headers=LEADER)
    assert listed.json()["items"] == [replayed.json()]
    types = [
        e["type"]
        for e in (await cw.http.get(f"/v1/cases/{case_id}/timeline", headers=LEADER)).json()[
            "events"
        ]
    ]
    for published in ("case_filed", "case_decided", "case_closed"):
        assert f"zhengfeng.casework.{published}" in types


async def test_case_and_timeline_as_of_before_and_after_a_transition(cw: Casework) -> None:
    clue_id = await cw.receive()
    await asyncio.sleep(0.01)
    before = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await cw.decided(clue_id, "dispose", OFFICER, method="preliminary_verification")

    then = await cw.http.get(
        f"/v1/cases/{clue_id}", params={"as_of": before.isoformat()}, headers=LEADER
    )
    now = await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)
    old_timeline = await cw.http.get(
        f"/v1/cases/{clue_id}/timeline", params={"as_of": before.isoformat()}, headers=LEADER
    )
    too_early = await cw.http.get(
        f"/v1/cases/{clue_id}",
        params={"as_of": (before - timedelta(days=1)).isoformat()},
        headers=LEADER,
    )

    assert then.json()["status"] == "pending_disposal"
    assert now.json()["status"] == "preliminary_verification"
    assert not any(e["data"].get("command") == "dispose" for e in old_timeline.json()["events"])
    assert too_early.status_code == 404


async def test_register_filters_and_paginates(cw: Casework) -> None:
    a = await cw.receive(categories=["violation_dining"])
    b = await cw.receive(categories=["embezzlement"])
    c = await cw.receive(categories=["violation_dining"])
    await cw.decided(c, "dispose", OFFICER, method="preliminary_verification")

    dining = await cw.http.get("/v1/cases", params={"category": "violation_dining"}, headers=LEADER)
    pending = await cw.http.get(
        "/v1/cases", params={"status": "pending_disposal", "limit": 1}, headers=LEADER
    )
    second = await cw.http.get(
        "/v1/cases",
        params={"status": "pending_disposal", "limit": 1, "cursor": pending.json()["next_cursor"]},
        headers=LEADER,
    )
    mine = await cw.http.get("/v1/cases", headers=OFFICER)
    jurisdiction = await cw.http.get("/v1/cases", headers=SUPERVISOR)

    assert [i["case_id"] for i in dining.json()["items"]] == [str(a), str(c)]
    assert [i["case_id"] for i in pending.json()["items"] + second.json()["items"]] == [
        str(a),
        str(b),
    ]
    assert {i["case_id"] for i in mine.json()["items"]} == {str(a), str(c)}
    assert {i["case_id"] for i in jurisdiction.json()["items"]} == {str(a), str(c)}


async def test_every_read_of_a_case_is_recorded(cw: Casework) -> None:
    clue_id = await cw.receive()
    await cw.http.get(f"/v1/cases/{clue_id}", headers=SUPERVISOR)
    await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=OFFICER)
    await cw.http.get("/v1/cases", headers=OFFICER)

    reads = (await cw.http.get(f"/v1/cases/{clue_id}/reads", headers=LEADER)).json()

    assert [(r["actor"], r["view"]) for r in reads] == [
        ("operator:supervisor-1", "case"),
        ("operator:duty-officer-1", "timeline"),
        ("operator:duty-officer-1", "list"),
    ]


async def test_refusals_read_in_chinese_and_keep_their_machine_fields(cw: Casework) -> None:
    clue_id = await cw.receive()
    url = f"/v1/cases/{clue_id}"
    etag = (await cw.http.get(url, headers=LEADER)).headers["ETag"]
    seen = {**OFFICER, "If-Match": etag}

    invalid = await cw.http.post(f"{url}/dispose", json={"method": "nope"}, headers=seen)
    stale = await cw.http.post(
        f"{url}/close_case", json={"reason": "销号"}, headers={**OFFICER, "If-Match": '"0"'}
    )
    wrong_role = await cw.http.post(
        f"{url}/dispose",
        json={"method": "close", "reason": "了结"},
        headers={**REVIEWER, "If-Match": etag},
    )
    illegal = await cw.http.post(f"{url}/close_case", json={"reason": "销号"}, headers=seen)

    assert [r.status_code for r in (invalid, stale, wrong_role, illegal)] == [422, 409, 403, 409]
    problems = [r.json() for r in (invalid, stale, wrong_role, illegal)]
    assert [p["type"] for p in problems] == [
        "/problems/validation-error",
        "/problems/stale-version",
        "/problems/forbidden",
        "/problems/illegal-transition",
    ]
    for p in problems:
        assert CJK.search(p["title"]) and CJK.search(p["detail"]), p
        assert all(CJK.search(e["reason"]) for e in p.get("errors", [])), p
    assert {e["field"]: e["code"] for e in problems[0]["errors"]}["method"] == "enum"
    assert problems[1]["current_version"] == int(etag.strip('"'))
    assert "当前版本" in problems[1]["detail"] and "请重新读取后再提交" in problems[1]["detail"]
    assert "审理室" in problems[2]["detail"] or "承办人" in problems[2]["detail"]
    assert problems[3]["status_label"] == "待处置" and "dispose" in problems[3]["allowed_commands"]
    assert "「销号」" in problems[3]["detail"] and "线索处置" in problems[3]["detail"]


async def test_an_as_of_without_a_zone_is_china_standard_time(cw: Casework) -> None:
    clue_id = await cw.receive()
    await asyncio.sleep(0.01)
    after = datetime.now(UTC)
    china_clock = after.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    utc_clock = after.replace(tzinfo=None)  # eight hours earlier when read as China time

    seen = await cw.http.get(
        f"/v1/cases/{clue_id}", params={"as_of": china_clock.isoformat()}, headers=LEADER
    )
    before_it = await cw.http.get(
        f"/v1/cases/{clue_id}", params={"as_of": utc_clock.isoformat()}, headers=LEADER
    )
    assert seen.status_code == 200 and seen.json()["status"] == "pending_disposal"
    assert before_it.status_code == 404, "a zone-less time was read as UTC"
