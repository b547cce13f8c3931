"""Proposals on one matter, pure: the state their events build and what each action records.

No database, clock or calendar: time and the next step's last day are passed in. The
pipeline folds a matter's stream with :func:`fold` and asks these functions what to append;
a refusal is the kit's ``Refused`` in words a clerk reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.approvals import (
    OPINION_LABELS,
    ApprovalRecorded,
    ChainStep,
    Dissent,
    MeetingRecorded,
    Opinion,
    ProposalOverdue,
    ProposalResubmitted,
    ProposalReturned,
    ProposalSubmitted,
    ProposalTookEffect,
    ProposalWithdrawn,
)
from libs.kit.refusal import Refused
from libs.kit.roles import role_names

Status = Literal["open", "returned", "withdrawn", "effective"]

STATUS_LABELS: dict[str, str] = {
    "open": "审批中",
    "returned": "已退回",
    "withdrawn": "已撤回",
    "effective": "已生效",
}


@dataclass(frozen=True)
class Proposal:
    """One proposal as its events left it."""

    proposal_id: UUID
    command: str
    body: dict[str, Any]
    proposer: str
    steps: tuple[ChainStep, ...]
    key_reasons: tuple[str, ...]
    due_on: date | None
    submitted_at: datetime
    status: Status = "open"
    step: int = 0
    """The step waiting now (``len(steps)``: every step agreed)."""
    round: int = 1
    """Starts over at 1 step, one more each resubmission."""
    signed: tuple[str, ...] = ()
    """Who signed each agreed step of this round, in order."""
    returned: str = ""
    """The reason it was last returned."""
    overdue: frozenset[tuple[int, int]] = frozenset()
    """(round, step) already said to be overdue."""

    @property
    def current(self) -> ChainStep | None:
        """The step waiting for its sign-off (none when not open or all agreed)."""
        if self.status != "open" or self.step >= len(self.steps):
            return None
        return self.steps[self.step]

    @property
    def approved(self) -> bool:
        """Every step of the chain agreed in this round."""
        return self.status == "open" and self.step == len(self.steps)


Proposals = dict[UUID, Proposal]


def fold(events: Iterable[Event], proposals: Proposals | None = None) -> Proposals:
    """The proposals after ``events`` (other events of the matter are skipped)."""
    out = dict(proposals or {})
    for event in events:
        pid = getattr(event, "proposal_id", None)
        if pid is None:
            continue
        if isinstance(event, ProposalSubmitted):
            out[pid] = _submitted(event)
        elif pid in out:
            out[pid] = _evolve(out[pid], event)
    return out


def _submitted(e: ProposalSubmitted) -> Proposal:
    return Proposal(
        proposal_id=e.proposal_id,
        command=e.command,
        body=e.body,
        proposer=e.proposer,
        steps=tuple(e.steps),
        key_reasons=tuple(e.key_reasons),
        due_on=e.due_on,
        submitted_at=e.submitted_at,
    )


def _evolve(p: Proposal, e: Event) -> Proposal:
    if isinstance(e, ApprovalRecorded | MeetingRecorded):
        opinion = e.opinion if isinstance(e, ApprovalRecorded) else e.conclusion
        if opinion != "agree":
            return p
        who = e.approver if isinstance(e, ApprovalRecorded) else e.recorded_by
        return replace(p, step=p.step + 1, signed=(*p.signed, who), due_on=e.next_due_on)
    if isinstance(e, ProposalReturned):
        return replace(p, status="returned", returned=e.reason, due_on=None)
    if isinstance(e, ProposalResubmitted):
        return replace(
            p, status="open", body=e.body, step=0, round=p.round + 1, signed=(), due_on=e.due_on
        )
    if isinstance(e, ProposalWithdrawn):
        return replace(p, status="withdrawn", due_on=None)
    if isinstance(e, ProposalTookEffect):
        return replace(p, status="effective", due_on=None)
    if isinstance(e, ProposalOverdue):
        return replace(p, overdue=p.overdue | {(e.round, e.step)})
    return p


def pending(proposals: Proposals, command: str) -> Proposal | None:
    """The proposal of ``command`` not yet settled (open or returned), if any."""
    for p in proposals.values():
        if p.command == command and p.status in ("open", "returned"):
            return p
    return None


def find(proposals: Proposals, proposal_id: UUID) -> Proposal:
    """A proposal on this matter, or the refusal that there is none."""
    p = proposals.get(proposal_id)
    if p is None:
        raise Refused(
            "no-such-proposal",
            f"本事项没有审批单 {proposal_id}。",
            kind="missing",
            title="审批单不存在",
        )
    return p


def submit(
    proposals: Proposals,
    *,
    proposal_id: UUID,
    command: str,
    matter: str,
    body: dict[str, Any],
    proposer: str,
    steps: list[ChainStep],
    key_reasons: list[str],
    policy_version: str,
    due_on: date,
    now: datetime,
    command_label: str = "",
) -> ProposalSubmitted:
    """拟办: the command becomes a proposal, unless one for it is still pending here
    (``command_label``: how the refusal names the command to a clerk)."""
    waiting = pending(proposals, command)
    if waiting is not None:
        raise Refused(
            "proposal-pending",
            f"本事项已有待审批的「{command_label or command}」审批单（{waiting.proposal_id}），"
            "请等待审批结束或撤回后再提出。",
            kind="conflict",
            title="已有待审批事项",
            proposal_id=str(waiting.proposal_id),
        )
    return ProposalSubmitted(
        proposal_id=proposal_id,
        command=command,
        matter=matter,
        body=body,
        proposer=proposer,
        steps=steps,
        key_reasons=key_reasons,
        policy_version=policy_version,
        due_on=due_on,
        submitted_at=now,
    )


def _may_act(p: Proposal, actor: str, roles: frozenset[str], kind: str) -> ChainStep:
    step = p.current
    if step is None:
        raise Refused(
            "proposal-not-open",
            f"审批单{STATUS_LABELS[p.status]}，不能再审批。",
            kind="conflict",
            title="审批单不在审批中",
            proposal_status=p.status,
        )
    if step.kind != kind:
        what = "请记录会议研究结果" if step.kind == "meeting" else "本步为个人审批，不是会议"
        raise Refused("wrong-step-kind", f"当前步骤“{step.label}”：{what}。", kind="conflict",
                      title="审批方式不符")  # fmt: skip
    if actor == p.proposer:
        raise Refused(
            "self-approval", "不得审批本人提出的事项。", kind="forbidden", title="不得自批"
        )
    if step.role not in roles:
        raise Refused(
            "approver-role",
            f"当前步骤“{step.label}”须由{role_names([step.role])}办理。",
            kind="forbidden",
            title="无审批权限",
            role=step.role,
        )
    if actor in p.signed:
        raise Refused(
            "signed-already",
            "同一人不得签批同一事项的两个步骤。",
            kind="forbidden",
            title="不得重复签批",
        )
    return step


def _returned(p: Proposal, actor: str, opinion: Opinion, reason: str, now: datetime) -> Event:
    if not reason.strip():
        raise Refused(
            "reason-required",
            f"{OPINION_LABELS[opinion]}须写明理由。",
            field="comment",
            title="缺少理由",
        )
    assert opinion != "agree"
    return ProposalReturned(
        proposal_id=p.proposal_id,
        step=p.step,
        by=actor,
        opinion=opinion,
        reason=reason,
        to=p.proposer,
        returned_at=now,
    )


def sign(
    p: Proposal,
    actor: str,
    roles: frozenset[str],
    opinion: Opinion,
    comment: str,
    now: datetime,
    next_due_on: date | None,
) -> list[Event]:
    """A step's sign-off; a disagreement or a return sends the proposal back."""
    step = _may_act(p, actor, roles, "sign")
    last = p.step == len(p.steps) - 1
    signed = ApprovalRecorded(
        proposal_id=p.proposal_id,
        step=p.step,
        role=step.role,
        label=step.label,
        approver=actor,
        opinion=opinion,
        comment=comment,
        next_due_on=None if last or opinion != "agree" else next_due_on,
        recorded_at=now,
    )
    if opinion == "agree":
        return [signed]
    return [signed, _returned(p, actor, opinion, comment, now)]


