"""Events casework publishes that other services consume.

Intake tells partners and reporters what became of their clue from ``ClueDisposed``,
``CaseFiled``, ``CaseClosed`` and ``NameCleared``; accountability opens 一案双查 inquiries
from ``CaseDecided`` and rates units from decisions and ``DeadlineOverdue``. Casework's
internal events (transitions, supervision, checklists) live beside these, in this module.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events import measures as catalogue
from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ReportedPerson


class DisposalMethod(StrEnum):
    """线索处置方式: the four ways to dispose of a clue."""

    TALK_OR_INQUIRY = "talk_or_inquiry"
    """谈话函询"""
    PRELIMINARY_VERIFICATION = "preliminary_verification"
    """初步核实"""
    HOLD = "hold"
    """暂存待查"""
    CLOSE = "close"
    """予以了结"""


class Subject(BaseModel):
    """The person a case is about (审查调查对象), as casework recorded them.

    Since v2 of the events that carry a subject (``CaseFiled``, ``CaseDecided``,
    ``CaseDecisionRevised``, ``NameCleared``, ``CaseTransitioned``) the personal fields are
    sealed like a reported person's (``libs/events/pii.py``): ``name`` and ``id_number``
    hold only masked forms, the plain values are in ``sealed`` under the person's key for
    the case's id as context. Events from before (v1) keep the name as it was.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=50)
    unit: str = Field(max_length=200)
    department: str | None = Field(default=None, max_length=200)
    """The department of the unit where it happened (e.g. 财务科): 一岗双责 is resolved on it."""
    post: str | None = Field(default=None, max_length=200)
    rank: str | None = Field(default=None, max_length=50)
    id_number: str | None = Field(default=None, max_length=32)
    """身份证号 (masked in events since v2)."""
    person_ref: UUID | None = None
    """The person's key in the personal-data vault (shared with intake's reported person)."""
    blind_index: str | None = None
    """Keyed hash of the ID number (or of name and unit), for correlation."""
    sealed: dict[str, str] = Field(default_factory=dict)
    """Field name -> sealed token (AES-GCM under the person's key)."""


@registry.register
class ClueRegistered(Event):
    """线索登记: casework took a clue into its ledger, pending disposal."""

    type_name = "zhengfeng.casework.clue_registered"
    version = 1

    clue_id: UUID
    clue_number: str
    status: str
    source_kind: str
    source_department: str | None
    source_reference: str | None
    reported_persons: list[ReportedPerson]
    categories: list[str]
    narrative: str
    received_at: datetime
    sealed_narrative: str = ""
    """Intake's sealed narrative, passed on (``narrative`` is the masked text)."""


@registry.register
class ClueDisposed(Event):
    """线索处置: a clue was disposed of by one of the four methods (or its outcome changed).

    ``outcome_for_source`` is what the partner department or the reporter may be told;
    the internal reasoning stays in casework.
    """

    type_name = "zhengfeng.casework.clue_disposed"
    version = 1

    clue_id: UUID
    clue_number: str
    method: DisposalMethod
    outcome: str
    """Casework's outcome code, e.g. ``inquiry_sent``, ``case_proposed``, ``closed``."""
    outcome_for_source: str
    """The sentence a partner or reporter may read, e.g. 已予以了结 / 已立案审查."""
    decided_by: str
    disposed_at: datetime


@registry.register
class CaseFiled(Event):
    """立案: a case was opened, from one or more clues."""

    type_name = "zhengfeng.casework.case_filed"
    version = 2

    case_id: UUID
    case_number: str
    clue_ids: list[UUID]
    subject: Subject
    categories: list[str]
    filed_by: str
    filed_at: datetime


@registry.register
class CaseDecided(Event):
    """处分/处置决定: a case was decided; accountability opens 一案双查 from it.

    ``form`` is the 四种形态 (1–4); ``major`` marks a 重大 case; ``misconduct_date`` is when
    the misconduct happened, which is the date responsibility lists are resolved at.
    """

    type_name = "zhengfeng.casework.case_decided"
    version = 3

    case_id: UUID
    case_number: str
    clue_ids: list[UUID]
    subject: Subject
    categories: list[str]
    form: int
    measures: list[str]
    """Codes of the measures catalogue (``libs/events/measures.py``), e.g. ``warning``,
    ``serious_warning``, ``demerit``, ``expulsion``; since v3 only codes."""
    legacy_measures: list[str] = Field(default_factory=list)
    """Free texts of a decision before v3 that no catalogue code matched (kept as written)."""
    major: bool = False
    misconduct_date: date
    decided_by: str
    decided_at: datetime
    summary: str = ""


