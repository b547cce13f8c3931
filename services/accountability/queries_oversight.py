"""Reads for the long-term mechanisms (长效机制): rectification progress for the analysis
reports, 考核评价 scores and 约谈 tasks, 民主评议 surveys, 廉政档案 facts and replies."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.accountability.queries import Period


async def rectification_progress(conn: AsyncConnection, period: Period) -> dict[str, Any]:
    """整改 items handed over by the end of ``period``, as they stand: by status, overdue,
    reopened by a 回头看, and how many were handed over in the period."""
    row = (
        await conn.execute(
            text(
                """SELECT count(*) AS total,
                       count(*) FILTER (WHERE assigned_at >= :s) AS assigned,
                       count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                       count(*) FILTER (WHERE status = 'completed') AS completed,
                       count(*) FILTER (WHERE status = 'accepted') AS accepted,
                       count(*) FILTER (WHERE status = 'closed') AS closed,
                       count(*) FILTER (WHERE status = 'in_progress' AND overdue) AS overdue,
                       count(*) FILTER (WHERE round > 1) AS reopened
                   FROM rectification_items WHERE assigned_at < :e"""
            ),
            {"s": period.start, "e": period.end},
        )
    ).one()
    return {k: int(v) for k, v in row._mapping.items()}


async def integrity_facts(conn: AsyncConnection, refs: list[UUID]) -> list[dict[str, Any]]:
    """Every fact noted about the cadre known by these pseudonyms, oldest first."""
    found = await conn.execute(
        text(
            """SELECT kind, at, case_id, case_number, form, measures, categories, detail
               FROM integrity_facts WHERE person_ref = ANY(:refs) ORDER BY at, fact_id"""
        ),
        {"refs": refs},
    )
    return [dict(r) for r in found.mappings().all()]


async def integrity_replies(conn: AsyncConnection, refs: list[UUID]) -> list[dict[str, Any]]:
    """The replies given about the cadre known by these pseudonyms, newest first."""
    found = await conn.execute(
        text(
            """SELECT reply_id, requested_by, purpose, conclusion, issued_at
               FROM integrity_replies WHERE person_ref = ANY(:refs) ORDER BY issued_at DESC"""
        ),
        {"refs": refs},
    )
    return [dict(r) for r in found.mappings().all()]
