"""审批 of casework's decisions over HTTP, on a real PostgreSQL: a key clue's disposal needs
three sign-offs, is returned once, resubmitted and approved; nothing takes effect before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text

from libs.events.contracts.intake import ClueReceived, ReportedPerson
from libs.events.projections import ProjectionRunner
from libs.kit.approvals.inbox import InboxProjection, notice_overdue
from tests.integration.casework.conftest import (
    DIRECTOR,
    LEADER,
    OFFICER,
    SECRETARY,
    Casework,
    auth,
)

OFFICER_AS_DIRECTOR = auth("investigator", "director", sub="duty-officer-1")
"""The proposer, also holding the director's role: still may not approve their own."""


async def _key_clue(cw: Casework) -> UUID:
    """A clue about a unit's 一把手 (a key clue)."""
    clue_id = uuid4()
    await cw.deliver(
        ClueReceived(
            clue_id=clue_id,
            clue_number=f"XS-{clue_id.hex[:6]}",
            source_kind="hotline",
            reported_persons=[ReportedPerson(name="王五", unit="某县财政局", top_leader=True)],
            categories=["violation_dining"],
            narrative="局长工作日中午在私人会所宴请",
            received_at=datetime.now(UTC),
        ),
        f"clue-{clue_id}",
    )
    return clue_id