@registry.register
class CaseDecisionRevised(Event):
    """复审/复核改变原决定: an appeal changed a case's decision to a new form and measures.

    The earlier ``CaseDecided`` stays as it was (history is not rewritten); this event is
    the decision in force from ``revised_at``. ``appeal_kind`` is ``reexamination`` (复审)
    or ``recheck`` (复核); ``previous_form``/``previous_measures`` are the decision it replaces.
    """

    type_name = "zhengfeng.casework.case_decision_revised"
    version = 3

    case_id: UUID
    case_number: str
    clue_ids: list[UUID]
    subject: Subject
    categories: list[str]
    appeal_kind: str
    previous_form: int
    previous_measures: list[str]
    previous_legacy_measures: list[str] = Field(default_factory=list)
    form: int
    measures: list[str]
    """Catalogue codes (since v3; see ``CaseDecided.measures``)."""
    legacy_measures: list[str] = Field(default_factory=list)
    major: bool = False
    misconduct_date: date
    revised_by: str
    revised_at: datetime
    reason: str = ""


@registry.register
class FirstFormApplied(Event):
    """第一种形态: a clue ended in 谈话提醒, 批评教育, 责令检查 or 诫勉 without a case being
    filed (after a 函询 reply or 初步核实); the monthly statistics count it as 形态一.

    ``via`` is the command that decided it (``evaluate_reply`` / ``conclude_verification``);
    ``measures`` are catalogue codes; ``subject`` is the clue's first reported person,
    sealed like a case's subject.
    """

    type_name = "zhengfeng.casework.first_form_applied"
    version = 1

    case_id: UUID
    clue_number: str
    subject: Subject
    categories: list[str]
    measures: list[str]
    via: str
    decided_by: str
    applied_at: datetime


@registry.register
class CaseTransferredForProsecution(Event):
    """移送检察机关审查起诉 (第四种形态): the case went to the procuratorate; casework's part
    ends here (no 回访教育). ``procuratorate`` is the receiving organ."""

    type_name = "zhengfeng.casework.case_transferred_for_prosecution"
    version = 1

    case_id: UUID
    case_number: str
    clue_ids: list[UUID]
    procuratorate: str
    transferred_on: date
    transferred_by: str
    at: datetime


@registry.register
class CaseClosed(Event):
    """销号: a case finished its course (after 回访教育, or on 澄清正名)."""

    type_name = "zhengfeng.casework.case_closed"
    version = 1

    case_id: UUID
    case_number: str
    clue_ids: list[UUID]
    outcome: str
    outcome_for_source: str
    closed_at: datetime


@registry.register
class NameCleared(Event):
    """澄清正名: the reports against a person were unfounded and their name was cleared."""

    type_name = "zhengfeng.casework.name_cleared"
    version = 2

    case_id: UUID | None
    clue_ids: list[UUID]
    subject: Subject
    approved_at: datetime
    cleared_at: datetime


@registry.register
class DeadlineOverdue(Event):
    """A time limit passed without the step it asked for; escalated to the supervisor.

    ``item_kind`` names the limit: ``clue_disposal``, ``inquiry_reply``, ``investigation``,
    ``review``, ``forwarding``, ``supervision_report``, …
    """

    type_name = "zhengfeng.casework.deadline_overdue"
    version = 1

    deadline_id: str
    item_kind: str
    clue_id: UUID | None = None
    case_id: UUID | None = None
    unit: str | None = None
    due_at: datetime
    escalated_to: str | None = None
    noticed_at: datetime


