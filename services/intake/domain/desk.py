"""The intake desk (信访室台账): what a clerk's list and a clue's handler ledger say.

Pure: from one recorded event (and who recorded it), the entries it adds to the
handler ledger of each clue it touches (经手人记录). Every person or system that
touched a clue appears: the source that submitted it, each operator who opened it or
read its personal data, clerks' messages and acknowledgements, merges and splits of
repeat reports, and the progress casework made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionDesignated,
    ClueJurisdictionUndetermined,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
    ClueMerged,
    ClueProgressNoted,
    ClueReceived,
    ClueSplit,
    ClueTakenUp,
    ClueViewed,
    ForwardingOverdue,
    PersonalDataAccessed,
    ReportAcknowledged,
    ReportAcknowledgementOverdue,
    ReportMessagePosted,
    ReportReceived,
)
from libs.events.dispatch import Dispatch
from services.intake.domain.jurisdiction import FORWARDING_METHODS
from services.intake.domain.progress import status_label

SOURCE_KINDS = {
    "partner_transfer": "部门移送",
    "public_report": "信访举报",
    "hotline_12345": "12345热线",
    "inspection": "巡察移送",
}
"""How a clue came in -> the label a clerk reads."""

ACTIONS = {
    "submitted": "提交线索",
    "report_filed": "举报登记",
    "opened": "查阅线索",
    "read_messages": "查阅举报沟通记录",
    "personal_data_revealed": "查阅个人信息",
    "message_to_reporter": "回复举报人",
    "message_from_reporter": "举报人留言",
    "acknowledged": "受理告知",
    "repeat_merged": "重复件并入",
    "merged_into": "作为重复件并入",
    "split": "拆分重复件",
    "split_off": "拆分为独立线索",
    "progress": "办理进展",
    "marked_for_forwarding": "标记待转办",
    "jurisdiction_undetermined": "管辖待定",
    "kept_in_jurisdiction": "留本委办理",
    "forwarded": "转办",
    "taken_up": "提级办理",
    "jurisdiction_designated": "指定管辖",
    "forwarding_overdue": "转办逾期",
    "acknowledgement_overdue": "受理告知逾期",
    "personal_data_shredded": "个人信息销毁",
}
"""Ledger action -> the label a clerk reads."""

ACKNOWLEDGEMENT_STATES = {
    "not_required": "无需告知",
    "due": "待告知",
    "overdue": "告知逾期",
    "acknowledged": "已告知",
}
"""A report's acceptance notice (受理告知) -> its label."""


def source_kind_label(kind: str) -> str:
    """The Chinese label of a source kind; an unknown kind reads as itself."""
    return SOURCE_KINDS.get(kind, kind)


def action_label(action: str) -> str:
    """The Chinese label of a ledger action."""
    return ACTIONS.get(action, action)


def actor_kind(actor: str) -> str:
    """``partner`` / ``operator`` / ``system`` / ``public`` / ``service`` from an actor id."""
    return actor.split(":", 1)[0] if ":" in actor else "system"


@dataclass(frozen=True)
class HandlerEntry:
    """One touch of one clue: who, what, when, and the details a clerk may read."""

    clue_id: UUID
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


_LEDGER: Dispatch[[str, datetime], list[HandlerEntry]] = Dispatch()
"""The ledger entries of each event type that touches a clue."""


def handler_entries(event: Event, actor: str, at: datetime) -> list[HandlerEntry]:
    """The ledger entries an event adds (none for events that touch no clue).

    ``actor`` is who recorded the event (its envelope's actor), ``at`` when. A clue's
    ClueReceived after a split is reported by the projection, which knows the history.
    """
    return _LEDGER(event, actor, at) or []


def _source(event: ClueReceived | ClueMerged) -> dict[str, Any]:
    return {
        "source_kind": event.source_kind,
        "source_kind_label": source_kind_label(event.source_kind),
        "source_department": event.source_department,
        "source_reference": event.source_reference,
    }


@_LEDGER.on(ClueReceived)
def _submitted(event: ClueReceived, actor: str, at: datetime) -> list[HandlerEntry]:
    return [HandlerEntry(event.clue_id, "submitted", actor, event.received_at, _source(event))]


@_LEDGER.on(ReportReceived)
def _report_filed(event: ReportReceived, actor: str, at: datetime) -> list[HandlerEntry]:
    due = event.acknowledge_by.isoformat() if event.acknowledge_by else None
    detail = {"anonymous": event.anonymous, "acknowledge_by": due}
    return [HandlerEntry(event.clue_id, "report_filed", actor, event.received_at, detail)]


@_LEDGER.on(ClueViewed)
def _viewed(event: ClueViewed, actor: str, at: datetime) -> list[HandlerEntry]:
    action = "read_messages" if event.part == "messages" else "opened"
    return [
        HandlerEntry(
            event.clue_id, action, event.viewed_by, event.viewed_at, {"roles": event.roles}
        )
    ]


@_LEDGER.on(PersonalDataAccessed)
def _revealed(event: PersonalDataAccessed, actor: str, at: datetime) -> list[HandlerEntry]:
    return [
        HandlerEntry(
            event.clue_id,
            "personal_data_revealed",
            event.accessed_by,
            event.accessed_at,
            {"role": event.role, "purpose": event.purpose, "fields": event.fields},
        )
    ]


