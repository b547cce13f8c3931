"""Source references and clue numbers, shared by every way a clue comes in.

A source's own reference (a partner's 文号, a 12345 order number) is claimed in the
same transaction as the clue's events: a retry gets the answer stored with it, a
different request under the same reference is a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import canonical_json
from libs.kit.problems import Problem
from services.intake.domain import format_clue_number


async def claim_reference(
    conn: AsyncConnection,
    source: str,
    reference: str,
    clue_id: UUID,
    request_hash: str,
    *,
    field: str = "reference",
) -> dict[str, Any] | None:
    """Take ``reference`` for this request; the stored answer if it was a true retry."""
    taken = await conn.execute(
        text(
            """INSERT INTO partner_references (department, reference, clue_id, request_hash, response)
               VALUES (:d, :r, :id, :h, '{}') ON CONFLICT DO NOTHING RETURNING 1"""
        ),
        {"d": source, "r": reference, "id": clue_id, "h": request_hash},
    )
    if taken.first() is not None:
        return None
    row = (
        await conn.execute(
            text(
                "SELECT request_hash, response FROM partner_references"
                " WHERE department = :d AND reference = :r"
            ),
            {"d": source, "r": reference},
        )
    ).one()
    if row.request_hash != request_hash:
        raise Problem(
            409,
            "reference-reused",
            "该来源编号已使用",
            f"来源编号 {reference} 此前已用于内容不同的移送。请使用新的编号，或原样重发原来的内容。",
            errors=[{"field": field, "reason": "已用于内容不同的请求"}],
        )
    return dict(row.response)


async def remember_reference(
    conn: AsyncConnection, source: str, reference: str, answer: dict[str, Any]
) -> None:
    """Store the answer a retry under this reference will get."""
    await conn.execute(
        text(
            "UPDATE partner_references SET response = CAST(:b AS jsonb)"
            " WHERE department = :d AND reference = :r"
        ),
        {"b": canonical_json(answer), "d": source, "r": reference},
    )


async def next_clue_number(conn: AsyncConnection, now: datetime) -> str:
    """The next clue number of the year, e.g. ``XS-2026-000123``."""
    serial = (
        await conn.execute(
            text(
                """INSERT INTO clue_numbers (year, last) VALUES (:y, 1)
                   ON CONFLICT (year) DO UPDATE SET last = clue_numbers.last + 1 RETURNING last"""
            ),
            {"y": now.year},
        )
    ).scalar_one()
    return format_clue_number(now.year, int(serial))