@registry.register
class CaseTransitioned(Event):
    """One command on a clue or case (处置、立案、审查调查、审理、督办…), as the record of it.

    Every command leaves one; the facts other services act on (``ClueDisposed``,
    ``CaseFiled``, ``CaseDecided``…) follow it in the same append. ``deadlines_set`` are the
    time limits the step started (kind → last day), ``deadlines_cleared`` those it met.
    Since v3 the ``measures`` in the details of 审理意见, 决定 and 复审复核 are catalogue
    codes (older free texts are lifted; unmatched ones are in ``legacy_measures``).
    """

    type_name = "zhengfeng.casework.case_transitioned"
    version = 3

    case_id: UUID
    command: str
    from_status: str
    to_status: str
    reason: str = ""
    documents: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    deadlines_set: dict[str, date] = Field(default_factory=dict)
    deadlines_cleared: list[str] = Field(default_factory=list)
    at: datetime


@registry.register
class CaseAssigned(Event):
    """承办: a clue or case was assigned to a department and officer (and its supervisor)."""

    type_name = "zhengfeng.casework.case_assigned"
    version = 1

    case_id: UUID
    department: str
    officer: str
    supervisor: str | None = None
    leader: str | None = None
    """领导包案: the leader who owns the matter (repeat reports go back to them)."""
    reason: str = ""
    at: datetime


@registry.register
class CasesLinked(Event):
    """风腐同查: this case was linked to another (由风查腐 / 由腐纠风); both streams carry one."""

    type_name = "zhengfeng.casework.cases_linked"
    version = 1

    case_id: UUID
    other_case_id: UUID
    relation: str
    """``conduct_to_corruption`` (由风查腐) or ``corruption_to_conduct`` (由腐纠风)."""
    reason: str = ""
    at: datetime


@registry.register
class DeadlineApproaching(Event):
    """A time limit is near (its warning window opened); the officer is reminded."""

    type_name = "zhengfeng.casework.deadline_approaching"
    version = 1

    deadline_id: str
    item_kind: str
    case_id: UUID
    due_at: datetime
    notified: str | None = None
    noticed_at: datetime


@registry.register
class RepeatReportNoted(Event):
    """重复件: intake merged a repeat report into this matter; its count and priority rose.

    ``returned_to`` names the leader who owns the matter (领导包案), to whom the repeat
    report goes back; None when no leader owns it.
    """

    type_name = "zhengfeng.casework.repeat_report_noted"
    version = 1

    case_id: UUID
    repeat_id: UUID
    repeat_number: str
    repeat_count: int
    priority: str
    source_kind: str
    categories: list[str]
    returned_to: str | None = None
    at: datetime


@registry.register
class RepeatReportSplit(Event):
    """A repeat report was split off at intake (a wrong merge); it is a clue of its own now."""

    type_name = "zhengfeng.casework.repeat_report_split"
    version = 1

    case_id: UUID
    repeat_id: UUID
    new_clue_id: UUID
    repeat_count: int
    priority: str
    reason: str
    at: datetime


def _subject_sealed_since_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 recorded the subject in clear; it stays as it was (events are never rewritten and
    # the upcaster has no key to seal with): no sealed fields, answers mask the name.
    return data


for _carrier in (CaseFiled, CaseDecided, CaseDecisionRevised, NameCleared, CaseTransitioned):
    registry.upcaster(_carrier.type_name, from_version=1)(_subject_sealed_since_v2)


@registry.upcaster(CaseDecided.type_name, from_version=2)
def _decided_measures_as_codes(data: dict[str, Any]) -> dict[str, Any]:
    return catalogue.lift(data, "measures", "legacy_measures")


@registry.upcaster(CaseDecisionRevised.type_name, from_version=2)
def _revised_measures_as_codes(data: dict[str, Any]) -> dict[str, Any]:
    catalogue.lift(data, "previous_measures", "previous_legacy_measures")
    return catalogue.lift(data, "measures", "legacy_measures")


@registry.upcaster(CaseTransitioned.type_name, from_version=2)
def _transition_measures_as_codes(data: dict[str, Any]) -> dict[str, Any]:
    details = data.get("details") or {}
    if data.get("command") in catalogue.MEASURE_COMMANDS and "measures" in details:
        data["details"] = catalogue.lift(dict(details), "measures", "legacy_measures")
    elif data.get("command") == "conclude_verification" and details.get("outcome") == (
        "talk_reminder"
    ):
        # Before v3 a 谈话提醒 closed the clue without saying it was 第一种形态: it was.
        data["details"] = {**details, "form": 1, "measures": ["talk_reminder"]}
    return data
