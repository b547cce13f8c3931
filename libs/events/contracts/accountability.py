"""Events accountability publishes (一案双查, 问责, unit ratings) and the facts it notes.

Other systems (the organisation department's cadre files, statistics) subscribe to the
inquiry, measure and rating events. The ``…Noted`` events are accountability's own copy
of what it learned from casework and analysis, so its read models replay from its store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events import measures
from libs.events.contracts import Event, registry


class Person(BaseModel):
    """A leader named on a responsibility list.

    Since ResponsibilityListPublished v2 the name is sealed with the list's id as context.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    post: str | None = None
    person_ref: UUID | None = None
    """The person's key in the personal-data vault (libs/events/pii.py)."""
    blind_index: str | None = None
    """Keyed hash of name and unit: who the person is, for lookups by leader."""
    sealed: dict[str, str] = Field(default_factory=dict)
    """Field name -> sealed token; ``name`` holds the masked form (since v2)."""


class DepartmentLeader(BaseModel):
    """一岗双责: the leader in charge of one department of the unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    leader: Person


@registry.register
class ResponsibilityListPublished(Event):
    """责任清单: who holds which responsibility for a unit during a period.

    A unit's lists are versions of one stream; the list valid on a date is the newest
    version whose period covers it. ``valid_to`` is inclusive; ``None`` means open-ended.
    """

    type_name = "zhengfeng.accountability.responsibility_list_published"
    version = 2

    list_id: UUID
    unit: str
    valid_from: date
    valid_to: date | None = None
    party_committee: str
    """The unit's 党委/党组 (主体责任)."""
    first_responsible: Person
    """第一责任人, usually the secretary (主体责任)."""
    discipline_body: str
    """The 纪检监察组/纪委 stationed at or over the unit (监督责任)."""
    discipline_head: Person
    department_leaders: list[DepartmentLeader] = Field(default_factory=list)
    key_area: bool = False
    """The unit works in a key area: its 问责 measures pass the three-party review."""
    published_by: str
    published_at: datetime


class ResponsibleParty(BaseModel):
    """A party an inquiry pursues, and the list entry that made it responsible."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party_id: str
    kind: str
    """``organisation`` or ``leader``."""
    name: str
    post: str | None = None
    responsibility: str
    """``principal`` 主体责任, ``supervisory`` 监督责任, ``leadership`` 领导责任."""
    basis: str
    """Which entry of the list, e.g. ``first_responsible`` or ``department_leader:财务科``."""
    list_id: UUID
    list_version: int
    valid_from: date
    valid_to: date | None = None
    person_ref: UUID | None = None
    """The person's key in the personal-data vault (libs/events/pii.py)."""
    blind_index: str | None = None
    """Keyed hash of name and unit (a leader's, from the list)."""
    sealed: dict[str, str] = Field(default_factory=dict)
    """A leader's sealed name, from the list (context: ``list_id``); since v2."""


