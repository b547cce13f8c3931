"""``Idempotency-Key`` for POSTs: a retried command returns the original answer.

The key is claimed in the same transaction as the command's events, so either both the
events and the stored answer commit or neither does; a concurrent retry waits on the
key's row and then replays the answer.
"""

from __future__ import annotations

import hashlib
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


async def claim(
    conn: AsyncConnection, principal: str, key: str, request_hash: str
) -> StoredResponse | None:
    """Take the key for this request, or return the answer already given for it."""
    if not key or len(key) > 255:
        raise Problem(
            400,
            "invalid-idempotency-key",
            "幂等键无效",
            "Idempotency-Key 须为 1 至 255 个字符。",
        )
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
        raise Problem(
            422,
            "idempotency-key-reused",
            "幂等键已用于其他请求",
            "该 Idempotency-Key 已用于内容不同的请求，请换用新的键。",
        )
    return StoredResponse(row.status_code, row.response)


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
