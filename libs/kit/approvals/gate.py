"""审批 in the pipeline: a command with a chain becomes a proposal; the last sign-off of a
proposal carries the command out through the pipeline's one ``take_effect``.

A service declares which aggregates have approvals (:class:`Approvable`) and loads its
policy once; :class:`Approvals` is the pipeline's ``Gate``. Approval actions (sign,
meeting, resubmit, withdraw) are pipeline commands on the matter's own aggregate, so they
get If-Match, Idempotency-Key and refusals like every other command, and their events go
on the matter's stream (its timeline shows them).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, ValidationError

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.approvals import ChainStep, Dissent, Opinion, ProposalSubmitted
from libs.kit.approvals import proposals as pr
from libs.kit.approvals.policy import Policy
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context, Effect
from libs.kit.fields import STRIPPED
from libs.kit.reasons import reason as zh_reason
from libs.kit.refusal import Refused
from libs.kit.workdays import WorkCalendar

Text = Field(default="", max_length=4000)


class _In(BaseModel):
    model_config = STRIPPED


class SignIn(_In):
    """审批意见: 同意 (agree), 不同意 (disagree) or 退回修改 (return), with a comment."""

    opinion: Opinion = "agree"
    comment: str = Text


class MeetingIn(_In):
    """会议研究: the minutes of the collective decision."""

    session: str = Field(min_length=1, max_length=100, description="会次, e.g. 2026年第12次")
    held_on: date
    attendees: list[str] = Field(min_length=1, max_length=50, description="account ids")
    conclusion: Opinion
    conclusion_text: str = Text
    dissent: list[Dissent] = Field(default_factory=list, max_length=50)


class ResubmitIn(_In):
    """The amended body of the command, and what changed."""

    body: dict[str, Any]
    comment: str = Text


class WithdrawIn(_In):
    reason: str = Field(min_length=1, max_length=4000)


ACTION_BODIES: dict[str, type[BaseModel]] = {
    "approve": SignIn,
    "meeting": MeetingIn,
    "resubmit": ResubmitIn,
    "withdraw": WithdrawIn,
}


class OnProposal(BaseModel):
    """An action on one proposal: its id (from the path) and the action's body, so that a
    retry with the same Idempotency-Key is one on the same proposal."""

    proposal_id: UUID
    body: SignIn | MeetingIn | ResubmitIn | WithdrawIn


@dataclass(frozen=True)
class Approvable:
    """An aggregate whose commands may need sign-off, as its service declares it."""

    aggregate: Aggregate[Any]
    commands: Mapping[str, Command[Any]]
    """The service's commands on it by name: what a proposal carries out."""
    facts: Callable[[Any, Any], dict[str, Any]]
    """``(state, body) -> facts`` the policy's conditions name (一把手, repeat count, …)."""
    path: str
    """Where a matter's proposals are read, e.g. ``/v1/cases/{key}``."""
    escalate_to: Callable[[Any], str | None] = lambda state: None
    """Who is told when a step is overdue (the matter's supervisor)."""
    may_read: Callable[[Principal, Any], bool] | None = None
    """Who may read the matter's proposals (default: anyone who may call the service)."""


@dataclass
class Approvals:
    """A service's approvals: its policy, its calendar and its approvable aggregates."""

    policy: Policy
    calendar: WorkCalendar
    matters: Sequence[Approvable]
    actions: dict[str, dict[str, Command[Any]]] = field(default_factory=dict)
    """Per aggregate noun, the action commands by name (``approve``, ``meeting``, …)."""

    def __post_init__(self) -> None:
        self.actions = {m.aggregate.noun: _actions(self, m) for m in self.matters}

    def matter(self, aggregate: Aggregate[Any]) -> Approvable | None:
        """The declaration of an aggregate with approvals."""
        return next((m for m in self.matters if m.aggregate is aggregate), None)

    def due(self, today: date, step: ChainStep) -> date:
        """The last day of a step that starts waiting ``today``."""
        return self.calendar.add_workdays(today, step.limit_days)

    async def plan(self, command: Command[Any], state: Any, body: Any, ctx: Context) -> Effect[Any]:
        """The command itself, a proposal in its place, or what a last sign-off carries out."""
        matter = self.matter(command.aggregate)
        if matter is None:
            return Effect(command, body)
        if self.actions[matter.aggregate.noun].get(command.name) is command:
            return await self._act(matter, command, state, body, ctx)
        route = self.policy.route(command.name, matter.facts(state, body))
        if route is None:
            return Effect(command, body)
        await _validate(command, state, body, ctx)
        submitted = pr.submit(
            pr.fold(ctx.history),
            proposal_id=uuid4(),
            command=command.name,
            matter=str(ctx.key),
            body=_dump(body),
            proposer=ctx.actor,
            steps=route.steps,
            key_reasons=route.key_reasons,
            policy_version=self.policy.version,
            due_on=self.due(ctx.now.date(), route.steps[0]),
            now=ctx.now,
            command_label=command.label,
        )
        return Effect(_proposing(matter, command, submitted), body)

    async def _act(
        self, matter: Approvable, command: Command[Any], state: Any, on: Any, ctx: Context
    ) -> Effect[Any]:
        events: list[Event] = await _maybe(command.decide(state, on, ctx))
        after = pr.fold(events, pr.fold(ctx.history))[on.proposal_id]
        if not after.approved:
            return Effect(command, on)
        original = matter.commands[after.command]
        body = _parse(original, await _opened(after.body, ctx))
        ctx.body, ctx.result = body, None  # the original's steps see its own body only
        return Effect(original, body, before=events, after=[pr.took_effect(after, ctx.now)])