@_LEDGER.on(ReportMessagePosted)
def _message(event: ReportMessagePosted, actor: str, at: datetime) -> list[HandlerEntry]:
    detail = {"message_id": str(event.message_id)}
    if event.author == "clerk":
        return [
            HandlerEntry(
                event.clue_id, "message_to_reporter", event.clerk or actor, event.posted_at, detail
            )
        ]
    return [HandlerEntry(event.clue_id, "message_from_reporter", actor, event.posted_at, detail)]


@_LEDGER.on(ReportAcknowledged)
def _acknowledged(event: ReportAcknowledged, actor: str, at: datetime) -> list[HandlerEntry]:
    return [
        HandlerEntry(event.clue_id, "acknowledged", event.acknowledged_by, event.acknowledged_at)
    ]


@_LEDGER.on(ClueMerged)
def _merged(event: ClueMerged, actor: str, at: datetime) -> list[HandlerEntry]:
    source = _source(event)
    return [
        HandlerEntry(
            event.clue_id,
            "repeat_merged",
            actor,
            event.merged_at,
            {"repeat_id": str(event.repeat_id), "repeat_count": event.repeat_count, **source},
        ),
        HandlerEntry(
            event.repeat_id,
            "merged_into",
            actor,
            event.merged_at,
            {"merged_into": str(event.clue_id), **source},
        ),
    ]


@_LEDGER.on(ClueSplit)
def _split(event: ClueSplit, actor: str, at: datetime) -> list[HandlerEntry]:
    return [
        HandlerEntry(
            event.clue_id,
            "split",
            event.split_by,
            event.split_at,
            {
                "repeat_id": str(event.repeat_id),
                "new_clue_id": str(event.new_clue_id),
                "new_clue_number": event.new_clue_number,
                "repeat_count": event.repeat_count,
                "reason": event.reason,
            },
        ),
        HandlerEntry(
            event.new_clue_id,
            "split_off",
            event.split_by,
            event.split_at,
            {"split_from": str(event.clue_id), "reason": event.reason},
        ),
    ]


@_LEDGER.on(ClueMarkedForForwarding)
def _marked(event: ClueMarkedForForwarding, actor: str, at: datetime) -> list[HandlerEntry]:
    detail = {
        "authority": event.authority,
        "reason": event.reason,
        "forward_by": event.forward_by.isoformat(),
    }
    return [
        HandlerEntry(
            event.clue_id, "marked_for_forwarding", event.marked_by, event.marked_at, detail
        )
    ]


@_LEDGER.on(ClueJurisdictionUndetermined)
def _undetermined(
    event: ClueJurisdictionUndetermined, actor: str, at: datetime
) -> list[HandlerEntry]:
    detail = {"reason": event.reason, "decide_by": event.decide_by.isoformat()}
    return [HandlerEntry(event.clue_id, "jurisdiction_undetermined", actor, event.noted_at, detail)]


@_LEDGER.on(ClueKeptInJurisdiction)
def _kept(event: ClueKeptInJurisdiction, actor: str, at: datetime) -> list[HandlerEntry]:
    return [
        HandlerEntry(
            event.clue_id,
            "kept_in_jurisdiction",
            event.decided_by,
            event.decided_at,
            {"reason": event.reason},
        )
    ]


@_LEDGER.on(ClueForwarded)
def _forwarded(event: ClueForwarded, actor: str, at: datetime) -> list[HandlerEntry]:
    return [
        HandlerEntry(
            event.clue_id,
            "forwarded",
            event.forwarded_by,
            event.forwarded_at,
            {
                "authority": event.authority,
                "method": event.method,
                "method_label": FORWARDING_METHODS.get(event.method, event.method),
                "letter_number": event.letter_number,
                "in_time": event.in_time,
            },
        )
    ]


@_LEDGER.on(ClueTakenUp)
def _taken_up(event: ClueTakenUp, actor: str, at: datetime) -> list[HandlerEntry]:
    detail = {
        "authority": event.authority,
        "decision_number": event.decision_number,
        "reason": event.reason,
    }
    return [HandlerEntry(event.clue_id, "taken_up", event.recorded_by, event.recorded_at, detail)]


@_LEDGER.on(ClueJurisdictionDesignated)
def _designated(event: ClueJurisdictionDesignated, actor: str, at: datetime) -> list[HandlerEntry]:
    detail = {
        "designated_by": event.designated_by,
        "designated_to": event.designated_to,
        "here": event.here,
        "decision_number": event.decision_number,
        "reason": event.reason,
    }
    return [
        HandlerEntry(
            event.clue_id, "jurisdiction_designated", event.recorded_by, event.recorded_at, detail
        )
    ]


@_LEDGER.on(ForwardingOverdue, ReportAcknowledgementOverdue)
def _overdue(
    event: ForwardingOverdue | ReportAcknowledgementOverdue, actor: str, at: datetime
) -> list[HandlerEntry]:
    action = (
        "forwarding_overdue" if isinstance(event, ForwardingOverdue) else "acknowledgement_overdue"
    )
    detail = {"due": event.due.isoformat(), "escalated_to": event.escalated_to}
    return [HandlerEntry(event.clue_id, action, actor, event.noticed_at, detail)]


@_LEDGER.on(ClueProgressNoted)
def _progress(event: ClueProgressNoted, actor: str, at: datetime) -> list[HandlerEntry]:
    # Intake only notes it; the handler is casework, whose event it learned it from.
    by = "service:casework" if event.learned_from.startswith("zhengfeng.casework.") else actor
    detail = {
        "status": event.status,
        "status_label": status_label(event.status),
        "learned_from": event.learned_from,
    }
    return [HandlerEntry(event.clue_id, "progress", by, event.noted_at, detail)]
