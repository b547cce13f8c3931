"""Where a clue or case stands (案件状态): the state ``evolve`` builds from its events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from libs.events.contracts.casework import Subject
from libs.events.contracts.intake import ReportedPerson

_LABELS = {
    "new": "未登记",
    "pending_disposal": "待处置",
    "talk_or_inquiry": "谈话函询",
    "reply_received": "已说明待评估",
    "preliminary_verification": "初步核实",
    "on_hold": "暂存待查",
    "proposed_filing": "拟立案",
    "filed": "已立案",
    "investigation": "审查调查",
    "review": "审理",
    "decided": "已作出处分/处置决定",
    "appeal": "复审复核",
    "execution": "执行",
    "follow_up": "回访教育",
    "clearing": "澄清正名",
    "closed": "已了结/销号",
    "prosecuted": "已移送检察机关审查起诉",
    "transferred": "已移送",
    "awaiting_forwarding": "待转办",
    "forwarded": "已转办",
}


class Status(StrEnum):
    """A matter's status, from clue registration to 销号."""

    NEW = "new"
    PENDING_DISPOSAL = "pending_disposal"
    TALK_OR_INQUIRY = "talk_or_inquiry"
    REPLY_RECEIVED = "reply_received"
    PRELIMINARY_VERIFICATION = "preliminary_verification"
    ON_HOLD = "on_hold"
    PROPOSED_FILING = "proposed_filing"
    FILED = "filed"
    INVESTIGATION = "investigation"
    REVIEW = "review"
    DECIDED = "decided"
    APPEAL = "appeal"
    EXECUTION = "execution"
    FOLLOW_UP = "follow_up"
    CLEARING = "clearing"
    CLOSED = "closed"
    PROSECUTED = "prosecuted"
    """第四种形态: transferred to the procuratorate; casework's part ends (no 回访教育)."""
    TRANSFERRED = "transferred"
    AWAITING_FORWARDING = "awaiting_forwarding"
    """待转办: intake found the clue outside this commission's jurisdiction."""
    FORWARDED = "forwarded"
    """已转办: sent to the body with jurisdiction; nothing more happens here."""

    @property
    def label(self) -> str:
        """What a clerk reads."""
        return _LABELS[self.value]

    @property
    def terminal(self) -> bool:
        """Nothing more happens to the matter."""
        return self in (Status.CLOSED, Status.PROSECUTED, Status.TRANSFERRED, Status.FORWARDED)


ClueStatus = Status
"""The clue ledger shows the same status."""


AFTER_CLOSING = frozenset({"reporter_feedback"})
"""Limits that keep running after the matter closes: telling a real-name reporter the result."""


class Deadline(BaseModel):
    """An open time limit: its last day and whether the scheduler already said so."""

    model_config = ConfigDict(frozen=True)

    kind: str
    due: date
    approaching_noticed: bool = False
    overdue_noticed: bool = False


class Link(BaseModel):
    """风腐同查: another case this one is linked to."""

    model_config = ConfigDict(frozen=True)

    case_id: UUID
    relation: str


class Visit(BaseModel):
    """回访教育: one follow-up visit and its rating."""

    model_config = ConfigDict(frozen=True)

    on: date
    rating: str


class IssuedDocument(BaseModel):
    """A document (文书) a decision on the matter issued, and whether it was served (送达)."""

    model_config = ConfigDict(frozen=True)

    document_id: UUID
    kind: str
    number: str
    title: str
    command: str
    media_type: str
    sha256: str
    size: int
    issued_at: datetime
    served_on: date | None = None
    manner: str | None = None


class ReviewOpinion(BaseModel):
    """审理意见 as recorded: the form and measures the 审理室 proposed, the facts it found."""

    model_config = ConfigDict(frozen=True)

    form: int
    measures: list[str]
    facts: str
    reason: str
    given_on: date
    legacy_measures: list[str] = []


class CaseState(BaseModel):
    """A clue and, once filed, its case: everything decide needs and queries show."""

    model_config = ConfigDict(frozen=True)

    case_id: UUID | None = None
    status: Status = Status.NEW
    version: int = 0
    clue_number: str = ""
    case_number: str | None = None
    source_kind: str = ""
    categories: list[str] = []
    reported_persons: list[ReportedPerson] = []
    narrative: str = ""
    received_at: datetime | None = None
    evidence: list[dict[str, object]] = []
    department: str | None = None
    officer: str | None = None
    supervisor: str | None = None
    leader: str | None = None
    disposal: str | None = None
    outcome: str | None = None
    subject: Subject | None = None
    major: bool = False
    misconduct_date: date | None = None
    investigation_extensions: int = 0
    review_extensions: int = 0
    checklist: dict[str, str] = {}
    review_opinion: ReviewOpinion | None = None
    """The 审理室's opinion (审理意见), once its chain approved it: the decision rests on it."""
    form: int | None = None
    measures: list[str] = []
    """Codes of the measures catalogue."""
    legacy_measures: list[str] = []
    """Free-text measures of an old decision that no catalogue code matched."""
    prosecution: bool = False
    procuratorate: str | None = None
    """移送检察机关审查起诉: the receiving procuratorate, once transferred."""
    prosecution_transferred_on: date | None = None
    decided_on: date | None = None
    appeals: list[str] = []
    appeal_kind: str | None = None
    appeal_decided_on: date | None = None
    hold_review_on: date | None = None
    false_accusation: bool = False
    visits: list[Visit] = []
    supervision: dict[str, str] | None = None
    tasks: dict[str, str] = {}
    links: list[Link] = []
    deadlines: dict[str, Deadline] = {}
    repeat_count: int = 0
    """重复件: repeat reports intake merged into this matter (splits subtracted)."""
    repeat_ids: list[UUID] = []
    priority: str = "normal"
    """As intake's duplicate rules set it: repeat reports raise it."""
    documents: list[IssuedDocument] = []
    """文书 the matter's decisions issued, oldest first."""
    decision_served_on: date | None = None
    """When the decision document was served: the time to apply for 复审 counts from here."""
    investigation_kind: str | None = None
    """纪律审查 or 监察调查, chosen at 立案: which investigation limit runs (``None``: 纪律审查)."""
    verification_extensions: int = 0
    """How often 初步核实 was extended."""
    inquiry_served_on: date | None = None
    """When the 函询 letter reached the person: the reply period counts from here."""
    reexamination_served_on: date | None = None
    """When the 复审 decision was served: the time to apply for 复核 counts from here."""
    real_name_reporter: bool = False
    """实名举报: a reporter gave their name (kept sealed by intake); they are told the result
    within 15 working days of closing."""
    reporter_feedback_on: date | None = None
    """When the real-name reporter was told the result (结果反馈)."""

    def document(self, document_id: UUID) -> IssuedDocument | None:
        """One of the matter's documents by its id."""
        return next((d for d in self.documents if d.document_id == document_id), None)

    @property
    def overdue(self) -> bool:
        """Has any open limit passed (and been noticed)?"""
        return any(d.overdue_noticed for d in self.deadlines.values())
