"""审批: proposals and their sign-offs, recorded on the stream of the matter they decide.

A command that needs sign-off becomes a proposal (``ProposalSubmitted``); each step of its
chain is an ``ApprovalRecorded`` (or, for a collective decision, ``MeetingRecorded``); a
disagreement or a request for changes returns it to the proposer (``ProposalReturned``),
who may resubmit an amended body or withdraw it; when the last step agrees, the command's
own events are appended with ``ProposalTookEffect``. Every service with approvals records
the same events on its own stream, so other systems see who approved what.

Approvers and proposers are account ids (``operator:…``), never names.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event, registry

Opinion = Literal["agree", "disagree", "return"]
"""同意 / 不同意 / 退回修改."""

OPINION_LABELS: dict[str, str] = {"agree": "同意", "disagree": "不同意", "return": "退回修改"}


class ChainStep(BaseModel):
    """One step of a proposal's chain, as the policy said when it was submitted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    """The role whose holder signs (or, for a meeting, records the meeting)."""
    label: str
    """What a clerk reads, e.g. 室主任审核, 常委会集体研究."""
    kind: Literal["sign", "meeting"] = "sign"
    body: str | None = None
    """The meeting body of a collective decision, e.g. 常委会."""
    limit_days: int = 3
    """Working days the step may wait before it is overdue."""


@registry.register
class ProposalSubmitted(Event):
    """拟办: a command that needs sign-off was proposed; it takes effect only when approved."""

    type_name = "zhengfeng.approvals.proposal_submitted"
    version = 1

    proposal_id: UUID
    command: str
    matter: str
    """The key of the matter the command is on (its id)."""
    body: dict[str, Any]
    """The command's input as proposed (parsed back when it takes effect)."""
    proposer: str
    steps: list[ChainStep] = Field(min_length=1)
    key_reasons: list[str] = Field(default_factory=list)
    """Why the matter counts as key (一把手, 关键少数, 领导包案, …): the policy's words."""
    policy_version: str
    due_on: date
    """The first step's last day."""
    submitted_at: datetime


@registry.register
class ApprovalRecorded(Event):
    """A step's sign-off: who, in which role, the opinion and the comment."""

    type_name = "zhengfeng.approvals.approval_recorded"
    version = 1

    proposal_id: UUID
    step: int
    role: str
    label: str
    approver: str
    opinion: Opinion
    comment: str = ""
    next_due_on: date | None = None
    """The next step's last day (none when this was the last step or not an agreement)."""
    recorded_at: datetime


class Dissent(BaseModel):
    """A dissenting opinion at a meeting (kept in the minutes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attendee: str
    opinion: str


@registry.register
class MeetingRecorded(Event):
    """会议研究: a collective decision, recorded by the step's role holder."""

    type_name = "zhengfeng.approvals.meeting_recorded"
    version = 1

    proposal_id: UUID
    step: int
    role: str
    label: str
    meeting_body: str
    """E.g. 常委会."""
    session: str
    """会次, e.g. 2026年第12次."""
    held_on: date
    attendees: list[str] = Field(min_length=1)
    conclusion: Opinion
    conclusion_text: str = ""
    dissent: list[Dissent] = Field(default_factory=list)
    recorded_by: str
    next_due_on: date | None = None
    recorded_at: datetime


@registry.register
class ProposalReturned(Event):
    """不同意 or 退回修改: the proposal goes back to its proposer with the reason."""

    type_name = "zhengfeng.approvals.proposal_returned"
    version = 1

    proposal_id: UUID
    step: int
    by: str
    opinion: Literal["disagree", "return"]
    reason: str
    to: str
    """The proposer."""
    returned_at: datetime


@registry.register
class ProposalResubmitted(Event):
    """The proposer sends a returned proposal again, amended; the chain starts over."""

    type_name = "zhengfeng.approvals.proposal_resubmitted"
    version = 1

    proposal_id: UUID
    body: dict[str, Any]
    by: str
    comment: str = ""
    due_on: date
    resubmitted_at: datetime


@registry.register
class ProposalWithdrawn(Event):
    """The proposer withdraws the proposal; nothing takes effect."""

    type_name = "zhengfeng.approvals.proposal_withdrawn"
    version = 1

    proposal_id: UUID
    by: str
    reason: str
    withdrawn_at: datetime


@registry.register
class ProposalTookEffect(Event):
    """The last step agreed: the command's events precede this one on the stream."""

    type_name = "zhengfeng.approvals.proposal_took_effect"
    version = 1

    proposal_id: UUID
    command: str
    proposer: str
    approvers: list[str]
    """Who signed each step (for a meeting, who recorded it), in order: who decided."""
    key_reasons: list[str] = Field(default_factory=list)
    took_effect_at: datetime


@registry.register
class ProposalOverdue(Event):
    """A step waited past its limit; escalated to the supervisor (once per step)."""

    type_name = "zhengfeng.approvals.proposal_overdue"
    version = 1

    proposal_id: UUID
    step: int
    round: int
    role: str
    label: str
    due_on: date
    escalated_to: str | None = None
    noticed_at: datetime
