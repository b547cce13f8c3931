"""管辖与转办: clerks forward clues outside this commission's jurisdiction, or keep them.

Commands take the clue's stream version in ``If-Match`` (its ``ETag`` from
``GET /v1/clues/{id}/jurisdiction``) and/or an ``Idempotency-Key``; a retry with the
same key gets the first answer, a stale version a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from libs.events.contracts import Event
from libs.events.contracts.intake import UnitFinding
from libs.events.store import Metadata
from libs.kit import idempotency
from libs.kit.auth import Principal, require_roles
from libs.kit.conflicts import rerun_on_conflict
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import Jurisdiction
from services.intake.domain import clue_stream
from services.intake.domain.jurisdiction import (
    FORWARDING_METHODS,
    AuthorityRequired,
    ClueJurisdiction,
    Refused,
    evolve,
    forward,
    keep,
    mark,
    replay,
)

router = APIRouter(prefix="/v1", tags=["jurisdiction and forwarding (clerks)"])

Clerk = Annotated[Principal, require_roles("clerk", "supervisor")]
Reader = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "leader", "auditor")
]
Method = Literal["official_letter", "document_system", "confidential_delivery", "in_person"]


class ForwardIn(BaseModel):
    """转办: where the clue goes and how."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    authority: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The body with jurisdiction; defaults to the one the clue is marked for",
    )
    method: Method = Field(description="公函 / 公文交换系统 / 机要交通 / 当面移交")
    letter_number: str | None = Field(default=None, max_length=64, description="转办文号")
    note: str | None = Field(default=None, max_length=2000)


