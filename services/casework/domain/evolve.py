"""演进: ``evolve(state, event) -> state``, pure; replaying a stream rebuilds the matter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

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
    Subject,
)
from libs.events.contracts.documents import DocumentIssued, DocumentServed
from services.casework.domain.state import (
    CaseState,
    Deadline,
    IssuedDocument,
    Link,
    ReviewOpinion,
    Status,
    Visit,
)


def evolve(state: CaseState, event: Event) -> CaseState:
    """The state after one event (events this aggregate does not track only bump the version)."""
    changes: dict[str, Any] = {"version": state.version + 1}
    if isinstance(event, ClueRegistered):
        changes.update(
            case_id=event.clue_id,
            clue_number=event.clue_number,
            source_kind=event.source_kind,
            categories=list(event.categories),
            reported_persons=list(event.reported_persons),
            narrative=event.narrative,
            received_at=event.received_at,
        )
    elif isinstance(event, CaseTransitioned):
        changes.update(_transitioned(state, event))
    elif isinstance(event, CaseAssigned):
        changes.update(
            department=event.department,
            officer=event.officer,
            supervisor=event.supervisor or state.supervisor,
            leader=event.leader or state.leader,
        )
    elif isinstance(event, CasesLinked):
        changes["links"] = [
            *state.links,
            Link(case_id=event.other_case_id, relation=event.relation),
        ]
    elif isinstance(event, RepeatReportNoted):
        changes.update(
            repeat_count=event.repeat_count,
            priority=event.priority,
            repeat_ids=[*state.repeat_ids, event.repeat_id],
        )
    elif isinstance(event, RepeatReportSplit):
        changes.update(
            repeat_count=event.repeat_count,
            priority=event.priority,
            repeat_ids=[r for r in state.repeat_ids if r != event.repeat_id],
        )
    elif isinstance(event, DocumentIssued):
        changes["documents"] = [*state.documents, _issued(event)]
    elif isinstance(event, DocumentServed):
        changes["documents"] = [
            d.model_copy(update={"served_on": event.served_on, "manner": event.manner.value})
            if d.document_id == event.document_id
            else d
            for d in state.documents
        ]
    elif isinstance(event, DeadlineApproaching | DeadlineOverdue):
        flag = "overdue_noticed" if isinstance(event, DeadlineOverdue) else "approaching_noticed"
        current = state.deadlines.get(event.item_kind)
        if current is not None and event.deadline_id.endswith(current.due.isoformat()):
            changes["deadlines"] = {
                **state.deadlines,
                event.item_kind: current.model_copy(update={flag: True}),
            }
    return state.model_copy(update=changes)


def replay(events: Iterable[Event], state: CaseState | None = None) -> CaseState:
    """Fold events into a state."""
    state = state or CaseState()
    for event in events:
        state = evolve(state, event)
    return state


def _transitioned(state: CaseState, e: CaseTransitioned) -> dict[str, Any]:
    d = e.details
    out: dict[str, Any] = {"status": Status(e.to_status)}
    deadlines = {k: v for k, v in state.deadlines.items() if k not in e.deadlines_cleared}
    for kind, due in e.deadlines_set.items():
        deadlines[kind] = Deadline(kind=kind, due=due)
    out["deadlines"] = deadlines
    cmd = e.command
    if cmd == "register" and d.get("evidence"):
        out["evidence"] = list(d["evidence"])
    elif cmd == "dispose":
        out["disposal"] = d["method"]
        out["outcome"] = d.get("outcome")
    elif cmd in ("evaluate_reply", "conclude_verification"):
        out["outcome"] = d["outcome"]
        if d.get("form") == 1:  # 第一种形态 on the clue
            out.update(form=1, measures=list(d["measures"]))
    if "review_on" in d:
        out["hold_review_on"] = date.fromisoformat(d["review_on"])
    if cmd == "file_case":
        out.update(
            case_number=d["case_number"],
            subject=Subject(**d["subject"]),
            major=bool(d.get("major")),
            misconduct_date=_date(d.get("misconduct_date")),
            investigation_kind=d.get("investigation_kind"),
        )
    elif cmd == "extend_verification":
        out["verification_extensions"] = int(d["extension"])
    elif cmd == "extend_investigation":
        out["investigation_extensions"] = int(d["extension"])
    elif cmd == "extend_review":
        out["review_extensions"] = int(d["extension"])
    elif cmd == "answer_checklist":
        out["checklist"] = {**state.checklist, **d["answers"]}
    elif cmd == "review_opinion":
        out.update(review_opinion=_opinion(e), misconduct_date=_date(d["misconduct_date"]))
    elif cmd == "decide":
        out.update(
            form=d["form"],
            measures=list(d["measures"]),
            legacy_measures=list(d.get("legacy_measures", [])),
            prosecution=bool(d["prosecution"]),
            misconduct_date=_date(d["misconduct_date"]),
            decided_on=e.at.date(),
        )
    elif cmd == "transfer_for_prosecution":
        out.update(
            procuratorate=d["procuratorate"],
            prosecution_transferred_on=date.fromisoformat(d["transferred_on"]),
        )
    elif cmd == "appeal":
        out.update(appeals=[*state.appeals, d["kind"]], appeal_kind=d["kind"])
    elif cmd == "decide_appeal":
        out.update(appeal_kind=None, appeal_decided_on=e.at.date())
        if d["result"] == "changed":
            out.update(
                form=d["form"],
                measures=list(d["measures"]),
                legacy_measures=list(d.get("legacy_measures", [])),
                prosecution=d["form"] == 4,
            )
    elif cmd == "record_visit":
        out["visits"] = [
            *state.visits,
            Visit(on=date.fromisoformat(d["visited_on"]), rating=d["rating"]),
        ]
    elif cmd == "clear_name":
        out["false_accusation"] = bool(d.get("false_accusation"))
    elif cmd == "serve":
        out.update(_served(d))
    elif cmd == "note_reporter":
        out["real_name_reporter"] = state.real_name_reporter or bool(d.get("real_name"))
    elif cmd == "record_feedback":
        out["reporter_feedback_on"] = date.fromisoformat(d["fed_back_on"])
    elif cmd == "list_for_supervision":
        out["supervision"] = {"body": d["body"], "report_due": d["report_due"]}
    elif cmd in ("assign_task", "track_task", "feedback_task", "revisit_task"):
        out["tasks"] = {**state.tasks, d["item"]: d["task_status"]}
    return out


_CLOCK_FIELDS = {
    "decision": "decision_served_on",
    "inquiry_reply": "inquiry_served_on",
    "recheck": "reexamination_served_on",
}
"""Which clock a served document starts: the day it was served, kept on the state."""


def _served(d: dict[str, Any]) -> dict[str, Any]:
    # Before clocks were named, ``starts_clock: true`` meant the decision's.
    clock = d.get("clock") or ("decision" if d.get("starts_clock") else None)
    field = _CLOCK_FIELDS.get(str(clock))
    return {field: date.fromisoformat(d["served_on"])} if field else {}


def _opinion(e: CaseTransitioned) -> ReviewOpinion:
    d = e.details
    return ReviewOpinion(
        form=d["form"],
        measures=list(d["measures"]),
        legacy_measures=list(d.get("legacy_measures", [])),
        facts=d["facts"],
        reason=e.reason,
        given_on=e.at.date(),
    )


def _issued(e: DocumentIssued) -> IssuedDocument:
    return IssuedDocument(
        document_id=e.document_id,
        kind=e.kind,
        number=e.number,
        title=e.title,
        command=e.command,
        media_type=e.media_type,
        sha256=e.sha256,
        size=e.size,
        issued_at=e.issued_at,
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
