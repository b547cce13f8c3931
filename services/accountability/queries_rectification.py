"""Reads of the 整改台账 and 纪检监察建议书 read models: per unit, by status, overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.kit.pagination import Keyset, fetch_page
from services.accountability.queries import Page

BY_OPENING = Keyset(
    ("opened_at", "list_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)
ITEMS_BY_DEADLINE = Keyset(("deadline", "item_id"), ("date", "uuid"), (date.fromisoformat, UUID))
SUGGESTIONS_BY_ISSUE = Keyset(
    ("issued_at", "suggestion_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


@dataclass(frozen=True)
class RectificationFilter:
    """Which lists: by unit and source kind."""

    unit: str | None = None
    source_kind: str | None = None


@dataclass(frozen=True)
class ItemFilter:
    """Which items: by unit, list, status, overdue, 立行立改, 回头看 due by a day."""

    unit: str | None = None
    list_id: UUID | None = None
    status: str | None = None
    overdue: bool | None = None
    immediate: bool | None = None
    review_due_by: date | None = None


@dataclass(frozen=True)
class SuggestionFilter:
    """Which 建议书: by unit and status (awaiting_reply / replied)."""

    unit: str | None = None
    status: str | None = None


_PROGRESS = """SELECT l.*,
       count(i.item_id) AS items,
       count(i.item_id) FILTER (WHERE i.status = 'closed') AS closed,
       count(i.item_id) FILTER (WHERE i.status = 'in_progress' AND i.overdue) AS overdue
     FROM rectification_lists l LEFT JOIN rectification_items i USING (list_id)"""


async def lists(
    conn: AsyncConnection, where: RectificationFilter, cursor: str | None, limit: int
) -> Page:
    """A page of problem lists with their progress, oldest first."""
    return await fetch_page(
        conn,
        f"SELECT * FROM ({_PROGRESS} GROUP BY l.list_id) AS lists",
        keyset=BY_OPENING,
        where={
            "unit": ("unit = :unit", where.unit),
            "sk": ("source_kind = :sk", where.source_kind),
        },
        cursor=cursor,
        limit=limit,
    )


async def items(conn: AsyncConnection, where: ItemFilter, cursor: str | None, limit: int) -> Page:
    """A page of items, soonest deadline first."""
    overdue = None if where.overdue is None else where.overdue
    return await fetch_page(
        conn,
        "SELECT * FROM rectification_items",
        keyset=ITEMS_BY_DEADLINE,
        where={
            "unit": ("unit = :unit", where.unit),
            "list": ("list_id = :list", where.list_id),
            "st": ("status = :st", where.status),
            "od": ("(status = 'in_progress' AND overdue) = :od", overdue),
            "imm": ("immediate = :imm", where.immediate),
            "rd": ("status = 'accepted' AND review_due <= :rd", where.review_due_by),
        },
        cursor=cursor,
        limit=limit,
    )


async def suggestions(
    conn: AsyncConnection, where: SuggestionFilter, cursor: str | None, limit: int
) -> Page:
    """A page of 纪检监察建议书, oldest first."""
    return await fetch_page(
        conn,
        "SELECT * FROM suggestions",
        keyset=SUGGESTIONS_BY_ISSUE,
        where={
            "unit": ("unit = :unit", where.unit),
            "st": ("status = :st", where.status),
        },
        cursor=cursor,
        limit=limit,
    )


async def unit_progress(conn: AsyncConnection, unit: str) -> dict[str, Any]:
    """A unit's rectification in figures: items by status, overdue, reopened."""
    row = (
        await conn.execute(
            text(
                """SELECT count(*) AS total,
                       count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                       count(*) FILTER (WHERE status = 'completed') AS completed,
                       count(*) FILTER (WHERE status = 'accepted') AS accepted,
                       count(*) FILTER (WHERE status = 'closed') AS closed,
                       count(*) FILTER (WHERE status = 'in_progress' AND overdue) AS overdue,
                       count(*) FILTER (WHERE round > 1) AS reopened
                   FROM rectification_items WHERE unit = :unit"""
            ),
            {"unit": unit},
        )
    ).one()
    return dict(row._mapping)


async def suggestions_awaiting(conn: AsyncConnection, today: date) -> list[UUID]:
    """建议书 whose reply is late and not yet noticed."""
    rows = await conn.execute(
        text(
            """SELECT suggestion_id FROM suggestions
               WHERE status = 'awaiting_reply' AND NOT overdue AND reply_due < :today"""
        ),
        {"today": today},
    )
    return [r[0] for r in rows]


async def items_past_deadline(conn: AsyncConnection, today: date) -> list[tuple[UUID, UUID]]:
    """Unfinished items past their deadline not yet noticed: (list, item)."""
    rows = await conn.execute(
        text(
            """SELECT list_id, item_id FROM rectification_items
               WHERE status = 'in_progress' AND NOT overdue AND deadline < :today"""
        ),
        {"today": today},
    )
    return [(r[0], r[1]) for r in rows]


async def reports_past_due(conn: AsyncConnection, today: date) -> list[UUID]:
    """Lists whose 双报告 day passed with a report owed, not yet noticed."""
    rows = await conn.execute(
        text(
            """SELECT list_id FROM rectification_lists
               WHERE report_due < :today AND NOT report_overdue
                 AND NOT (reports_to <@ reported_to)"""
        ),
        {"today": today},
    )
    return [r[0] for r in rows]
