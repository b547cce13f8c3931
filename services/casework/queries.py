"""Casework's reads of its read models: the clue ledger, the case register, the read log.

Every read SQL of the service is here; routes and jobs pass filter objects, never SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.kit.pagination import Keyset, fetch_page
from services.casework.domain import CaseState, ClueStatus, Status

CLUES_BY_REGISTRATION = Keyset(
    ("registered_at", "clue_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)
CASES_BY_REGISTRATION = Keyset(
    ("registered_at", "case_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


@dataclass(frozen=True)
class ClueFilter:
    """Which clues of the ledger: by status, category, and repeat reports (重复件)."""

    status: ClueStatus | None = None
    category: str | None = None
    min_repeat_count: int | None = None


@dataclass(frozen=True)
class CaseFilter:
    """Which cases of the register; ``scope_*`` narrow it to what the reader may see."""

    status: Status | None = None
    category: str | None = None
    unit: str | None = None
    officer: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    scope_officer: str | None = None
    scope_department: str | None = None


async def clue(conn: AsyncConnection, clue_id: UUID) -> RowMapping | None:
    """One clue of the ledger, or ``None`` when it is not (yet) there."""
    found = await conn.execute(
        text("SELECT * FROM clue_ledger WHERE clue_id = :id"), {"id": clue_id}
    )
    return found.mappings().first()


async def clues(
    conn: AsyncConnection, where: ClueFilter, cursor: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """A page of the ledger, oldest registered first, and the next page's cursor."""
    return await fetch_page(
        conn,
        "SELECT * FROM clue_ledger",
        keyset=CLUES_BY_REGISTRATION,
        where={
            "st": ("status = :st", where.status.value if where.status else None),
            "cat": (":cat = ANY(categories)", where.category),
            "rc": ("repeat_count >= :rc", where.min_repeat_count),
        },
        cursor=cursor,
        limit=limit,
    )


async def cases(
    conn: AsyncConnection, where: CaseFilter, cursor: str | None, limit: int
) -> tuple[list[CaseState], str | None]:
    """A page of the case register, oldest registered first, and the next page's cursor."""
    rows, next_cursor = await fetch_page(
        conn,
        "SELECT state, registered_at, case_id FROM cases",
        keyset=CASES_BY_REGISTRATION,
        where={
            "st": ("status = :st", where.status.value if where.status else None),
            "cat": (":cat = ANY(categories)", where.category),
            "unit": ("unit = :unit", where.unit),
            "off": ("officer = :off", where.officer),
            "od": ("overdue = :od", where.overdue),
            "sup": ("supervised = :sup", where.supervised),
            "sc_off": ("officer = :sc_off", where.scope_officer),
            "sc_dep": ("department = :sc_dep", where.scope_department),
        },
        cursor=cursor,
        limit=limit,
    )
    return [CaseState.model_validate(r["state"]) for r in rows], next_cursor


async def reads_of(conn: AsyncConnection, case_id: UUID) -> list[dict[str, Any]]:
    """Who read a case, when, which view, in order."""
    rows = await conn.execute(
        text("SELECT actor, view, as_of, read_at FROM case_reads WHERE case_id = :c ORDER BY id"),
        {"c": case_id},
    )
    return [dict(r) for r in rows.mappings()]


async def due_for_notice(conn: AsyncConnection, today: date) -> list[UUID]:
    """Cases whose next deadline notice is due by ``today``, the most overdue first."""
    due = await conn.execute(
        text("SELECT case_id FROM cases WHERE next_notice <= :d ORDER BY next_notice"),
        {"d": today},
    )
    return list(due.scalars())
