"""When an inquiry opens: a serious decision, a 重大 case, or a category recurring in a unit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from libs.events.contracts import Event
from libs.events.contracts.accountability import (
    CaseDecisionNoted,
    InquiryTrigger,
    RecurrenceDetected,
)
from libs.events.contracts.casework import CaseDecided
from services.accountability.domain.rules import Triggers

_NS = uuid5(NAMESPACE_URL, "zhengfeng:accountability:inquiry")


def inquiry_id_for(trigger: InquiryTrigger, unit: str) -> UUID:
    """The same trigger always names the same inquiry, so a redelivered decision opens none."""
    key = ":".join([trigger.kind, unit, trigger.category or "", *map(str, trigger.case_ids)])
    return uuid5(_NS, key)


def note_decision(decided: CaseDecided) -> CaseDecisionNoted:
    """Accountability's copy of a casework decision."""
    s = decided.subject
    return CaseDecisionNoted(
        case_id=decided.case_id,
        case_number=decided.case_number,
        unit=s.unit,
        department=s.department,
        subject_name=s.name,
        rank=s.rank,
        categories=decided.categories,
        form=decided.form,
        measures=decided.measures,
        major=decided.major,
        misconduct_date=decided.misconduct_date,
        decided_at=decided.decided_at,
        summary=decided.summary,
    )


def already_noted(history: Sequence[Event], case_id: UUID) -> bool:
    """Whether the unit's stream already holds this case's decision."""
    return any(isinstance(e, CaseDecisionNoted) and e.case_id == case_id for e in history)


def decision_triggers(
    noted: CaseDecisionNoted, history: Sequence[Event], rules: Triggers
) -> tuple[list[RecurrenceDetected], list[InquiryTrigger]]:
    """What a decision triggers, given the unit's earlier history (without ``noted``).

    A case at ``min_form`` or above, or marked 重大, opens a case inquiry. Each category
    that now has ``recurrence.cases`` decisions within ``window_days`` opens a recurrence
    inquiry, once per window: a recurrence already detected in the window is not repeated.
    """
    triggers: list[InquiryTrigger] = []
    if noted.form >= rules.min_form:
        triggers.append(
            InquiryTrigger(
                kind="case_form",
                reason=f"案件 {noted.case_number} 为第{noted.form}种形态 (≥{rules.min_form})",
                case_ids=[noted.case_id],
            )
        )
    elif rules.major and noted.major:
        triggers.append(
            InquiryTrigger(
                kind="major_case",
                reason=f"案件 {noted.case_number} 为重大案件",
                case_ids=[noted.case_id],
            )
        )
    window = timedelta(days=rules.recurrence.window_days)
    since = noted.decided_at - window
    detected: list[RecurrenceDetected] = []
    for category in noted.categories:
        cases = [
            e
            for e in [*history, noted]
            if isinstance(e, CaseDecisionNoted)
            and category in e.categories
            and since < e.decided_at <= noted.decided_at
        ]
        if len(cases) < rules.recurrence.cases:
            continue
        if any(
            isinstance(e, RecurrenceDetected) and e.category == category and e.detected_at > since
            for e in history
        ):
            continue
        case_ids = [c.case_id for c in cases]
        detected.append(
            RecurrenceDetected(
                unit=noted.unit,
                category=category,
                case_ids=case_ids,
                threshold=rules.recurrence.cases,
                window_days=rules.recurrence.window_days,
                detected_at=noted.decided_at,
            )
        )
        triggers.append(
            InquiryTrigger(
                kind="recurrence",
                reason=(
                    f"{len(cases)} 起同类问题 ({category}) 在 {rules.recurrence.window_days} 天内"
                    f"发生于同一单位 (阈值 {rules.recurrence.cases})"
                ),
                case_ids=case_ids,
                category=category,
            )
        )
    return detected, triggers


def recurrence_window_start(now: datetime, rules: Triggers) -> datetime:
    """The start of the recurrence window ending at ``now``."""
    return now - timedelta(days=rules.recurrence.window_days)
