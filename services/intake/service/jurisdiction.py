"""管辖与转办: a clue's jurisdiction as an aggregate, and the clerks' commands on it.

Clerks forward a clue outside this commission's jurisdiction (转办), keep it (留本委办理) or
mark it for forwarding, and record a higher commission's 提级办理 or 指定管辖. Each command runs on the pipeline: ``If-Match`` with the clue's
version (the ``ETag`` of ``GET /v1/clues/{id}/jurisdiction``) and/or an
``Idempotency-Key``; a stale version is a 409, a refusal carries the clue's status.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueTakenUp, UnitFinding
from libs.events.store import EventStore
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.problems import INVALID_TITLE
from libs.kit.refusal import Refused
from services.intake.domain import clue_stream
from services.intake.domain.escalation import designate, take_up
from services.intake.domain.jurisdiction import (
    FORWARDING_METHODS,
    ClueJurisdiction,
    JurisdictionRules,
    evolve,
    forward,
    keep,
    mark,
    replay,
)

JURISDICTION: Aggregate[ClueJurisdiction] = Aggregate(
    noun="clue",
    label="线索",
    stream=clue_stream,
    initial=ClueJurisdiction,
    evolve=evolve,
    exists=lambda state: state.clue_id is not None,
    facts=lambda state: {"clue_status": state.status, "status_label": state.status_label},
    missing="没有线索 {key}。",
)
"""A clue as jurisdiction sees it: whose it is, and the intake limits that run."""


class ForwardedOut(BaseModel):
    """How and when the clue was forwarded."""

    authority: str
    method: str
    method_label: str
    letter_number: str | None
    forwarded_by: str
    forwarded_at: datetime
    in_time: bool


class HigherDecisionOut(BaseModel):
    """提级办理 or 指定管辖 to another body: the higher commission's decision."""

    kind: str
    """taken_up (提级办理) / designated (指定管辖)."""
    kind_label: str
    decided_by: str
    """The higher commission."""
    handled_by: str
    """Who handles the matter now."""
    decision_number: str
    reason: str
    recorded_by: str
    recorded_at: datetime


class JurisdictionOut(BaseModel):
    """Whose a clue is, what the registry found, and the forwarding limit."""

    clue_id: UUID
    clue_number: str
    status: str
    """in_jurisdiction / undetermined / marked / kept / forwarded."""
    status_label: str
    authority: str | None
    reason: str | None
    findings: list[UnitFinding]
    forward_by: date | None
    overdue: bool
    forwarded: ForwardedOut | None
    higher_decision: HigherDecisionOut | None = None
    version: int


def render(state: ClueJurisdiction) -> dict[str, Any]:
    """The answer for a state (also what a retried command gets)."""
    done = state.forwarded
    out = JurisdictionOut(
        clue_id=state.clue_id or UUID(int=0),
        clue_number=state.clue_number,
        status=state.status,
        status_label=state.status_label,
        authority=state.authority,
        reason=state.reason,
        findings=list(state.findings),
        forward_by=state.forward_by if state.status not in ("kept", "designated_here") else None,
        overdue=bool(state.forwarding_overdue_noticed)
        and state.status in ("marked", "undetermined"),
        forwarded=ForwardedOut(
            authority=done.authority,
            method=done.method,
            method_label=FORWARDING_METHODS[done.method],
            letter_number=done.letter_number,
            forwarded_by=done.forwarded_by,
            forwarded_at=done.forwarded_at,
            in_time=done.in_time,
        )
        if done
        else None,
        higher_decision=_higher(state),
        version=state.version,
    )
    return out.model_dump(mode="json")


def _higher(state: ClueJurisdiction) -> HigherDecisionOut | None:
    left = state.left
    if left is None:
        return None
    taken = isinstance(left, ClueTakenUp)
    return HigherDecisionOut(
        kind="taken_up" if taken else "designated",
        kind_label="提级办理" if taken else "指定管辖",
        decided_by=left.authority if isinstance(left, ClueTakenUp) else left.designated_by,
        handled_by=left.authority if isinstance(left, ClueTakenUp) else left.designated_to,
        decision_number=left.decision_number,
        reason=left.reason,
        recorded_by=left.recorded_by,
        recorded_at=left.recorded_at,
    )


async def jurisdiction_of(store: EventStore, clue_id: UUID) -> ClueJurisdiction:
    """Whose the clue is now; a 404 problem when there is no such clue."""
    state = replay([r.event for r in await store.read_stream(clue_stream(clue_id))])
    if state.clue_id is None:
        raise JURISDICTION.missing_problem(clue_id)
    return state


def _forward(state: ClueJurisdiction, body: Any, ctx: Context) -> list[Event]:
    return forward(
        state,
        authority=body.authority,
        method=body.method,
        letter_number=body.letter_number,
        note=body.note,
        actor=ctx.actor,
        now=ctx.now,
    )


def _decide(state: ClueJurisdiction, body: Any, ctx: Context) -> list[Event]:
    if body.decision == "keep":
        if body.authority is not None:
            raise Refused(
                "validation-error",
                "请检查以下字段：authority",
                field="authority",
                reason="决定自办时不填写移送机关",
                title=INVALID_TITLE,
            )
        return keep(state, reason=body.reason, actor=ctx.actor, now=ctx.now)
    rules: JurisdictionRules = ctx.deps.jurisdiction
    return mark(
        state,
        authority=body.authority,
        reason=body.reason,
        actor=ctx.actor,
        now=ctx.now,
        calendar=rules.calendar,
        forward_workdays=rules.forward_workdays,
    )


FORWARD: Command[ClueJurisdiction] = Command(
    name="forward",
    aggregate=JURISDICTION,
    decide=_forward,
    render=lambda state, ctx: render(state),
    status_code=201,
)
"""转办: a clue marked for forwarding (or undetermined) goes to the body with jurisdiction."""

DECIDE: Command[ClueJurisdiction] = Command(
    name="decide_jurisdiction",
    aggregate=JURISDICTION,
    decide=_decide,
    render=lambda state, ctx: render(state),
)
"""管辖认定: keep a marked or undetermined clue here, or mark a clue for forwarding."""


def _take_up(state: ClueJurisdiction, body: Any, ctx: Context) -> list[Event]:
    return take_up(
        state,
        authority=body.authority,
        decision_number=body.decision_number,
        reason=body.reason,
        actor=ctx.actor,
        now=ctx.now,
    )


def _designate(state: ClueJurisdiction, body: Any, ctx: Context) -> list[Event]:
    if body.here == (body.designated_to is not None):
        raise Refused(
            "validation-error",
            "请检查以下字段：designated_to",
            field="designated_to",
            reason="指定其他机关管辖时填写被指定机关；指定本委管辖时不填写（here 为 true）",
            title=INVALID_TITLE,
        )
    return designate(
        state,
        designated_by=body.designated_by,
        designated_to=body.designated_to or "本委",
        here=body.here,
        decision_number=body.decision_number,
        reason=body.reason,
        actor=ctx.actor,
        now=ctx.now,
    )


TAKE_UP: Command[ClueJurisdiction] = Command(
    name="take_up",
    aggregate=JURISDICTION,
    decide=_take_up,
    render=lambda state, ctx: render(state),
    status_code=201,
)
"""提级办理: a higher commission took the matter up; the clue leaves this commission."""

DESIGNATE: Command[ClueJurisdiction] = Command(
    name="designate_jurisdiction",
    aggregate=JURISDICTION,
    decide=_designate,
    render=lambda state, ctx: render(state),
    status_code=201,
)
"""指定管辖: a higher commission named the commission that handles the matter."""