async def _opened(body: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A proposed body as its proposer wrote it: the store sealed its free text, and the
    command decides on (and the store seals again) the words themselves; a text that does
    not open refuses the command (409), it is never decided on as a marker."""
    sealer = ctx.store.sealer
    vault = getattr(sealer, "vault", None)
    if vault is None or not pii.holds_sealed_text(body):
        return body
    opened: dict[str, Any] = await pii.open_texts(vault, body, conn=ctx.conn, strict=True)
    return opened


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _validate(command: Command[Any], state: Any, body: Any, ctx: Context) -> None:
    """The command's own decision, run only to refuse now what could never take effect."""
    await _maybe(command.decide(state, body, ctx))
    ctx.result = None


def _dump(body: Any) -> dict[str, Any]:
    return body.model_dump(mode="json") if isinstance(body, BaseModel) else dict(body)


def _parse(command: Command[Any], data: dict[str, Any]) -> Any:
    model = command.body_model
    if model is None:
        return data
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise Refused(
            "invalid-body",
            f"修改后的内容不符合要求：{where} {zh_reason(first, where)}",
            field=f"body.{where}",
            title="内容不符合要求",
        ) from None


def proposal_view(p: pr.Proposal, path: str) -> dict[str, Any]:
    """A proposal as a clerk reads it: its chain with labels, where it stands, what's next."""
    location = f"{path}/proposals/{p.proposal_id}"
    current = p.current
    return {
        "proposal_id": str(p.proposal_id),
        "command": p.command,
        "body": pii.scrubbed(p.body),
        "proposer": p.proposer,
        "status": p.status,
        "status_label": pr.STATUS_LABELS[p.status],
        "round": p.round,
        "steps": [
            {**s.model_dump(mode="json"), "done": i < p.step or p.status == "effective"}
            for i, s in enumerate(p.steps)
        ],
        "current_step": None if current is None else {"index": p.step, **current.model_dump()},
        "signed_by": list(p.signed),
        "key_reasons": list(p.key_reasons),
        "due_on": p.due_on.isoformat() if p.due_on else None,
        "returned_reason": p.returned or None,
        "submitted_at": p.submitted_at.isoformat(),
        "location": location,
    }


def _proposing(
    matter: Approvable, command: Command[Any], submitted: ProposalSubmitted
) -> Command[Any]:
    """The run that records a proposal in place of ``command``: 202 and where to read it."""
    path = matter.path

    def render(state: Any, ctx: Context) -> dict[str, Any]:
        p = pr.fold([submitted])[submitted.proposal_id]
        view = proposal_view(p, path.format(key=ctx.key))
        return {**view, "version": ctx.version}

    return Command(
        name=command.name,
        aggregate=command.aggregate,
        decide=lambda state, body, ctx: [submitted],
        render=render,
        status_code=202,
        location=lambda answer: str(answer["location"]),
    )


def _actions(approvals: Approvals, matter: Approvable) -> dict[str, Command[Any]]:
    """The approval actions on one aggregate, as pipeline commands."""

    def render(state: Any, ctx: Context) -> dict[str, Any]:
        p = pr.fold(ctx.result, pr.fold(ctx.history))[ctx.body.proposal_id]
        return {**proposal_view(p, matter.path.format(key=ctx.key)), "version": ctx.version}

    def action(name: str) -> Command[Any]:
        async def decide(state: Any, on: OnProposal, ctx: Context) -> list[Event]:
            p = pr.find(pr.fold(ctx.history), on.proposal_id)
            events = await _act_on(approvals, matter, p, state, on.body, ctx)
            ctx.result = events  # render shows the proposal after them
            return events

        return Command(
            name=name,
            aggregate=matter.aggregate,
            decide=decide,
            render=render,
            if_match="required",
            body_model=OnProposal,
        )

    return {name: action(name) for name in ACTION_BODIES}


async def _act_on(
    approvals: Approvals,
    matter: Approvable,
    p: pr.Proposal,
    state: Any,
    body: Any,
    ctx: Context,
) -> list[Event]:
    actor, roles, now = ctx.actor, ctx.principal.roles, ctx.now
    nxt = p.steps[p.step + 1] if p.step + 1 < len(p.steps) else None
    next_due = approvals.due(now.date(), nxt) if nxt is not None else None
    if isinstance(body, SignIn):
        return pr.sign(p, actor, roles, body.opinion, body.comment, now, next_due)
    if isinstance(body, MeetingIn):
        minutes = pr.Meeting(
            body.session,
            body.held_on,
            body.attendees,
            body.conclusion,
            body.conclusion_text,
            tuple(body.dissent),
        )
        return pr.meet(p, actor, roles, minutes, now, next_due)
    if isinstance(body, ResubmitIn):
        due = approvals.due(now.date(), p.steps[0])
        again = pr.resubmit(p, actor, {}, body.comment, now, due)  # the proposer's, returned
        original = matter.commands[p.command]
        amended = _parse(original, body.body)
        if original.seal is not None:
            amended = await original.seal(amended, ctx)
        await _validate(original, state, amended, ctx)
        return [again.model_copy(update={"body": _dump(amended)})]
    assert isinstance(body, WithdrawIn)
    return [pr.withdraw(p, actor, body.reason, now)]


__all__ = [
    "ACTION_BODIES",
    "Approvable",
    "Approvals",
    "MeetingIn",
    "OnProposal",
    "ResubmitIn",
    "SignIn",
    "WithdrawIn",
    "proposal_view",
]
