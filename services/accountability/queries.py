"""Accountability's reads of its read models: the unit index, responsibility lists,
inquiries, ratings, the facts the reports count, and typical cases.

Every read SQL of the service is here; routes, the service layer and jobs pass filter
objects, never SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.kit.pagination import Keyset, fetch_page

Page = tuple[list[RowMapping], str | None]
"""A page of rows and the next page's cursor (``None`` on the last page)."""

UNITS_BY_KEY = Keyset(("unit_key",), ("text",), (str,))
INQUIRIES_BY_OPENING = Keyset(
    ("opened_at", "inquiry_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)
LISTS_BY_UNIT_VERSION = Keyset(("unit", "version"), ("text", "int"), (str, int))
RATINGS_BY_UNIT = Keyset(("unit",), ("text",), (str,))
TYPICAL_CASES_BY_PUBLICATION = Keyset(
    ("published_at", "publication_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


@dataclass(frozen=True)
class UnitFilter:
    """Which units of the unit index: by name."""

    unit: str | None = None


@dataclass(frozen=True)
class InquiryFilter:
    """Which inquiries: by unit, status (open / concluded) and trigger kind."""

    unit: str | None = None
    status: str | None = None
    trigger: str | None = None


@dataclass(frozen=True)
class ListFilter:
    """Which published list versions: by unit."""

    unit: str | None = None


@dataclass(frozen=True)
class RatingFilter:
    """Which units of the rating board: by level (red / yellow / green)."""

    level: str | None = None


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), e.g. a month in the reports' zone."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Days:
    """From ``first`` to ``last``, both days included."""

    first: date
    last: date


@dataclass(frozen=True)
class CaseScope:
    """The cases of a unit (and department, if given) whose misconduct falls in ``days``."""

    unit: str
    department: str | None
    days: Days


async def units(conn: AsyncConnection, where: UnitFilter, cursor: str | None, limit: int) -> Page:
    """A page of the unit index, in key order, with each unit's clue count."""
    return await fetch_page(
        conn,
        "SELECT *, cardinality(clue_ids) AS clue_count FROM unit_index",
        keyset=UNITS_BY_KEY,
        where={"unit": ("unit = :unit", where.unit)},
        cursor=cursor,
        limit=limit,
    )


async def inquiries(
    conn: AsyncConnection, where: InquiryFilter, cursor: str | None, limit: int
) -> Page:
    """A page of inquiries, oldest opened first."""
    return await fetch_page(
        conn,
        "SELECT * FROM inquiries",
        keyset=INQUIRIES_BY_OPENING,
        where={
            "unit": ("unit = :unit", where.unit),
            "st": ("status = :st", where.status),
            "tk": ("trigger_kind = :tk", where.trigger),
        },
        cursor=cursor,
        limit=limit,
    )


async def lists(conn: AsyncConnection, where: ListFilter, cursor: str | None, limit: int) -> Page:
    """A page of published list versions, by unit then version."""
    return await fetch_page(
        conn,
        "SELECT * FROM responsibility_lists",
        keyset=LISTS_BY_UNIT_VERSION,
        where={"unit": ("unit = :unit", where.unit)},
        cursor=cursor,
        limit=limit,
    )


async def ratings(
    conn: AsyncConnection, where: RatingFilter, cursor: str | None, limit: int
) -> Page:
    """A page of the rating board: each rated unit's last recorded level, by unit."""
    return await fetch_page(
        conn,
        "SELECT * FROM unit_ratings",
        keyset=RATINGS_BY_UNIT,
        where={"lv": ("level = :lv", where.level)},
        cursor=cursor,
        limit=limit,
    )


async def typical_cases(conn: AsyncConnection, cursor: str | None, limit: int) -> Page:
    """A page of published typical cases, oldest first."""
    return await fetch_page(
        conn,
        "SELECT * FROM typical_cases",
        keyset=TYPICAL_CASES_BY_PUBLICATION,
        where={},
        cursor=cursor,
        limit=limit,
    )


async def proposals_of(conn: AsyncConnection, command: str, status: str | None) -> list[RowMapping]:
    """The proposals of one command (the approval inbox's rows, e.g. 典型案例通报曝光's or
    建议书's), oldest first, each with its stream's version now: what a sign-off sends as
    If-Match (the matter itself has no version to read until the proposal takes effect)."""
    found = await conn.execute(
        text(
            """SELECT i.proposal_id, i.matter, i.proposer, i.status, i.step, i.round, i.role,
                   i.label, i.due_on, i.overdue, i.returned_reason, i.submitted_at,
                   s.version
               FROM approval_inbox i JOIN streams s ON s.stream_id = i.stream_id
               WHERE i.command = :command
                 AND (CAST(:status AS text) IS NULL OR i.status = :status)
               ORDER BY i.submitted_at, i.proposal_id"""
        ),
        {"command": command, "status": status},
    )
    return list(found.mappings())


async def case_decided(conn: AsyncConnection, case_id: UUID) -> bool:
    """Whether a decision of the case has reached accountability."""
    found = await conn.execute(
        text("SELECT 1 FROM case_facts WHERE case_id = :id AND decided_at IS NOT NULL"),
        {"id": case_id},
    )
    return found.first() is not None


async def rated_units(conn: AsyncConnection) -> list[str]:
    """Every unit a rating may concern: rated already, or named by a case, an overdue item
    or a clue (信访 and repeat reports count)."""
    found = await conn.execute(
        text(
            """SELECT unit FROM unit_ratings UNION SELECT unit FROM case_facts
               WHERE unit IS NOT NULL UNION SELECT unit FROM overdue_facts
               WHERE unit IS NOT NULL UNION SELECT unit FROM unit_index ORDER BY 1"""
        )
    )
    return list(found.scalars())


async def _rows(conn: AsyncConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(text(sql), params)).mappings().all()]


async def _count(conn: AsyncConnection, sql: str, **params: Any) -> int:
    return int((await conn.execute(text(sql), params)).scalar_one())


_DECIDED = "FROM case_facts WHERE decided_at >= :s AND decided_at < :e"


async def month_figures(conn: AsyncConnection, period: Period) -> dict[str, Any]:
    """What the monthly report counts in ``period``: cases decided (by category, rank, form
    and unit), 形态一 applied on clues, filed and closed, overdue items by kind, inquiries
    opened."""
    p = {"s": period.start, "e": period.end}
    return {
        "decided": await _count(conn, f"SELECT count(*) {_DECIDED}", **p),
        "new": await _count(
            conn, "SELECT count(*) FROM case_facts WHERE filed_at >= :s AND filed_at < :e", **p
        ),
        "closed": await _count(
            conn, "SELECT count(*) FROM case_facts WHERE closed_at >= :s AND closed_at < :e", **p
        ),
        "inquiries_opened": await _count(
            conn, "SELECT count(*) FROM inquiries WHERE opened_at >= :s AND opened_at < :e", **p
        ),
        "by_category": await _rows(
            conn,
            f"SELECT c AS code, count(*) AS count FROM (SELECT unnest(categories) AS c {_DECIDED})"
            " x GROUP BY c ORDER BY count(*) DESC, c",
            **p,
        ),
        "by_rank": await _rows(
            conn,
            f"SELECT coalesce(rank, '未注明') AS rank, count(*) AS count {_DECIDED}"
            " GROUP BY 1 ORDER BY count(*) DESC, 1",
            **p,
        ),
        # 四种形态: decided cases by their form, and 形态一 applied on clues (no case filed).
        "by_form": await _rows(
            conn,
            f"""SELECT form, count(*) AS count FROM (
                    SELECT form {_DECIDED} AND form IS NOT NULL
                    UNION ALL
                    SELECT 1 FROM first_form_facts WHERE applied_at >= :s AND applied_at < :e
                ) x GROUP BY form ORDER BY form""",
            **p,
        ),
        "decided_by_form": await _rows(
            conn, f"SELECT form, count(*) AS count {_DECIDED} GROUP BY form ORDER BY form", **p
        ),
        "first_form_on_clues": await _count(
            conn,
            "SELECT count(*) FROM first_form_facts WHERE applied_at >= :s AND applied_at < :e",
            **p,
        ),
        "by_unit": await _rows(
            conn,
            f"SELECT unit, count(*) AS count {_DECIDED} GROUP BY unit ORDER BY count(*) DESC, unit",
            **p,
        ),
        "overdue_by_kind": await _rows(
            conn,
            "SELECT item_kind, count(*) AS count FROM overdue_facts"
            " WHERE noticed_at >= :s AND noticed_at < :e GROUP BY item_kind ORDER BY item_kind",
            **p,
        ),
    }


async def lists_in_force(conn: AsyncConnection, days: Days) -> list[dict[str, Any]]:
    """Every published list version whose period overlaps ``days``, by unit then version."""
    return await _rows(
        conn,
        """SELECT unit, version, valid_from, valid_to, body FROM responsibility_lists
           WHERE valid_from <= :t AND (valid_to IS NULL OR valid_to >= :f)
           ORDER BY unit, version""",
        f=days.first,
        t=days.last,
    )


async def cases_in_scope(conn: AsyncConnection, scope: CaseScope) -> list[dict[str, Any]]:
    """The cases of a scope, by misconduct date then case number."""
    return await _rows(
        conn,
        """SELECT case_number, subject_name, department, categories, form,
                  misconduct_date, decided_at
           FROM case_facts WHERE unit = :u AND misconduct_date BETWEEN :s AND :e
             AND (CAST(:d AS text) IS NULL OR department = :d)
           ORDER BY misconduct_date, case_number""",
        u=scope.unit,
        s=scope.days.first,
        e=scope.days.last,
        d=scope.department,
    )


async def ratings_of(conn: AsyncConnection, units: list[str]) -> list[dict[str, Any]]:
    """The last recorded rating of each of ``units`` that has one."""
    return await _rows(conn, "SELECT * FROM unit_ratings WHERE unit = ANY(:u)", u=units)


async def reads_of(conn: AsyncConnection, inquiry_id: UUID) -> list[dict[str, Any]]:
    """Who read an inquiry's documents, when, which view, in order."""
    rows = await conn.execute(
        text("SELECT actor, view, read_at FROM inquiry_reads WHERE inquiry_id = :i ORDER BY id"),
        {"i": inquiry_id},
    )
    return [dict(r) for r in rows.mappings()]


# --- long-term mechanisms: analysis reports ------------------------------------------------

REPORTS_BY_PERIOD = Keyset(("first_day", "period"), ("date", "text"), (date.fromisoformat, str))


async def decided_in(conn: AsyncConnection, period: Period) -> list[dict[str, Any]]:
    """The cases decided in ``period``: categories, rank and measures (the 八项规定精神 table)."""
    return await _rows(
        conn, f"SELECT categories, rank, measures, form {_DECIDED} ORDER BY decided_at", s=period.start,
        e=period.end,
    )  # fmt: skip


async def analysis_reports(
    conn: AsyncConnection, kind: str | None, cursor: str | None, limit: int
) -> Page:
    """A page of issued analysis reports, by period (month, quarter, half-year together)."""
    return await fetch_page(
        conn,
        "SELECT period, kind, label, first_day, last_day, summary, issued_by, issued_at,"
        " document_id, number FROM analysis_reports",
        keyset=REPORTS_BY_PERIOD,
        where={"kind": ("kind = :kind", kind)},
        cursor=cursor,
        limit=limit,
    )