@dataclass(frozen=True)
class Meeting:
    """会议研究: what the minutes say."""

    session: str
    held_on: date
    attendees: list[str]
    conclusion: Opinion
    conclusion_text: str = ""
    dissent: tuple[Dissent, ...] = ()


def meet(
    p: Proposal,
    actor: str,
    roles: frozenset[str],
    meeting: Meeting,
    now: datetime,
    next_due_on: date | None,
) -> list[Event]:
    """A collective decision recorded; a meeting that does not agree sends it back."""
    step = _may_act(p, actor, roles, "meeting")
    last = p.step == len(p.steps) - 1
    recorded = MeetingRecorded(
        proposal_id=p.proposal_id,
        step=p.step,
        role=step.role,
        label=step.label,
        meeting_body=step.body or step.label,
        session=meeting.session,
        held_on=meeting.held_on,
        attendees=meeting.attendees,
        conclusion=meeting.conclusion,
        conclusion_text=meeting.conclusion_text,
        dissent=list(meeting.dissent),
        recorded_by=actor,
        next_due_on=None if last or meeting.conclusion != "agree" else next_due_on,
        recorded_at=now,
    )
    if meeting.conclusion == "agree":
        return [recorded]
    return [recorded, _returned(p, actor, meeting.conclusion, meeting.conclusion_text, now)]


