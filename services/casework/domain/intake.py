"""Decisions not driven by an officer's command: registration, deadline notices, link-backs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.casework import (
    CaseAssigned,
    CasesLinked,
    CaseTransitioned,
    ClueRegistered,
    DeadlineApproaching,
    DeadlineOverdue,
    RepeatReportNoted,
    RepeatReportSplit,
)
from libs.events.contracts.intake import ClueMerged, ClueSplit
from services.casework.domain.rules import Rules
from services.casework.domain.state import AFTER_CLOSING, CaseState, Deadline, Status


def register(
    state: CaseState,
    registered: dict[str, Any],
    now: datetime,
    rules: Rules,
    *,
    evidence: list[dict[str, Any]] | None = None,
    assignment: dict[str, str | None] | None = None,
) -> list[Event]:
    """线索登记: the clue enters the ledger pending disposal, its 1-month limit running.

    ``registered`` holds ``ClueRegistered``'s fields; a clue already registered changes
    nothing. ``assignment`` (department, officer, supervisor, leader) assigns it at once,
    e.g. back to the leader who owns earlier reports on the same person (领导包案).
    """
    if state.status is not Status.NEW:
        return []
    clue = ClueRegistered(status=Status.PENDING_DISPOSAL.value, **registered)
    received = clue.received_at.date()
    events: list[Event] = [
        clue,
        CaseTransitioned(
            case_id=clue.clue_id,
            command="register",
            from_status=Status.NEW.value,
            to_status=Status.PENDING_DISPOSAL.value,
            reason="线索登记",
            details={"evidence": evidence} if evidence else {},
            deadlines_set={
                "clue_disposal": rules.calendar.due(received, rules.limits["clue_disposal"])
            },
            at=now,
        ),
    ]
    if assignment and assignment.get("officer"):
        events.append(
            CaseAssigned(
                case_id=clue.clue_id,
                department=assignment.get("department") or "",
                officer=assignment["officer"] or "",
                supervisor=assignment.get("supervisor"),
                leader=assignment.get("leader"),
                reason=str(assignment.get("reason") or ""),
                at=now,
            )
        )
    return events


def note_repeat(
    state: CaseState, merged: ClueMerged, now: datetime, *, leader: str | None = None
) -> list[Event]:
    """重复件: a repeat report joined this matter; it goes back to the leader who owns the
    matter (领导包案), ``leader`` if the matter has none of its own. Noted once."""
    if state.case_id is None or merged.repeat_id in state.repeat_ids:
        return []
    return [
        RepeatReportNoted(
            case_id=state.case_id,
            repeat_id=merged.repeat_id,
            repeat_number=merged.repeat_number,
            repeat_count=merged.repeat_count,
            priority=merged.priority,
            source_kind=merged.source_kind,
            categories=list(merged.categories),
            returned_to=state.leader or leader,
            at=now,
        )
    ]


def note_split(state: CaseState, split: ClueSplit, now: datetime) -> list[Event]:
    """A repeat report was split off: the count and priority go back down (once)."""
    if state.case_id is None or split.repeat_id not in state.repeat_ids:
        return []
    return [
        RepeatReportSplit(
            case_id=state.case_id,
            repeat_id=split.repeat_id,
            new_clue_id=split.new_clue_id,
            repeat_count=split.repeat_count,
            priority=split.priority,
            reason=split.reason,
            at=now,
        )
    ]


def note_reporter(state: CaseState, report_id: UUID, now: datetime, rules: Rules) -> list[Event]:
    """实名举报: a report on this matter (``report_id``: its own clue, or a repeat report
    merged into it) came from a reporter who gave their name, so the result is owed to them
    within 15 working days of closing. Noted once; no name is carried (intake keeps the
    reporter's contact sealed). A matter already closed owes it from now."""
    if state.case_id is None or state.real_name_reporter:
        return []
    owed = state.status.terminal and state.status is not Status.FORWARDED
    return [
        CaseTransitioned(
            case_id=state.case_id,
            command="note_reporter",
            from_status=state.status.value,
            to_status=state.status.value,
            reason="实名举报：办结后须在15个工作日内向举报人反馈办理结果",
            details={"real_name": True, "report_id": str(report_id)},
            deadlines_set={
                "reporter_feedback": rules.calendar.due(
                    now.date(), rules.limits["reporter_feedback"]
                )
            }
            if owed
            else {},
            at=now,
        )
    ]


def open_deadlines(state: CaseState) -> dict[str, Deadline]:
    """The limits still running: all of an open matter's; a closed one's only those that
    outlive closing (the reporter's feedback)."""
    if not state.status.terminal:
        return dict(state.deadlines)
    return {k: d for k, d in state.deadlines.items() if k in AFTER_CLOSING}


def deadline_id(case_id: UUID, kind: str, due: date) -> str:
    """The same limit on the same day always has the same id (idempotent notices)."""
    return f"{case_id}:{kind}:{due.isoformat()}"


def notice_deadlines(state: CaseState, today: date, rules: Rules, now: datetime) -> list[Event]:
    """临期/逾期: what the scheduler must say about this matter's open limits today.

    A limit is approaching inside its warning window and overdue the day after its last
    day; each is said once per (limit, due date), so running twice or catching up after
    downtime says nothing new. Overdue limits are escalated to the supervisor.
    """
    if state.case_id is None:
        return []
    events: list[Event] = []
    for kind, deadline in sorted(open_deadlines(state).items()):
        due_at = datetime.combine(deadline.due, time(23, 59, 59), UTC)
        did = deadline_id(state.case_id, kind, deadline.due)
        if today > deadline.due and not deadline.overdue_noticed:
            events.append(
                DeadlineOverdue(
                    deadline_id=did,
                    item_kind=kind,
                    case_id=state.case_id,
                    clue_id=state.case_id,
                    unit=state.subject.unit if state.subject else _unit(state),
                    due_at=due_at,
                    escalated_to=state.supervisor or state.leader,
                    noticed_at=now,
                )
            )
        elif (
            not deadline.approaching_noticed
            and not deadline.overdue_noticed
            and today <= deadline.due
            and rules.calendar.due(today, rules.limits.approaching) >= deadline.due
        ):
            events.append(
                DeadlineApproaching(
                    deadline_id=did,
                    item_kind=kind,
                    case_id=state.case_id,
                    due_at=due_at,
                    notified=state.officer,
                    noticed_at=now,
                )
            )
    return events


def _unit(state: CaseState) -> str | None:
    return state.reported_persons[0].unit if state.reported_persons else None


def accept_link(
    state: CaseState, other: UUID, relation: str, reason: str, now: datetime
) -> list[Event]:
    """风腐同查, the other side: the linked case records the link too (once)."""
    if state.case_id is None or any(link.case_id == other for link in state.links):
        return []
    back = {
        "conduct_to_corruption": "corruption_to_conduct",
        "corruption_to_conduct": "conduct_to_corruption",
    }
    return [
        CasesLinked(
            case_id=state.case_id,
            other_case_id=other,
            relation=back.get(relation, relation),
            reason=reason,
            at=now,
        )
    ]
