"""Commands on a clue or case: each names a step, with the actor's reason and documents."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts.casework import DisposalMethod, Subject


class Command(BaseModel):
    """What every command carries: why (reason) and on what grounds (documents)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]
    reason: str = Field(min_length=1, max_length=4000)
    documents: list[str] = Field(default_factory=list, max_length=100)


class Assign(Command):
    """承办: assign to a department and officer; 领导包案 names the leader who owns it."""

    name = "assign"
    department: str = Field(min_length=1)
    officer: str = Field(min_length=1)
    supervisor: str | None = None
    leader: str | None = None


class Dispose(Command):
    """线索处置: one of the four methods; 暂存待查 needs the date it comes back for review."""

    name = "dispose"
    method: DisposalMethod
    review_on: date | None = None


class RecordReply(Command):
    """函询对象 replied (or the talk's written account came in)."""

    name = "record_reply"


FirstFormOutcome = Literal[
    "talk_reminder", "criticism_education", "ordered_examination", "admonition"
]
"""第一种形态 outcomes of a clue: 谈话提醒, 批评教育, 责令检查, 诫勉 (measure codes)."""

FIRST_FORM_OUTCOMES = frozenset(FirstFormOutcome.__args__)


class EvaluateReply(Command):
    """Evaluate the reply: 予以了结, 澄清正名, escalate to 初步核实, 再次函询 (``reinquiry``),
    or a 第一种形态 outcome (谈话提醒, 批评教育, 责令检查, 诫勉)."""

    name = "evaluate_reply"
    outcome: Literal["close", "clear", "escalate", "reinquiry"] | FirstFormOutcome


class ConcludeVerification(Command):
    """初步核实 concluded: 拟立案, 予以了结, 暂存待查, 移送, or a 第一种形态 outcome
    (谈话提醒, 批评教育, 责令检查, 诫勉)."""

    name = "conclude_verification"
    outcome: Literal["propose_filing", "close", "hold", "transfer"] | FirstFormOutcome
    review_on: date | None = None
    transfer_to: str | None = None


class ExtendVerification(Command):
    """初步核实 extended (as often and by as much as the limits file allows)."""

    name = "extend_verification"


class Resume(Command):
    """暂存待查 review: the clue returns to disposal."""

    name = "resume"


class FileCase(Command):
    """立案: the investigation limit of the case's kind (纪律审查 / 监察调查) runs from today."""

    name = "file_case"
    case_number: str = Field(min_length=1, max_length=64)
    subject: Subject
    major: bool = False
    misconduct_date: date | None = None
    investigation_kind: str = Field(default="discipline_review", max_length=64)
    """``discipline_review`` 纪律审查 or ``supervisory_investigation`` 监察调查 (limits data)."""


class StartInvestigation(Command):
    """审查调查 begins (its limit has run since 立案)."""

    name = "start_investigation"


class ExtendInvestigation(Command):
    """审查调查 extended (once, by the configured period)."""

    name = "extend_investigation"


class AnswerChecklist(Command):
    """七必问: answers by question code (all must be answered before 移送审理 of a dining case)."""

    name = "answer_checklist"
    answers: dict[str, str]


class FindUnfounded(Command):
    """反映不实: approval to clear the person's name (澄清正名 within 5 working days)."""

    name = "find_unfounded"


class TransferForReview(Command):
    """移送审理."""

    name = "transfer_for_review"


class ExtendReview(Command):
    """审理 extended: only for major (重大) cases."""

    name = "extend_review"


class ReviewOpinion(Command):
    """审理意见: the 审理室's opinion on the case — the form and measures it proposes, the
    facts it finds (审理认定的事实) and, in ``reason``, why; the decision rests on it."""

    name = "review_opinion"
    form: int = Field(ge=1, le=4)
    measures: list[str] = Field(min_length=1)
    facts: str = Field(min_length=1, max_length=20000)
    misconduct_date: date | None = None


class Decide(Command):
    """处分/处置决定 with the 四种形态 form and measures; form 4 移送检察机关."""

    name = "decide"
    form: int = Field(ge=1, le=4)
    measures: list[str] = Field(min_length=1)
    misconduct_date: date | None = None
    summary: str = ""


class TransferForProsecution(Command):
    """移送检察机关审查起诉 (第四种形态): the receiving procuratorate and the day it was sent."""

    name = "transfer_for_prosecution"
    procuratorate: str = Field(min_length=1, max_length=200)
    transferred_on: date


class Appeal(Command):
    """申诉: 复审 (to the deciding body) or 复核 (to the next level, after 复审)."""

    name = "appeal"
    kind: Literal["reexamination", "recheck"]


class DecideAppeal(Command):
    """复审/复核 decided: upheld, or changed to a new form and measures."""

    name = "decide_appeal"
    result: Literal["upheld", "changed"]
    form: int | None = Field(default=None, ge=1, le=4)
    measures: list[str] = Field(default_factory=list)


class StartExecution(Command):
    """执行 begins."""

    name = "start_execution"


class CompleteExecution(Command):
    """执行 done: 回访教育 follows."""

    name = "complete_execution"


class RecordVisit(Command):
    """回访教育: a visit, rated 好 (good) / 一般 (fair) / 较差 (poor)."""

    name = "record_visit"
    visited_on: date
    rating: Literal["good", "fair", "poor"]


class CloseCase(Command):
    """销号."""

    name = "close_case"


class ClearName(Command):
    """澄清正名 done; ``false_accusation`` records that the report was 诬告."""

    name = "clear_name"
    false_accusation: bool = False


class RecordFeedback(Command):
    """结果反馈: the real-name reporter was told the result (within 15 working days of closing)."""

    name = "record_feedback"
    fed_back_on: date
    manner: Literal["written", "phone", "in_person", "online"]
    """书面 / 电话 / 当面 / 网上."""


class ListForSupervision(Command):
    """挂牌督办: a higher body lists the case, with a report deadline."""

    name = "list_for_supervision"
    body: str = Field(min_length=1)
    report_due: date


class ReportSupervision(Command):
    """督办 report made to the listing body."""

    name = "report_supervision"


class AssignTask(Command):
    """清单交办: an item of a problem list assigned, with its due date."""

    name = "assign_task"
    item: str = Field(min_length=1, max_length=200)
    due: date


class TrackTask(Command):
    """跟踪督办."""

    name = "track_task"
    item: str


class FeedbackTask(Command):
    """结果反馈."""

    name = "feedback_task"
    item: str


class RevisitTask(Command):
    """回访销号."""

    name = "revisit_task"
    item: str


class LinkCase(Command):
    """风腐同查: link this case with another, both ways."""

    name = "link_case"
    other_case_id: UUID
    relation: Literal["conduct_to_corruption", "corruption_to_conduct"]


COMMANDS: dict[str, type[Command]] = {
    c.name: c
    for c in (
        Assign,
        Dispose,
        RecordReply,
        EvaluateReply,
        ConcludeVerification,
        ExtendVerification,
        Resume,
        FileCase,
        StartInvestigation,
        ExtendInvestigation,
        AnswerChecklist,
        FindUnfounded,
        TransferForReview,
        ExtendReview,
        ReviewOpinion,
        Decide,
        TransferForProsecution,
        Appeal,
        DecideAppeal,
        StartExecution,
        CompleteExecution,
        RecordVisit,
        CloseCase,
        ClearName,
        RecordFeedback,
        ListForSupervision,
        ReportSupervision,
        AssignTask,
        TrackTask,
        FeedbackTask,
        RevisitTask,
        LinkCase,
    )
}
"""Every command by the name its endpoint uses."""
