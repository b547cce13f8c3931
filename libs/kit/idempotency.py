"""``Idempotency-Key`` for POSTs: a retried command returns the original answer.

The key is claimed in the same transaction as the command's events, so either both the
events and the stored answer commit or neither does; a concurrent retry waits on the
key's row and then replays the answer. A command that claims it last (``claim_answered``,
intake's receive path) writes the key once, with the answer; a retry finds it taken there,
rolls back and runs again, looking it up first (``answered``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import canonical_json
from libs.kit.db import driver
from libs.kit.problems import Problem


@dataclass(frozen=True)
class StoredResponse:
    """The answer given the first time."""

    status_code: int
    body: Any


def fingerprint(payload: Any) -> str:
    """Hash of a request body, to tell a true retry from a different request."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def check_key(key: str) -> None:
    """A 400 problem unless ``key`` is a key a caller may send (1 to 255 characters)."""
    if not key or len(key) > 255:
        raise Problem(
            400,
            "invalid-idempotency-key",
            "幂等键无效",
            "Idempotency-Key 须为 1 至 255 个字符。",
        )


def _reused() -> Problem:
    return Problem(
        422,
        "idempotency-key-reused",
        "幂等键已用于其他请求",
        "该 Idempotency-Key 已用于内容不同的请求，请换用新的键。",
    )


async def claim(
    conn: AsyncConnection, principal: str, key: str, request_hash: str
) -> StoredResponse | None:
    """Take the key for this request, or return the answer already given for it."""
    check_key(key)
    taken = await conn.execute(
        text(
            """INSERT INTO idempotency_keys (principal, key, request_hash)
               VALUES (:p, :k, :h) ON CONFLICT DO NOTHING RETURNING 1"""
        ),
        {"p": principal, "k": key, "h": request_hash},
    )
    if taken.first() is not None:
        return None
    row = (
        await conn.execute(
            text(
                "SELECT request_hash, status_code, response FROM idempotency_keys WHERE principal = :p AND key = :k"
            ),
            {"p": principal, "k": key},
        )
    ).one()
    if row.request_hash != request_hash:
        raise _reused()
    return StoredResponse(row.status_code, row.response)


async def answered(
    conn: AsyncConnection, principal: str, key: str, request_hash: str
) -> StoredResponse | None:
    """The answer already given under the key, if any (a 422 problem if it was given to a
    different request), without taking the key: for a command that claims it last
    (``claim_answered``)."""
    check_key(key)
    row = await (await driver(conn)).fetchrow(
        """SELECT request_hash, status_code, response FROM idempotency_keys
           WHERE principal = $1 AND key = $2""",
        principal,
        key,
    )
    if row is None:
        return None
    if row["request_hash"] != request_hash:
        raise _reused()
    return StoredResponse(row["status_code"], row["response"])


def claim_answered_statement(first: int = 1, answer: str = "{}") -> str:
    """The insert of a key with its answer, its parameters (``LastClaim.row``) numbered from
    ``$first``: to add ``RETURNING 1`` to, as a CTE beside another claim of the command's.
    ``answer`` is the SQL of the stored answer made from its parameter (``{}``), for a
    statement that completes it (intake's puts in the number it takes)."""
    p = [f"${n}" for n in range(first, first + 5)]
    return f"""INSERT INTO idempotency_keys (principal, key, request_hash, status_code, response)
               VALUES ({p[0]}, {p[1]}, {p[2]}, {p[3]}, CAST({answer.format(p[4])} AS jsonb))
               ON CONFLICT DO NOTHING"""


async def claim_answered(
    conn: AsyncConnection,
    principal: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
) -> bool:
    """Take the key with its answer in one write, as the command's last; False when it is
    taken already (a retry, or another request under it, committed or about to): the
    caller rolls back and runs again, looking the key up first (``answered``)."""
    taken = await (await driver(conn)).fetchval(
        f"{claim_answered_statement()} RETURNING 1",
        principal,
        key,
        request_hash,
        status_code,
        canonical_json(body),
    )
    return taken is not None


@dataclass
class LastClaim:
    """An ``Idempotency-Key`` a command takes with its answer as its last write: the
    pipeline takes it after the answer, unless a step of the command took it already in a
    statement of its own (with the source's number, in intake: one round trip, not two)."""

    principal: str
    key: str
    request_hash: str
    status_code: int
    remembered: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """What a retry gets, when less than the answer."""
    taken: bool = False
    """A step took it (``claim_answered_statement`` with ``row``): the pipeline does not."""

    def row(self, answer: dict[str, Any]) -> tuple[str, str, str, int, str]:
        """``claim_answered_statement``'s parameters for ``answer``."""
        kept = self.remembered(answer) if self.remembered else answer
        return self.principal, self.key, self.request_hash, self.status_code, canonical_json(kept)


async def remember(
    conn: AsyncConnection, principal: str, key: str, status_code: int, body: Any
) -> None:
    """Store the answer for a claimed key (same transaction as the command)."""
    await (await driver(conn)).execute(
        """UPDATE idempotency_keys SET status_code = $3, response = CAST($4 AS jsonb)
           WHERE principal = $1 AND key = $2""",
        principal,
        key,
        status_code,
        canonical_json(body),
    )
