"""What every accountability endpoint shares: callers, idempotent commands, refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.store import EventStore
from libs.kit import idempotency
from libs.kit.auth import Principal, require_roles
from libs.kit.problems import Problem
from services.accountability.domain.errors import Refused

Reader = Annotated[Principal, require_roles("accountability", "supervisor", "leader", "auditor")]
Officer = Annotated[Principal, require_roles("accountability")]
"""党风政风监督室: opens inquiries, records findings, proposes measures."""
Reviewer = Annotated[Principal, require_roles("accountability", "reviewer", "supervisor")]
Rerater = Annotated[Principal, require_roles("accountability", "supervisor")]
Leader = Annotated[Principal, require_roles("leader")]
"""Signs the commission's own decisions and records those of the body with authority."""

Work = Callable[[AsyncConnection], Awaitable[tuple[int, dict[str, Any], dict[str, str]]]]


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a domain refusal into a problem+json answer naming the field."""
    try:
        yield
    except Refused as exc:
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else None
        raise Problem(
            exc.status, exc.slug, "The command was refused", exc.detail, errors=errors
        ) from exc


def expected_version(if_match: str | None, required: bool = False) -> int | None:
    """The stream version a caller saw, from ``If-Match: "3"``."""
    if if_match is None:
        if required:
            raise Problem(
                428,
                "if-match-required",
                "If-Match required",
                "Send the version you read (its ETag) in If-Match.",
            )
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(
            400,
            "invalid-if-match",
            "Invalid If-Match",
            f"If-Match {if_match!r} is not an ETag of this service.",
            errors=[{"field": "If-Match", "reason": "not a version ETag"}],
        ) from None


async def command(
    store: EventStore,
    principal: Principal,
    idempotency_key: str | None,
    payload: Any,
    work: Work,
) -> JSONResponse:
    """Run a command in one transaction with its Idempotency-Key; a retry gets the first answer."""
    with refusals():
        async with store.engine.begin() as conn:
            if idempotency_key is not None:
                stored = await idempotency.claim(
                    conn, principal.actor, idempotency_key, idempotency.fingerprint(payload)
                )
                if stored is not None:
                    return JSONResponse(
                        stored.body,
                        stored.status_code,
                        headers={"Idempotent-Replayed": "true"},
                    )
            status, body, headers = await work(conn)
            if idempotency_key is not None:
                await idempotency.remember(conn, principal.actor, idempotency_key, status, body)
    return JSONResponse(body, status, headers=headers)
