"""Events of accountability's long-term mechanisms (长效机制): periodic analysis reports,
考核评价 with 民主评议, and the 廉政档案 the organisation department asks for.

Statistics systems and the level above subscribe to ``analysis_report_issued``; the
organisation department's cadre files to ``integrity_reply_issued``. A cadre is named
only by sealed tokens, their pseudonym and blind index (``libs/events/pii.py``); a survey
answer carries no respondent and no link, and its free answers are sealed with the survey's
key (``libs/events/sealing.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event, registry


@registry.register
class AnalysisReportIssued(Event):
    """定期分析报告: the analysis of one month, quarter or half-year, issued once."""

    type_name = "zhengfeng.accountability.analysis_report_issued"
    version = 1

    report_id: UUID
    period: str
    """``2026-10`` (月), ``2026-Q3`` (季), ``2026-H1`` (半年)."""
    kind: str
    """``month`` / ``quarter`` / ``half_year``."""
    label: str
    """2026年第三季度."""
    first_day: date
    last_day: date
    figures: dict[str, Any]
    """The counts, distributions, trends and the 八项规定精神 table, as the report shows them."""
    summary: list[str]
    """The report's paragraphs in Chinese."""
    rules_version: str
    issued_by: str
    issued_at: datetime


@registry.register
class CadreMatterNoted(Event):
    """廉政档案: a fact about a cadre, on the cadre's stream (``cadre-{person_ref}``): a case
    filed about them, a clue naming them and how it was disposed of (谈话函询 and its
    outcome), a name cleared. Decisions are read from ``case_decision_noted``."""

    type_name = "zhengfeng.accountability.cadre_matter_noted"
    version = 1

    person_ref: UUID
    kind: str
    """``case_filed``, ``reported``, ``disposal``, ``name_cleared``."""
    case_id: UUID | None = None
    case_number: str | None = None
    clue_id: UUID | None = None
    clue_number: str | None = None
    method: str | None = None
    """A disposal's method (``talk_or_inquiry`` 谈话函询, …)."""
    outcome: str | None = None
    categories: list[str] = Field(default_factory=list)
    at: datetime


@registry.register
class ClueSubjectsNoted(Event):
    """Who a clue names (by pseudonym), so its disposals reach their 廉政档案."""

    type_name = "zhengfeng.accountability.clue_subjects_noted"
    version = 1

    clue_id: UUID
    clue_number: str | None = None
    person_refs: list[UUID]
    at: datetime


class Statement(BaseModel):
    """One matter a 党风廉政意见回复 states."""

    model_config = ConfigDict(frozen=True)

    kind: str
    """``sanction``, ``case``, ``clue``, ``cleared``."""
    status: str
    on: date
    reference: str
    text: str
    until: date | None = None


@registry.register
class IntegrityReplyIssued(Event):
    """党风廉政意见回复: the commission's answer to the organisation department about one
    cadre, after its sign-offs; the cadre named by sealed tokens (context: the reply's id)."""

    type_name = "zhengfeng.accountability.integrity_reply_issued"
    version = 1

    reply_id: UUID
    cadre_name: str
    """Masked (王*); the name is in ``cadre_sealed``."""
    cadre_unit: str
    cadre_post: str | None = None
    cadre_ref: UUID
    cadre_sealed: dict[str, str]
    person_refs: list[UUID]
    """Every pseudonym the cadre is known by (ID number, name and unit)."""
    requested_by: str
    reference: str
    purpose: str
    as_of: date
    statements: list[Statement]
    conclusion: str
    """``no_finding`` / ``in_effect`` / ``pending``."""
    conclusion_text: str
    rules_version: str
    measures_version: str
    issued_by: str
    issued_at: datetime


class IndicatorScore(BaseModel):
    """One indicator of a unit's 考核评价: its score out of 100, weight and why."""

    model_config = ConfigDict(frozen=True)

    code: str
    label: str
    weight: float
    score: float | None
    """None: no data (its weight goes to the others)."""
    basis: str


@registry.register
class UnitAppraised(Event):
    """考核评价: a unit's score for a year or half-year, by the model's indicators."""

    type_name = "zhengfeng.accountability.unit_appraised"
    version = 1

    period: str
    """``2026`` (年度) or ``2026-H1`` (半年)."""
    unit: str
    score: float
    grade: str
    grade_label: str
    indicators: list[IndicatorScore]
    explanation: str
    model_version: str
    appraised_at: datetime


@registry.register
class InterviewRequired(Event):
    """约谈: a unit scored below the model's line; its leaders are to be talked to."""

    type_name = "zhengfeng.accountability.interview_required"
    version = 1

    task_id: UUID
    unit: str
    period: str
    score: float
    reason: str
    role: str
    """Whose to-do it is (``accountability`` 党风政风监督室)."""
    due_on: date
    required_at: datetime


@registry.register
class InterviewHeld(Event):
    """约谈 held: when, with whom (posts, not names), what was required of the unit."""

    type_name = "zhengfeng.accountability.interview_held"
    version = 1

    task_id: UUID
    held_on: date
    note: str
    recorded_by: str
    recorded_at: datetime


class Question(BaseModel):
    """A question of a 民主评议 questionnaire."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    text: str = Field(min_length=2, max_length=200)
    kind: str = Field(pattern="^(scale|choice|text)$")
    """``scale``: 1..``scale`` (满意度); ``choice``: one of ``choices``; ``text``: free words."""
    choices: list[str] = Field(default_factory=list, max_length=20)
    scale: int = Field(default=5, ge=2, le=10)
    required: bool = True


@registry.register
class SurveyPublished(Event):
    """民主评议: a questionnaire about a unit for a period, with how many tokens (links/QR)
    were issued; the tokens themselves are derived, never stored."""

    type_name = "zhengfeng.accountability.survey_published"
    version = 1

    survey_id: UUID
    title: str
    unit: str
    period: str
    questions: list[Question]
    tokens: int
    published_by: str
    published_at: datetime


@registry.register
class SurveyBallotCast(Event):
    """A token was used (on the token's own stream, so once): no answers, no respondent."""

    type_name = "zhengfeng.accountability.survey_ballot_cast"
    version = 1

    survey_id: UUID


@registry.register
class SurveyAnswered(Event):
    """One anonymous response: the answers only — no token, no respondent, no address.

    v2: the free answers (a respondent's words can name a person) are in ``texts``, sealed
    with the survey's key; ``answers`` keeps the scale and choice answers the tally counts.
    """

    type_name = "zhengfeng.accountability.survey_answered"
    version = 2

    survey_id: UUID
    answers: dict[str, Any]
    """Scale (1..n) and choice answers by question code; before v2 the free answers too, as
    the respondent wrote them (kept so: events are never rewritten)."""
    texts: dict[str, str] = Field(default_factory=dict)
    """The free answers by question code, sealed with the survey's key (context: the
    survey's id; ``sealing.SEALED_IN``)."""


@registry.upcaster(SurveyAnswered.type_name, from_version=1)
def _free_answers_among_the_codes_before_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 kept every answer in ``answers``, free words in clear; they stay where they were
    # (no key to seal with here, and a re-seal would not take the words back).
    data.setdefault("texts", {})
    return data