class InquiryTrigger(BaseModel):
    """Why an inquiry opened."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """``case_form``, ``major_case``, ``recurrence`` or ``manual``."""
    reason: str
    case_ids: list[UUID] = Field(default_factory=list)
    category: str | None = None


@registry.register
class InquiryOpened(Event):
    """一案双查: an accountability inquiry opened against those who should have prevented it."""

    type_name = "zhengfeng.accountability.inquiry_opened"
    version = 2

    inquiry_id: UUID
    unit: str
    department: str | None = None
    misconduct_date: date
    trigger: InquiryTrigger
    direct_subject: str | None = None
    """The person directly responsible (the case's subject), pursued by casework: 双问责."""
    direct_subject_ref: UUID | None = None
    direct_subject_context: str | None = None
    """What its tokens were sealed for: the case's id (or the inquiry's, named by hand)."""
    direct_subject_sealed: dict[str, str] = Field(default_factory=dict)
    """Since v2 ``direct_subject`` is masked; the name is sealed here, as casework sealed it."""
    direct_measures: list[str] = Field(default_factory=list)
    """What casework decided on that person (e.g. ``removal_from_post`` 撤职)."""
    parties: list[ResponsibleParty]
    duties: dict[str, list[str]]
    """The duty checklist per party id (日常监督, 警示教育, 问题整改跟踪, …)."""
    key_area: bool = False
    opened_by: str
    opened_at: datetime


@registry.register
class DutyChecked(Event):
    """One checklist item of a party's duties was examined."""

    type_name = "zhengfeng.accountability.duty_checked"
    version = 1

    inquiry_id: UUID
    party_id: str
    duty: str
    fulfilled: bool
    note: str = ""
    checked_by: str
    checked_at: datetime


@registry.register
class FindingRecorded(Event):
    """A party's responsibility was found fulfilled (履责到位) or not, with reasons."""

    type_name = "zhengfeng.accountability.finding_recorded"
    version = 1

    inquiry_id: UUID
    party_id: str
    fulfilled: bool
    reasons: list[str]
    recorded_by: str
    recorded_at: datetime


@registry.register
class MeasureProposed(Event):
    """问责 measure proposed on a party; ``authority`` says who may decide it."""

    type_name = "zhengfeng.accountability.measure_proposed"
    version = 2

    inquiry_id: UUID
    measure_id: UUID
    party_id: str
    measure: str
    responsibility_kind: str
    """问责条例 第六条: ``overall_leadership`` 全面领导责任, ``main_leadership`` 主要领导责任,
    ``important_leadership`` 重要领导责任 (accountability's ``data/responsibility_kinds.json``);
    ``unknown`` on measures proposed before v2."""
    bearing: str
    """``collective`` 集体责任 or ``individual`` 个人责任; ``unknown`` before v2."""
    authority: str
    """``commission`` decides itself; ``competent_body`` (组织部门/党委) decides a proposal."""
    review_required: bool
    reasons: str = ""
    proposed_by: str
    proposed_at: datetime


@registry.register
class MeasureReviewed(Event):
    """One office of the three-party review (对口联系室, 案件审理室, 党风政风监督室) agreed or not."""

    type_name = "zhengfeng.accountability.measure_reviewed"
    version = 1

    inquiry_id: UUID
    measure_id: UUID
    office: str
    agreed: bool
    note: str = ""
    reviewed_by: str
    reviewed_at: datetime


@registry.register
class MeasureDecided(Event):
    """A measure was decided: by the commission itself, or by the body with authority."""

    type_name = "zhengfeng.accountability.measure_decided"
    version = 1

    inquiry_id: UUID
    measure_id: UUID
    decided_by_body: str
    """``commission`` or the body with authority, e.g. 县委组织部."""
    approved: bool
    document_number: str = ""
    decided_by: str
    decided_at: datetime


@registry.register
class MeasureTookEffect(Event):
    """A decided measure took effect (after the three-party review where required)."""

    type_name = "zhengfeng.accountability.measure_took_effect"
    version = 2

    inquiry_id: UUID
    measure_id: UUID
    party_id: str
    measure: str
    responsibility_kind: str
    """Whose responsibility of which kind the measure answers (as proposed); ``unknown``
    before v2."""
    bearing: str
    """``collective`` or ``individual``; ``unknown`` before v2."""
    effective_at: datetime


@registry.register
class InquiryConcluded(Event):
    """The inquiry was concluded; the record stays for good (终身问责)."""

    type_name = "zhengfeng.accountability.inquiry_concluded"
    version = 1

    inquiry_id: UUID
    summary: str
    concluded_by: str
    concluded_at: datetime


@registry.register
class CaseDecisionNoted(Event):
    """Accountability's copy of a casework decision, on the unit's stream."""

    type_name = "zhengfeng.accountability.case_decision_noted"
    version = 3

    case_id: UUID
    case_number: str
    unit: str
    department: str | None = None
    subject_name: str
    """Masked since v2; the name is in ``subject_sealed`` (casework's tokens, the case's id
    as context)."""
    subject_ref: UUID | None = None
    subject_sealed: dict[str, str] = Field(default_factory=dict)
    rank: str | None = None
    categories: list[str]
    form: int
    measures: list[str]
    """Catalogue codes (``libs/events/measures.py``) since v3."""
    legacy_measures: list[str] = Field(default_factory=list)
    """Free texts of older decisions that no catalogue code matched."""
    major: bool = False
    misconduct_date: date
    decided_at: datetime
    summary: str = ""


@registry.register
class FirstFormNoted(Event):
    """Accountability's copy of a 第一种形态 applied on a clue (casework's
    ``FirstFormApplied``): the monthly statistics count it as 形态一."""

    type_name = "zhengfeng.accountability.first_form_noted"
    version = 1

    clue_id: UUID
    clue_number: str
    unit: str
    department: str | None = None
    subject_name: str
    """Masked; the name is in ``subject_sealed`` (casework's tokens, the clue's id as context)."""
    subject_ref: UUID | None = None
    subject_sealed: dict[str, str] = Field(default_factory=dict)
    rank: str | None = None
    categories: list[str]
    measures: list[str]
    applied_at: datetime


@registry.register
class AlertVerificationNoted(Event):
    """线下核查 of an alert counted in a unit's rating; a false positive stops counting."""

    type_name = "zhengfeng.accountability.alert_verification_noted"
    version = 1

    alert_id: UUID
    unit: str
    finding: str
    """``confirmed`` / ``false_positive`` / ``not_verifiable``, as analysis recorded it."""
    verified_at: datetime


@registry.register
class CaseDecisionRevisionNoted(Event):
    """An appeal (复审/复核) changed a case's decision: the form and measures now in force."""

    type_name = "zhengfeng.accountability.case_decision_revision_noted"
    version = 2

    case_id: UUID
    case_number: str
    unit: str
    appeal_kind: str
    previous_form: int
    form: int
    measures: list[str]
    """Catalogue codes since v2."""
    legacy_measures: list[str] = Field(default_factory=list)
    major: bool = False
    revised_at: datetime
    reason: str = ""


@registry.register
class InquiryTriggerRevised(Event):
    """The decision that opened this inquiry was changed on appeal; the record says how.

    The inquiry is not closed by it: whether the parties' duties were fulfilled does not
    depend on the form alone, so the inquiry officer decides (and concludes) as usual.
    ``still_triggers`` says whether the decision in force would open an inquiry today.
    """

    type_name = "zhengfeng.accountability.inquiry_trigger_revised"
    version = 1

    inquiry_id: UUID
    case_id: UUID
    appeal_kind: str
    previous_form: int
    form: int
    measures: list[str]
    still_triggers: bool
    note: str
    noted_at: datetime


@registry.register
class CaseMilestoneNoted(Event):
    """A case was filed (``filed``) or closed (``closed``): counted in the monthly report."""

    type_name = "zhengfeng.accountability.case_milestone_noted"
    version = 1

    case_id: UUID
    case_number: str
    milestone: str
    unit: str | None = None
    categories: list[str] = Field(default_factory=list)
    at: datetime


@registry.register
class AlertNoted(Event):
    """An analysis alert about a unit, counted in its rating."""

    type_name = "zhengfeng.accountability.alert_noted"
    version = 1

    alert_id: UUID
    unit: str
    level: str
    category: str
    summary: str
    raised_at: datetime


@registry.register
class OverdueNoted(Event):
    """A casework deadline of a unit was overdue, counted in its rating and report."""

    type_name = "zhengfeng.accountability.overdue_noted"
    version = 1

    deadline_id: str
    unit: str | None = None
    item_kind: str
    case_id: UUID | None = None
    due_at: datetime
    noticed_at: datetime


@registry.register
class RecurrenceDetected(Event):
    """The same category recurred in one unit: N cases within the window."""

    type_name = "zhengfeng.accountability.recurrence_detected"
    version = 1

    unit: str
    category: str
    case_ids: list[UUID]
    threshold: int
    window_days: int
    detected_at: datetime


@registry.register
class RatingChanged(Event):
    """红黄绿: a unit's rating changed, with the inputs and rule version that made it."""

    type_name = "zhengfeng.accountability.rating_changed"
    version = 2

    unit: str
    from_level: str | None
    to_level: str
    score: int
    explanation: str
    """The sentence a leader reads, in Chinese (红：近12个月违规吃喝 3 件…)."""
    recorded_explanation: str | None = None
    """Since v2: the explanation as first recorded, when that was not Chinese (the first
    releases wrote "red (红) because: …"); ``explanation`` then says it again in Chinese,
    from the recorded level, score and inputs."""
    inputs: dict[str, int]
    rules_version: str
    changed_at: datetime


@registry.register
class TypicalCasePublished(Event):
    """典型案例通报曝光: a decided case published by name."""

    type_name = "zhengfeng.accountability.typical_case_published"
    version = 1

    publication_id: UUID
    case_id: UUID
    title: str
    text: str
    published_by: str
    published_at: datetime


def _names_sealed_since_v2(data: dict[str, object]) -> dict[str, object]:
    # v1 named leaders and subjects in clear; they stay as they were (events are never
    # rewritten, and there is no key to seal them with here); answers mask them.
    return data


for _carrier in (ResponsibilityListPublished, InquiryOpened, CaseDecisionNoted):
    registry.upcaster(_carrier.type_name, from_version=1)(_names_sealed_since_v2)


def _kind_unknown_before_v2(data: dict[str, object]) -> dict[str, object]:
    # Measures recorded before responsibility kinds were named keep their place in every
    # history: the kind and bearing read ``unknown`` (未区分), nothing is dropped or guessed.
    data.setdefault("responsibility_kind", "unknown")
    data.setdefault("bearing", "unknown")
    return data


for _measure in (MeasureProposed, MeasureTookEffect):
    registry.upcaster(_measure.type_name, from_version=1)(_kind_unknown_before_v2)


@registry.upcaster(CaseDecisionNoted.type_name, from_version=2)
def _noted_measures_as_codes(data: dict[str, Any]) -> dict[str, Any]:
    return measures.lift(data, "measures", "legacy_measures")


@registry.upcaster(CaseDecisionRevisionNoted.type_name, from_version=1)
def _revision_measures_as_codes(data: dict[str, Any]) -> dict[str, Any]:
    return measures.lift(data, "measures", "legacy_measures")


_LEVELS = {"red": "红", "yellow": "黄", "green": "绿"}
_INPUTS = {
    "case": ("案件", "件"),
    "major_case": ("其中重大案件", "件"),
    "alert_red": ("红色预警", "条"),
    "alert_yellow": ("黄色预警", "条"),
    "overdue": ("超期事项", "项"),
}


@registry.upcaster(RatingChanged.type_name, from_version=1)
def _explanation_in_chinese_since_v2(data: dict[str, object]) -> dict[str, object]:
    # The first releases explained a rating in English; a leader reads Chinese (the
    # 廉情通报 prints it). The recorded text is kept beside the Chinese one, never lost.
    text = str(data.get("explanation", ""))
    if any("\u4e00" <= ch <= "\u9fff" for ch in text.split("(")[0]) or not text:
        return data
    level = str(data.get("to_level"))
    inputs = data.get("inputs") or {}
    assert isinstance(inputs, dict)
    parts = [
        f"{label} {inputs[key]} {unit}" for key, (label, unit) in _INPUTS.items() if inputs.get(key)
    ]
    counted = "，".join(parts) if parts else "无案件、预警或超期事项"
    data["recorded_explanation"] = text
    data["explanation"] = (
        f"{_LEVELS.get(level, level)}：{counted}（得分 {data.get('score')}；据原记录的计数重述）"
    )
    return data
