"""纪检监察建议书, decided purely: issued to a unit from a decided case or an inquiry (以案促改),
a reply deadline in working days, the reply noticed late once, the unit's reply recorded
(its measures open the unit's rectification list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.documents import DocumentIssued
from libs.events.contracts.rectification import (
    RectificationSource,
    SuggestionIssued,
    SuggestionReplied,
    SuggestionReplyOverdue,
)
from libs.kit.workdays import WorkCalendar
from services.accountability.domain.errors import Refused
from services.accountability.domain.rectification import Context, RectificationRules


def suggestion_stream(suggestion_id: UUID) -> str:
    """The stream of one 建议书."""
    return f"suggestion-{suggestion_id}"


STATUS_LABELS = {"awaiting_reply": "待回复", "replied": "已回复"}


@dataclass(frozen=True)
class IssueSuggestion:
    suggestion_id: UUID
    unit: str
    basis: RectificationSource
    problems: Sequence[str]
    recommendations: Sequence[str]


@dataclass(frozen=True)
class Reply:
    summary: str
    list_id: UUID


@dataclass(frozen=True)
class NoticeReplyOverdue:
    pass


@dataclass(frozen=True)
class Suggestion:
    """A 建议书 as its events left it."""

    issued: SuggestionIssued | None = None
    document: DocumentIssued | None = None
    overdue: bool = False
    replied: SuggestionReplied | None = None

    @property
    def status(self) -> str:
        return "replied" if self.replied else "awaiting_reply"


def evolve(state: Suggestion, event: Event) -> Suggestion:
    """Fold one event into the 建议书."""
    if isinstance(event, SuggestionIssued):
        return replace(state, issued=event)
    if isinstance(event, DocumentIssued):
        return replace(state, document=event)
    if isinstance(event, SuggestionReplyOverdue):
        return replace(state, overdue=True)
    if isinstance(event, SuggestionReplied):
        return replace(state, replied=event)
    return state


def decide(
    state: Suggestion,
    command: IssueSuggestion | Reply | NoticeReplyOverdue,
    ctx: Context,
    rules: RectificationRules,
    calendar: WorkCalendar,
) -> list[Event]:
    """The events a command records on the 建议书; ``Refused`` when the rules forbid it."""
    if isinstance(command, IssueSuggestion):
        return _issue(state, command, ctx, rules, calendar)
    issued = state.issued
    if issued is None:
        raise Refused(
            "no-suggestion", "没有这份纪检监察建议书。", kind="missing", title="建议书不存在"
        )
    if isinstance(command, NoticeReplyOverdue):
        if state.replied or state.overdue or ctx.today <= issued.reply_due:
            return []
        return [
            SuggestionReplyOverdue(
                suggestion_id=issued.suggestion_id,
                unit=issued.unit,
                reply_due=issued.reply_due,
                escalate_to=rules.escalate_to,
                noticed_at=ctx.now,
            )
        ]
    if state.replied is not None:
        raise Refused(
            "already-replied", "该建议书已回复，整改情况请在整改清单中跟踪。", kind="conflict",
            title="建议书已回复",
        )  # fmt: skip
    if not command.summary.strip():
        raise Refused("summary-required", "请写明回复内容。", field="summary")
    return [
        SuggestionReplied(
            suggestion_id=issued.suggestion_id,
            summary=command.summary.strip(),
            list_id=command.list_id,
            replied_by=ctx.actor,
            replied_at=ctx.now,
        )
    ]


def _issue(
    state: Suggestion,
    c: IssueSuggestion,
    ctx: Context,
    rules: RectificationRules,
    calendar: WorkCalendar,
) -> list[Event]:
    if state.issued is not None:
        raise Refused("suggestion-exists", "该建议书已制发。", kind="conflict")
    if c.basis.kind not in rules.suggestion_bases:
        raise Refused(
            "unknown-basis",
            f"建议书只能依据{'或'.join(rules.suggestion_bases.values())}制发。",
            field="basis.kind",
        )
    problems = [p.strip() for p in c.problems if p.strip()]
    recommendations = [r.strip() for r in c.recommendations if r.strip()]
    if not problems:
        raise Refused("problems-required", "请写明案件暴露出的问题。", field="problems")
    if not recommendations:
        raise Refused("recommendations-required", "请写明监察建议。", field="recommendations")
    return [
        SuggestionIssued(
            suggestion_id=c.suggestion_id,
            unit=c.unit,
            basis=c.basis,
            problems=problems,
            recommendations=recommendations,
            reply_due=calendar.add_workdays(ctx.today, rules.suggestion_reply_working_days),
            issued_by=ctx.actor,
            issued_at=ctx.now,
        )
    ]
