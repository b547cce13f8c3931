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


# --- 考核评价 and 民主评议 -------------------------------------------------------------------


async def appraisal_units(conn: AsyncConnection, period: str) -> list[str]:
    """Every unit an appraisal concerns: rated, named by a case or 整改 item, or surveyed."""
    found = await conn.execute(
        text(
            """SELECT unit FROM unit_ratings UNION SELECT unit FROM case_facts
               WHERE unit IS NOT NULL UNION SELECT unit FROM rectification_items
               UNION SELECT unit FROM surveys WHERE period = :p ORDER BY 1"""
        ),
        {"p": period},
    )
    return list(found.scalars())


async def unit_facts(conn: AsyncConnection, unit: str, period: Period) -> dict[str, Any]:
    """What the read models say of ``unit`` for ``period``: cases decided (major ones), its
    rating now, its 整改 items handed over by the period's end (done, overdue)."""
    row = (
        await conn.execute(
            text(
                """SELECT
                     (SELECT count(*) FROM case_facts WHERE unit = :u
                        AND decided_at >= :s AND decided_at < :e) AS cases,
                     (SELECT count(*) FROM case_facts WHERE unit = :u AND major
                        AND decided_at >= :s AND decided_at < :e) AS major_cases,
                     (SELECT level FROM unit_ratings WHERE unit = :u) AS rating,
                     (SELECT count(*) FROM rectification_items WHERE unit = :u
                        AND assigned_at < :e) AS rectification_total,
                     (SELECT count(*) FROM rectification_items WHERE unit = :u
                        AND assigned_at < :e AND status IN ('accepted', 'closed'))
                        AS rectification_done,
                     (SELECT count(*) FROM rectification_items WHERE unit = :u
                        AND assigned_at < :e AND status = 'in_progress' AND overdue)
                        AS rectification_overdue"""
            ),
            {"u": unit, "s": period.start, "e": period.end},
        )
    ).one()
    return dict(row._mapping)


async def surveys_of(conn: AsyncConnection, unit: str, period: str) -> list[dict[str, Any]]:
    """The 民主评议 surveys about ``unit`` for ``period``."""
    found = await conn.execute(
        text("SELECT * FROM surveys WHERE unit = :u AND period = :p ORDER BY published_at"),
        {"u": unit, "p": period},
    )
    return [dict(r) for r in found.mappings().all()]


async def survey_answers(conn: AsyncConnection, survey_id: UUID) -> list[dict[str, Any]]:
    """Every anonymous response to a survey (answers only)."""
    found = await conn.execute(
        text("SELECT answers FROM survey_answers WHERE survey_id = :id"), {"id": survey_id}
    )
    return [dict(a) for a in found.scalars()]


async def appraisals(conn: AsyncConnection, period: str) -> list[dict[str, Any]]:
    """A period's scores, lowest first."""
    found = await conn.execute(
        text("SELECT * FROM unit_appraisals WHERE period = :p ORDER BY score, unit"), {"p": period}
    )
    return [dict(r) for r in found.mappings().all()]


async def interviews(
    conn: AsyncConnection, status: str | None, unit: str | None
) -> list[dict[str, Any]]:
    """约谈 tasks, soonest due first (``status``: open / held)."""
    found = await conn.execute(
        text(
            """SELECT * FROM interview_tasks
               WHERE (CAST(:s AS text) IS NULL OR status = :s)
                 AND (CAST(:u AS text) IS NULL OR unit = :u)
               ORDER BY due_on, unit"""
        ),
        {"s": status, "u": unit},
    )
    return [dict(r) for r in found.mappings().all()]
