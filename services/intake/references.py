"""Source references and clue numbers, shared by every way a clue comes in.

A source's own reference (a partner's 文号, a 12345 order number) is claimed in the
same transaction as the clue's events, with the answer, as its last write: a retry gets
the answer stored with it, a different request under the same reference is a 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import canonical_json
from libs.kit import idempotency
from libs.kit.db import driver
from libs.kit.problems import Problem
from services.intake.domain import format_clue_number

# A source's number is taken with the answer as the receipt's last write (one insert): a
# request that finds it taken then (a retry, or another request under it) is rolled back
# and runs again, looking it up first (``answered_reference``).
_CLAIM_ANSWERED = """INSERT INTO partner_references (department, reference, clue_id, request_hash,
                                                     response)
                     VALUES ($1, $2, $3, $4, CAST($5 AS jsonb))
                     ON CONFLICT DO NOTHING RETURNING 1"""
# The same with the request's Idempotency-Key, in one round trip: taken when both are.
_CLAIM_BOTH_ANSWERED = f"""WITH ref AS ({_CLAIM_ANSWERED}),
                               key AS ({idempotency.claim_answered_statement(6)} RETURNING 1)
                          SELECT (SELECT count(*) FROM ref) + (SELECT count(*) FROM key)"""
_CLAIMED = (
    "SELECT request_hash, response FROM partner_references WHERE department = $1 AND reference = $2"
)
_NEXT_NUMBER = """INSERT INTO clue_numbers (year, last) VALUES ($1, 1)
                  ON CONFLICT (year) DO UPDATE SET last = clue_numbers.last + 1 RETURNING last"""


async def answered_reference(
    conn: AsyncConnection,
    source: str,
    reference: str,
    request_hash: str,
    *,
    field: str = "reference",
) -> dict[str, Any] | None:
    """The answer a true retry under ``reference`` gets, if it was answered; a 409 problem
    if it was used for a different request."""
    row = await (await driver(conn)).fetchrow(_CLAIMED, source, reference)
    if row is None:
        return None
    if row["request_hash"] != request_hash:
        raise Problem(
            409,
            "reference-reused",
            "该来源编号已使用",
            f"来源编号 {reference} 此前已用于内容不同的移送。请使用新的编号，或原样重发原来的内容。",
            errors=[{"field": field, "reason": "已用于内容不同的请求"}],
        )
    return dict(row["response"])


async def claim_answered_reference(
    conn: AsyncConnection,
    source: str,
    reference: str,
    clue_id: UUID,
    request_hash: str,
    answer: dict[str, Any],
    key: idempotency.LastClaim | None = None,
) -> bool:
    """Take ``reference`` for this request with the answer a retry under it will get, and
    the request's ``Idempotency-Key`` in the same statement if it came with one; False when
    either is taken already (committed, or by a transaction that then commits)."""
    c = await driver(conn)
    claim = (source, reference, clue_id, request_hash, canonical_json(answer))
    if key is None:
        return await c.fetchval(_CLAIM_ANSWERED, *claim) is not None
    taken = await c.fetchval(_CLAIM_BOTH_ANSWERED, *claim, *key.row(answer))
    key.taken = True
    return int(taken) == 2


UNNUMBERED = "XS-待编号"
"""What a clue's events carry until its number is taken (``numbered`` replaces it): the
number is the last thing a receipt takes, so the year's row stays locked for as short a
while as possible. Never appended."""

M = TypeVar("M", bound=BaseModel)


def numbered(model: M, number: str) -> M:
    """``model`` with every ``UNNUMBERED`` in it (nested models too) replaced by ``number``."""
    update: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value == UNNUMBERED:
            update[name] = number
        elif isinstance(value, BaseModel):
            new = numbered(value, number)
            if new is not value:
                update[name] = new
        elif isinstance(value, (list, tuple)) and any(isinstance(v, BaseModel) for v in value):
            items = [numbered(v, number) if isinstance(v, BaseModel) else v for v in value]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                update[name] = type(value)(items)
    return model.model_copy(update=update) if update else model


def all_numbered(models: Sequence[M], number: str) -> list[M]:
    """``numbered`` for each of ``models``."""
    return [numbered(m, number) for m in models]


async def next_clue_number(conn: AsyncConnection, now: datetime) -> str:
    """The next clue number of the year, e.g. ``XS-2026-000123``.

    Gapless: the year's row stays locked (and the increment undone by a rollback) until
    the transaction ends, so every other receipt of the year waits from here to that
    commit. Call it last, just before the writes that carry the number.
    """
    serial = await (await driver(conn)).fetchval(_NEXT_NUMBER, now.year)
    return format_clue_number(now.year, int(serial))