def _own(p: Proposal, actor: str, what: str) -> None:
    if actor != p.proposer:
        raise Refused(
            "not-the-proposer", f"只有提出人可以{what}。", kind="forbidden", title="不是提出人"
        )


def resubmit(
    p: Proposal, actor: str, body: dict[str, Any], comment: str, now: datetime, due_on: date
) -> ProposalResubmitted:
    """The proposer sends a returned proposal again (amended); the chain starts over."""
    _own(p, actor, "重新提交")
    if p.status != "returned":
        raise Refused(
            "not-returned",
            f"审批单{STATUS_LABELS[p.status]}，只有被退回的审批单可以重新提交。",
            kind="conflict",
            title="不能重新提交",
        )
    return ProposalResubmitted(
        proposal_id=p.proposal_id,
        body=body,
        by=actor,
        comment=comment,
        due_on=due_on,
        resubmitted_at=now,
    )


def withdraw(p: Proposal, actor: str, reason: str, now: datetime) -> ProposalWithdrawn:
    """The proposer withdraws a proposal not yet settled."""
    _own(p, actor, "撤回")
    if p.status not in ("open", "returned"):
        raise Refused(
            "not-pending",
            f"审批单{STATUS_LABELS[p.status]}，不能撤回。",
            kind="conflict",
            title="不能撤回",
        )
    return ProposalWithdrawn(proposal_id=p.proposal_id, by=actor, reason=reason, withdrawn_at=now)


def took_effect(p: Proposal, now: datetime) -> ProposalTookEffect:
    """The record that an approved proposal's command was carried out, and who decided."""
    assert p.approved
    return ProposalTookEffect(
        proposal_id=p.proposal_id,
        command=p.command,
        proposer=p.proposer,
        approvers=list(p.signed),
        key_reasons=list(p.key_reasons),
        took_effect_at=now,
    )


def overdue(
    p: Proposal, today: date, escalated_to: str | None, now: datetime
) -> ProposalOverdue | None:
    """超期: the waiting step passed its last day and was not yet said to be overdue."""
    step = p.current
    if step is None or p.due_on is None or today <= p.due_on or (p.round, p.step) in p.overdue:
        return None
    return ProposalOverdue(
        proposal_id=p.proposal_id,
        step=p.step,
        round=p.round,
        role=step.role,
        label=step.label,
        due_on=p.due_on,
        escalated_to=escalated_to,
        noticed_at=now,
    )