async def _inbox(cw: Casework, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await cw.http.get("/v1/approvals", params={"assignee": "me"}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _status(cw: Casework, case_id: UUID) -> str:
    status: str = (await cw.http.get(f"/v1/cases/{case_id}", headers=LEADER)).json()["status"]
    return status


async def test_a_key_clue_disposal_takes_effect_only_after_three_sign_offs(cw: Casework) -> None:
    clue_id = await _key_clue(cw)

    proposed = await cw.command(clue_id, "dispose", OFFICER, method="preliminary_verification")

    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    pid = proposal["proposal_id"]
    assert proposed.headers["Location"] == f"/v1/cases/{clue_id}/proposals/{pid}"
    assert [s["label"] for s in proposal["steps"]] == [
        "室主任审核",
        "分管领导审批",
        "主要负责人审批",
    ]
    assert proposal["key_reasons"] == ["一把手"]
    assert await _status(cw, clue_id) == "pending_disposal"
    again = await cw.command(clue_id, "dispose", OFFICER, method="close")
    assert again.status_code == 409 and again.json()["title"] == "已有待审批事项"
    assert "「线索处置」审批单" in again.json()["detail"]

    # The inbox shows it to the director only, never to its proposer.
    assert [i["proposal_id"] for i in await _inbox(cw, DIRECTOR)] == [pid]
    assert await _inbox(cw, OFFICER) == [] and await _inbox(cw, LEADER) == []

    own = await cw.act(clue_id, pid, "approve", OFFICER_AS_DIRECTOR, opinion="agree")
    assert own.status_code == 403 and own.json()["title"] == "不得自批"
    wrong_role = await cw.act(clue_id, pid, "approve", LEADER, opinion="agree")
    assert wrong_role.status_code == 403 and wrong_role.json()["title"] == "无审批权限"
    assert wrong_role.json()["detail"] == "当前步骤“室主任审核”须由室主任办理。"

    assert (await cw.act(clue_id, pid, "approve", DIRECTOR, comment="拟同意")).status_code == 200
    assert [i["label"] for i in await _inbox(cw, LEADER)] == ["分管领导审批"]
    returned = await cw.act(
        clue_id, pid, "approve", LEADER, opinion="return", comment="请补充初核方案"
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    [back] = await _inbox(cw, OFFICER)
    assert (back["status"], back["returned_reason"]) == ("returned", "请补充初核方案")
    assert await _inbox(cw, LEADER) == [] and await _status(cw, clue_id) == "pending_disposal"

    amended = {"method": "preliminary_verification", "reason": "已补充初核方案"}
    resubmitted = await cw.act(clue_id, pid, "resubmit", OFFICER, body=amended, comment="已补充")
    assert resubmitted.status_code == 200 and resubmitted.json()["round"] == 2
    for who in (DIRECTOR, LEADER):
        assert (await cw.act(clue_id, pid, "approve", who)).status_code == 200
        assert await _status(cw, clue_id) == "pending_disposal"
    done = await cw.act(clue_id, pid, "approve", SECRETARY, comment="同意初核")

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "preliminary_verification"
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    kinds = [e["type"].rsplit(".", 1)[-1] for e in timeline["events"]]
    approvals = [k for k in kinds if "proposal" in k or "approval" in k]
    assert approvals == [
        "proposal_submitted",
        "approval_recorded",
        "approval_recorded",
        "proposal_returned",
        "proposal_resubmitted",
        "approval_recorded",
        "approval_recorded",
        "approval_recorded",
        "proposal_took_effect",
    ]
    assert kinds.index("clue_disposed") < kinds.index("proposal_took_effect")
    took = next(e for e in timeline["events"] if e["type"].endswith("proposal_took_effect"))
    assert took["data"]["approvers"] == [
        "operator:director-1",
        "operator:leader-1",
        "operator:secretary-1",
    ]
    assert await _inbox(cw, SECRETARY) == [] and await _inbox(cw, OFFICER) == []


async def test_a_plain_clue_needs_the_director_and_the_leader_only(cw: Casework) -> None:
    clue_id = await cw.receive()

    proposed = await cw.command(clue_id, "dispose", OFFICER, method="talk_or_inquiry")

    assert [s["role"] for s in proposed.json()["steps"]] == ["director", "leader"]
    assert proposed.json()["key_reasons"] == []
    done = await cw.approve_all(clue_id, proposed.json()["proposal_id"])
    assert done.json()["status"] == "talk_or_inquiry"


async def test_filing_is_decided_by_the_standing_committee_and_records_its_meeting(
    cw: Casework,
) -> None:
    clue_id = await cw.receive()
    await cw.decided(clue_id, "dispose", OFFICER, method="preliminary_verification")
    await cw.decided(clue_id, "conclude_verification", OFFICER, outcome="propose_filing")
    subject = {"name": "王五", "unit": "某县财政局"}
    proposed = await cw.command(
        clue_id, "file_case", OFFICER, case_number="青纪立〔2026〕1号", subject=subject, major=True
    )
    pid = proposed.json()["proposal_id"]
    assert proposed.json()["key_reasons"] == ["重大案件"]
    for who in (DIRECTOR, LEADER):
        await cw.act(clue_id, pid, "approve", who)
    signed = await cw.act(clue_id, pid, "approve", SECRETARY)
    assert signed.status_code == 409 and signed.json()["title"] == "审批方式不符"
    minutes = {
        "session": "2026年第12次",
        "held_on": "2026-12-03",
        "attendees": ["operator:secretary-1", "operator:leader-1", "operator:member-3"],
        "conclusion": "agree",
        "conclusion_text": "同意立案审查调查",
        "dissent": [{"attendee": "operator:member-3", "opinion": "建议先补充初核材料"}],
    }

    filed = await cw.act(clue_id, pid, "meeting", SECRETARY, **minutes)

    assert filed.status_code == 200, filed.text
    assert (filed.json()["status"], filed.json()["major"]) == ("filed", True)
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    meeting = next(e for e in timeline["events"] if e["type"].endswith("meeting_recorded"))
    assert meeting["data"]["session"] == "2026年第12次"
    assert meeting["data"]["dissent"][0]["opinion"] == "建议先补充初核材料"
    filing = next(e for e in timeline["events"] if e["type"].endswith("case_filed"))
    assert filing["actor"] == "operator:secretary-1"


async def test_a_step_waiting_past_its_limit_is_overdue_once_to_the_supervisor(
    cw: Casework,
) -> None:
    clue_id = await cw.receive()
    proposed = await cw.command(clue_id, "dispose", OFFICER, method="talk_or_inquiry")
    approvals = cw.app.state.runtime.pipeline.gate
    later = date.today() + timedelta(days=30)

    first = await notice_overdue(cw.store, approvals, later)
    await cw.settle()
    second = await notice_overdue(cw.store, approvals, later)

    assert (first, second) == (1, 0)
    [item] = await _inbox(cw, DIRECTOR)
    assert item["proposal_id"] == proposed.json()["proposal_id"] and item["overdue"]
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    [notice] = [e for e in timeline["events"] if e["type"].endswith("proposal_overdue")]
    assert notice["data"]["label"] == "室主任审核"
    assert notice["data"]["escalated_to"] == "supervisor-1"


async def test_the_inbox_rebuilt_from_zero_equals_the_live_one(cw: Casework) -> None:
    one, two = await cw.receive(), await cw.receive()
    p = (await cw.command(one, "dispose", OFFICER, method="talk_or_inquiry")).json()
    await cw.act(one, p["proposal_id"], "approve", DIRECTOR)
    q = (await cw.command(two, "dispose", OFFICER, method="close")).json()
    await cw.act(two, q["proposal_id"], "approve", DIRECTOR)
    await cw.act(two, q["proposal_id"], "approve", LEADER, opinion="disagree", comment="理由不足")
    live = await _rows(cw)

    await ProjectionRunner(cw.store, [InboxProjection()]).rebuild(InboxProjection(), progress=False)

    assert await _rows(cw) == live and len(live) == 2


async def _rows(cw: Casework) -> list[Any]:
    async with cw.store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT * FROM approval_inbox ORDER BY proposal_id"))
        return [tuple(r) for r in rows]