class DecisionIn(BaseModel):
    """A clerk's jurisdiction decision: keep the clue here, or mark it for forwarding."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["keep", "forward"]
    reason: str = Field(min_length=1, max_length=1000)
    authority: str | None = Field(
        default=None, min_length=1, max_length=100, description="For forward: where it goes"
    )


class ForwardedOut(BaseModel):
    """How and when the clue was forwarded."""

    authority: str
    method: str
    method_label: str
    letter_number: str | None
    forwarded_by: str
    forwarded_at: datetime
    in_time: bool


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
        forward_by=state.forward_by if state.status != "kept" else None,
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
        version=state.version,
    )
    return out.model_dump(mode="json")


def _with_etag(body: dict[str, Any], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status, headers={"ETag": f'"{body["version"]}"', **headers})


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(
            400,
            "invalid-if-match",
            "Invalid If-Match",
            f"If-Match {if_match!r} is not an ETag of this clue.",
            errors=[{"field": "If-Match", "reason": "not a version ETag"}],
        ) from None


def _not_found(clue_id: UUID) -> Problem:
    return Problem(404, "not-found", "Not found", f"No clue {clue_id}.")


@router.get("/clues/{clue_id}/jurisdiction", response_model=JurisdictionOut)
async def jurisdiction_of(clue_id: UUID, reader: Reader, store: Store) -> JSONResponse:
    """Whose the clue is (本委管辖 / 管辖待定 / 待转办 / 留本委办理 / 已转办); ETag = version."""
    state = replay([r.event for r in await store.read_stream(clue_stream(clue_id))])
    if state.clue_id is None:
        raise _not_found(clue_id)
    return _with_etag(render(state))


async def _command(
    store: Store,
    clue_id: UUID,
    clerk: Principal,
    payload: dict[str, Any],
    if_match: str | None,
    idempotency_key: str | None,
    decide: Callable[[ClueJurisdiction, datetime], list[Event]],
    status_code: int,
) -> JSONResponse:
    seen = _version(if_match)
    request_hash = idempotency.fingerprint({"clue_id": str(clue_id), **payload})

    async def once() -> JSONResponse:
        async with store.engine.begin() as conn:
            if idempotency_key is not None:
                stored = await idempotency.claim(conn, clerk.actor, idempotency_key, request_hash)
                if stored is not None:
                    return _with_etag(
                        stored.body, stored.status_code, **{"Idempotent-Replayed": "true"}
                    )
            history = [r.event for r in await store.read_stream(clue_stream(clue_id), conn=conn)]
            state = replay(history)
            if state.clue_id is None:
                raise _not_found(clue_id)
            if seen is not None and seen != state.version:
                raise Problem(
                    409,
                    "stale-version",
                    "The clue changed since you read it",
                    f"You sent If-Match {seen}; clue {clue_id} is at version {state.version}.",
                    errors=[{"field": "If-Match", "reason": f"stale (current {state.version})"}],
                    current_version=state.version,
                )
            try:
                events = decide(state, store.clock())
            except Refused as why:
                raise Problem(
                    409,
                    why.code,
                    why.title,
                    why.detail,
                    clue_status=state.status,
                    status_label=state.status_label,
                ) from why
            except AuthorityRequired as why:
                raise Problem(
                    422,
                    "authority-required",
                    "Say where the clue goes",
                    f"The registry names no body for clue {why}; send authority.",
                    errors=[{"field": "authority", "reason": "required for this clue"}],
                ) from why
            await store.append(
                clue_stream(clue_id),
                events,
                expected_version=state.version,
                meta=Metadata(
                    actor=clerk.actor, correlation_id=correlation_id.get() or str(uuid4())
                ),
                conn=conn,
            )
            for event in events:
                state = evolve(state, event)
            out = render(state)
            if idempotency_key is not None:
                await idempotency.remember(conn, clerk.actor, idempotency_key, status_code, out)
        return _with_etag(out, status_code)

    return await rerun_on_conflict(once, pinned=seen is not None)


@router.post("/clues/{clue_id}/forwarding", status_code=201, response_model=JurisdictionOut)
async def forward_clue(
    clue_id: UUID,
    body: ForwardIn,
    clerk: Clerk,
    store: Store,
    if_match: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """转办: record that a clue marked for forwarding went to the body with jurisdiction."""
    return await _command(
        store,
        clue_id,
        clerk,
        {"command": "forward", **body.model_dump(mode="json")},
        if_match,
        idempotency_key,
        lambda state, now: forward(
            state,
            authority=body.authority,
            method=body.method,
            letter_number=body.letter_number,
            note=body.note,
            actor=clerk.actor,
            now=now,
        ),
        201,
    )


@router.post("/clues/{clue_id}/jurisdiction", response_model=JurisdictionOut)
async def decide_jurisdiction(
    clue_id: UUID,
    body: DecisionIn,
    clerk: Clerk,
    store: Store,
    rules: Jurisdiction,
    if_match: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """管辖认定: keep a marked or undetermined clue here, or mark a clue for forwarding."""

    def decide(state: ClueJurisdiction, now: datetime) -> list[Event]:
        if body.decision == "keep":
            if body.authority is not None:
                raise _field("authority", "must be empty when keeping the clue")
            return keep(state, reason=body.reason, actor=clerk.actor, now=now)
        return mark(
            state,
            authority=body.authority,
            reason=body.reason,
            actor=clerk.actor,
            now=now,
            calendar=rules.calendar,
            forward_workdays=rules.forward_workdays,
        )

    return await _command(
        store,
        clue_id,
        clerk,
        {"command": "decide", **body.model_dump(mode="json")},
        if_match,
        idempotency_key,
        decide,
        200,
    )


def _field(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        "The request is not valid",
        f"Check these fields: {field}",
        errors=[{"field": field, "reason": reason}],
    )


class OverdueOut(BaseModel):
    """An intake limit that passed unmet."""

    clue_id: UUID
    clue_number: str | None
    kind: str
    """forwarding (转办) / acknowledgement (受理告知)."""
    due: date
    escalated_to: str | None


@router.get("/intake-deadlines/overdue", response_model=list[OverdueOut])
async def overdue_deadlines(reader: Clerk, store: Store) -> list[OverdueOut]:
    """Intake's overdue limits still open, oldest first (what the supervisor chases)."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text(
                """SELECT clue_id, clue_number, kind, due, escalated_to FROM intake_deadlines
                   WHERE open AND overdue_noticed ORDER BY due, clue_id LIMIT 500"""
            )
        )
        return [OverdueOut(**r._mapping) for r in rows]
