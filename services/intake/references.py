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


def _claim_answered(answer: str = "$5") -> str:
    return f"""INSERT INTO partner_references (department, reference, clue_id, request_hash,
                                              response)
              VALUES ($1, $2, $3, $4, CAST({answer} AS jsonb))
              ON CONFLICT DO NOTHING RETURNING 1"""


# A source's number is taken with the answer as one of the receipt's last writes (one
# insert): a request that finds it taken then (a retry, or another request under it) is
# rolled back and runs again, looking it up first (``answered_reference``).
_CLAIM_ANSWERED = _claim_answered()
# The same with the request's Idempotency-Key, in one round trip: taken when both are.
_CLAIM_BOTH_ANSWERED = f"""WITH ref AS ({_CLAIM_ANSWERED}),
                               key AS ({idempotency.claim_answered_statement(6)} RETURNING 1)
                          SELECT (SELECT count(*) FROM ref) + (SELECT count(*) FROM key)"""
_CLAIMED = (
    "SELECT request_hash, response FROM partner_references WHERE department = $1 AND reference = $2"
)


def _next_number(year: str = "$1") -> str:
    return f"""INSERT INTO clue_numbers (year, last) VALUES ({year}, 1)
               ON CONFLICT (year) DO UPDATE SET last = clue_numbers.last + 1 RETURNING last"""


_NEXT_NUMBER = _next_number()
# The year's next number and the source's number with the answer (and the key, ``$8`` on,
# if the request came with one), in one round trip: the answer, made before its number
# was known, holds ``UNNUMBERED`` ($7) where the number goes, written as
# ``format_clue_number`` writes it (``$6`` the year).
_NUMBER = f"""n AS ({_next_number("$6")}),
              numbered AS (
                  SELECT 'XS-' || $6::integer || '-'
                         || lpad(last::text, greatest(6, length(last::text)), '0') AS number
                  FROM n)"""
_NUMBERED_ANSWER = "replace({}, $7, (SELECT number FROM numbered))"
_NUMBER_AND_CLAIM = f"""WITH {_NUMBER},
                             ref AS ({_claim_answered(_NUMBERED_ANSWER.format("$5"))})
                        SELECT number, (SELECT count(*) FROM ref) AS taken FROM numbered"""
_NUMBER_AND_CLAIM_BOTH = f"""WITH {_NUMBER},
        ref AS ({_claim_answered(_NUMBERED_ANSWER.format("$5"))}),
        key AS ({idempotency.claim_answered_statement(8, _NUMBERED_ANSWER)} RETURNING 1)
    SELECT number, (SELECT count(*) FROM ref) + (SELECT count(*) FROM key) AS taken
    FROM numbered"""


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


async def number_and_claim_reference(
    conn: AsyncConnection,
    now: datetime,
    source: str,
    reference: str,
    clue_id: UUID,
    request_hash: str,
    answer: dict[str, Any],
    key: idempotency.LastClaim | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """``next_clue_number`` and ``claim_answered_reference`` in one statement: the number,
    and the answer with it in place of ``UNNUMBERED`` (kept so for a retry), or None when
    the reference or the key was taken already (nothing is then taken: the caller rolls
    back). The year's row is locked from here to the commit, as ``next_clue_number`` says."""
    claim = (source, reference, clue_id, request_hash, canonical_json(answer), now.year, UNNUMBERED)
    c = await driver(conn)
    if key is None:
        row = await c.fetchrow(_NUMBER_AND_CLAIM, *claim)
        taken = row["taken"] == 1
    else:
        row = await c.fetchrow(_NUMBER_AND_CLAIM_BOTH, *claim, *key.row(answer))
        key.taken = True
        taken = row["taken"] == 2
    number: str = row["number"]
    return number, (_numbered_answer(answer, number) if taken else None)


def _numbered_answer(value: Any, number: str) -> Any:
    """An answer as the statement stores it: ``UNNUMBERED`` replaced by ``number``."""
    if isinstance(value, str):
        return value.replace(UNNUMBERED, number)
    if isinstance(value, dict):
        return {k: _numbered_answer(v, number) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbered_answer(v, number) for v in value]
    return value


async def next_clue_number(conn: AsyncConnection, now: datetime) -> str:
    """The next clue number of the year, e.g. ``XS-2026-000123``.

    Gapless: the year's row stays locked (and the increment undone by a rollback) until
    the transaction ends, so every other receipt of the year waits from here to that
    commit. Call it last, just before the writes that carry the number.
    """
    serial = await (await driver(conn)).fetchval(_NEXT_NUMBER, now.year)
    return format_clue_number(now.year, int(serial))
