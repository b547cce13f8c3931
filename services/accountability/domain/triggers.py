"""When an inquiry opens: a serious decision, a 重大 case, or a category recurring in a unit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from libs.events.contracts import Event
from libs.events.contracts.accountability import (
    CaseDecisionNoted,
    CaseDecisionRevisionNoted,
    InquiryTrigger,
    InquiryTriggerRevised,
    RecurrenceDetected,
)
from libs.events.contracts.casework import CaseDecided, CaseDecisionRevised
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
        subject_ref=s.person_ref,
        subject_sealed=s.sealed,
        rank=s.rank,
        categories=decided.categories,
        form=decided.form,
        measures=decided.measures,
        legacy_measures=decided.legacy_measures,
        major=decided.major,
        misconduct_date=decided.misconduct_date,
        decided_at=decided.decided_at,
        summary=decided.summary,
    )


def case_trigger(
    case_id: UUID, case_number: str, form: int, major: bool, rules: Triggers
) -> InquiryTrigger | None:
    """The case inquiry a decision of ``form`` opens: by its form, else by being 重大."""
    if form >= rules.min_form:
        return InquiryTrigger(
            kind="case_form",
            reason=f"案件 {case_number} 为第{form}种形态 (≥{rules.min_form})",
            case_ids=[case_id],
        )
    if rules.major and major:
        return InquiryTrigger(
            kind="major_case", reason=f"案件 {case_number} 为重大案件", case_ids=[case_id]
        )
    return None


APPEAL_LABELS = {"reexamination": "复审", "recheck": "复核"}


def note_revision(revised: CaseDecisionRevised) -> CaseDecisionRevisionNoted:
    """Accountability's copy of a decision an appeal changed."""
    return CaseDecisionRevisionNoted(
        case_id=revised.case_id,
        case_number=revised.case_number,
        unit=revised.subject.unit,
        appeal_kind=revised.appeal_kind,
        previous_form=revised.previous_form,
        form=revised.form,
        measures=revised.measures,
        legacy_measures=revised.legacy_measures,
        major=revised.major,
        revised_at=revised.revised_at,
        reason=revised.reason,
    )


def already_revised(history: Sequence[Event], revision: CaseDecisionRevisionNoted) -> bool:
    """Whether the unit's stream already holds this revision (a redelivery)."""
    return any(
        isinstance(e, CaseDecisionRevisionNoted)
        and e.case_id == revision.case_id
        and e.revised_at == revision.revised_at
        for e in history
    )


def revision_triggers(
    revision: CaseDecisionRevisionNoted, rules: Triggers
) -> tuple[InquiryTrigger | None, InquiryTrigger | None]:
    """The case inquiry the replaced decision opened, and the one the decision in force opens.

    Either may be ``None``. When the first exists its inquiry gets an
    ``InquiryTriggerRevised`` note; when only the second does, a new inquiry opens.
    """
    r = revision
    before = case_trigger(r.case_id, r.case_number, r.previous_form, r.major, rules)
    after = case_trigger(r.case_id, r.case_number, r.form, r.major, rules)
    if after is not None:
        appeal = APPEAL_LABELS.get(r.appeal_kind, r.appeal_kind)
        after = after.model_copy(update={"reason": f"{after.reason}（{appeal}改变原决定）"})
    return before, after


def trigger_revised(
    inquiry_id: UUID, revision: CaseDecisionRevisionNoted, still_triggers: bool
) -> InquiryTriggerRevised:
    """The note an open inquiry gets when the decision that opened it changes."""
    r = revision
    appeal = APPEAL_LABELS.get(r.appeal_kind, r.appeal_kind)
    note = (
        f"{appeal}将案件 {r.case_number} 的决定由第{r.previous_form}种形态改为第{r.form}种形态"
        + ("" if still_triggers else "，现决定已不属于启动问责调查的情形，请承办人研判")
    )
    return InquiryTriggerRevised(
        inquiry_id=inquiry_id,
        case_id=r.case_id,
        appeal_kind=r.appeal_kind,
        previous_form=r.previous_form,
        form=r.form,
        measures=r.measures,
        still_triggers=still_triggers,
        note=note,
        noted_at=r.revised_at,
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
    if trigger := case_trigger(noted.case_id, noted.case_number, noted.form, noted.major, rules):
        triggers.append(trigger)
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
