"""The unit of work for a command: load, check, decide, append, remember — one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.store import ConcurrencyError, EventStore, Metadata, Recorded
from libs.kit import idempotency
from libs.kit.auth import Principal
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from services.casework.domain import (
    CaseState,
    Command,
    IllegalTransition,
    Rejected,
    Rules,
    accept_link,
    allowed_commands,
    clue_stream,
    decide,
    replay,
)
from services.casework.policy import refusal


async def load(
    store: EventStore,
    case_id: UUID,
    *,
    as_of: datetime | None = None,
    conn: AsyncConnection | None = None,
) -> tuple[CaseState, list[Recorded]]:
    """A matter as it stands (or stood at ``as_of``) and its recorded events."""
    records = await store.read_stream(clue_stream(case_id), as_of=as_of, conn=conn)
    return replay(r.event for r in records), records


def not_found(case_id: UUID) -> Problem:
    return Problem(404, "not-found", "Not found", f"Case {case_id} is not in the register.")


def parse_if_match(value: str | None) -> int:
    """The stream version from an ``If-Match`` header (``"7"`` or ``W/"7"``)."""
    if value is None:
        raise Problem(
            428,
            "if-match-required",
            "If-Match required",
            "Send If-Match with the ETag (version) of the case you saw.",
            errors=[{"field": "If-Match", "reason": "missing"}],
        )
    try:
        return int(value.removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise Problem(
            400,
            "invalid-if-match",
            "Invalid If-Match",
            'If-Match must be the case\'s ETag, e.g. "7".',
            errors=[{"field": "If-Match", "reason": "not a version"}],
        ) from exc


def stale(case_id: UUID, seen: int, current: int) -> Problem:
    return Problem(
        409,
        "stale-version",
        "The case changed since you read it",
        f"You sent If-Match {seen}; case {case_id} is at version {current}. Read it again.",
        errors=[{"field": "If-Match", "reason": f"stale (current version {current})"}],
        current_version=current,
    )


async def execute(
    store: EventStore,
    rules: Rules,
    case_id: UUID,
    command: Command,
    principal: Principal,
    *,
    if_match: str | None,
    idempotency_key: str | None,
    render: Any,
) -> tuple[int, dict[str, Any], bool]:
    """Run one command; returns (status code, body, replayed).

    ``render(state)`` builds the answer. Nothing is written unless everything succeeds.
    """
    seen = parse_if_match(if_match)
    payload = {"case_id": str(case_id), "command": command.name, **command.model_dump(mode="json")}
    async with store.engine.begin() as conn:
        if idempotency_key is not None:
            stored = await idempotency.claim(
                conn, principal.actor, idempotency_key, idempotency.fingerprint(payload)
            )
            if stored is not None:
                return stored.status_code, stored.body, True
        state, _ = await load(store, case_id, conn=conn)
        if state.case_id is None:
            raise not_found(case_id)
        if seen != state.version:
            raise stale(case_id, seen, state.version)
        why = refusal(principal, command.name, state)
        if why is not None:
            raise Problem(403, "forbidden", "Not allowed", why)
        now = store.clock()
        try:
            events = decide(state, command, now, rules, actor=principal.actor)
        except IllegalTransition as err:
            raise Problem(
                409,
                "illegal-transition",
                "Not allowed in the current status",
                f"{err.command} cannot be given while the case is {err.status.value}"
                f" ({err.status.label}).",
                status_label=err.status.label,
                allowed_commands=err.allowed,
            ) from err
        except Rejected as err:
            raise Problem(
                err.status,
                "rule-violated" if err.status == 409 else "invalid-command",
                "The command breaks a rule",
                err.reason,
                errors=[{"field": err.field, "reason": err.reason}],
                allowed_commands=allowed_commands(state),
            ) from err
        meta = Metadata(
            actor=principal.actor,
            correlation_id=correlation_id.get() or str(uuid4()),
        )
        try:
            await store.append(
                clue_stream(case_id), events, expected_version=state.version, meta=meta, conn=conn
            )
            other = getattr(command, "other_case_id", None)
            if other is not None:
                await _link_back(store, conn, case_id, other, command, now, meta)
        except ConcurrencyError as exc:
            current = await store.stream_version(clue_stream(case_id))
            raise stale(case_id, seen, current) from exc
        state = replay(events, state)
        body = render(state)
        if idempotency_key is not None:
            await idempotency.remember(conn, principal.actor, idempotency_key, 200, body)
    return 200, body, False


async def _link_back(
    store: EventStore,
    conn: AsyncConnection,
    case_id: UUID,
    other: UUID,
    command: Command,
    now: datetime,
    meta: Metadata,
) -> None:
    other_state, _ = await load(store, other, conn=conn)
    if other_state.case_id is None:
        raise Problem(
            422,
            "invalid-command",
            "No such case to link",
            f"Case {other} is not in the register.",
            errors=[{"field": "other_case_id", "reason": "unknown case"}],
        )
    relation = str(getattr(command, "relation", ""))
    events = accept_link(other_state, case_id, relation, command.reason, now)
    await store.append(
        clue_stream(other), events, expected_version=other_state.version, meta=meta, conn=conn
    )


async def record_read(
    conn: AsyncConnection,
    case_id: UUID | list[UUID],
    principal: Principal,
    view: str,
    as_of: datetime | None,
) -> None:
    """Every read of a case is recorded (who, which view, as of when); a list, per case."""
    ids = case_id if isinstance(case_id, list) else [case_id]
    if not ids:
        return
    await conn.execute(
        text("INSERT INTO case_reads (case_id, actor, view, as_of) VALUES (:c, :a, :v, :t)"),
        [{"c": i, "a": principal.actor, "v": view, "t": as_of} for i in ids],
    )
