"""Intake's reads of its tables and read models: uploads, the repeat index, transfers, the
desk (信访室台账), the handler ledger (经手人记录) and the intake deadlines.

Every read SQL of the service's routes is here; routes and the service layer pass filter
objects, never SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.intake import AttachmentRef
from libs.kit.pagination import Keyset, decode_cursor, encode_cursor, fetch_page
from services.intake.domain.duplicates import DuplicateRules
from services.intake.domain.transfers import URGENCIES

TRANSFERS_BY_RECEIPT = Keyset(
    ("received_at", "clue_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


@dataclass(frozen=True)
class TransferFilter:
    """Which transfers: a department's own, by status."""

    department: str | None
    status: str | None = None


async def uploads(
    conn: AsyncConnection, uploader: str, hashes: Sequence[str]
) -> dict[str, AttachmentRef]:
    """The uploader's own files among ``hashes``, by hash."""
    rows = await conn.execute(
        text(
            """SELECT sha256, size, content_type, name FROM attachment_uploads
               WHERE uploader = :u AND sha256 = ANY(:h)"""
        ),
        {"u": uploader, "h": list(hashes)},
    )
    return {r.sha256: AttachmentRef(**r._mapping) for r in rows}


async def merged_into(conn: AsyncConnection, repeat_id: UUID) -> UUID | None:
    """The clue a repeat report is merged into, by the repeat index (``repeat_reports``)."""
    found = await conn.execute(
        text("SELECT clue_id FROM repeat_reports WHERE repeat_id = :r"), {"r": repeat_id}
    )
    clue_id = found.scalar()
    return None if clue_id is None else UUID(str(clue_id))


async def transfers(
    conn: AsyncConnection, where: TransferFilter, cursor: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """A page of a department's transfers, oldest first, and the next page's cursor."""
    return await fetch_page(
        conn,
        "SELECT * FROM transfers",
        keyset=TRANSFERS_BY_RECEIPT,
        where={"d": ("department = :d", where.department), "st": ("status = :st", where.status)},
        cursor=cursor,
        limit=limit,
    )


class DeskSort(StrEnum):
    """The order of the list; every one puts the newest first among equals."""

    newest = "newest"
    """Newest received first (default)."""
    priority = "priority"
    """Highest priority first: urgency and repeat reports, as the 重复件 rules weigh them."""
    repeat_count = "repeat_count"
    """The most repeat reports (重复件) first."""


_T = (datetime.fromisoformat, UUID)
DESK_ORDER = {
    DeskSort.newest: Keyset(
        ("received_at", "clue_id"), ("timestamptz", "uuid"), _T, descending=True
    ),
    DeskSort.priority: Keyset(
        ("priority_points", "received_at", "clue_id"),
        ("bigint", "timestamptz", "uuid"),
        (int, *_T),
        descending=True,
    ),
    DeskSort.repeat_count: Keyset(
        ("repeat_count", "received_at", "clue_id"),
        ("bigint", "timestamptz", "uuid"),
        (int, *_T),
        descending=True,
    ),
}


@dataclass(frozen=True)
class DeskFilter:
    """Which clues of the desk (信访室台账); every filter given must hold."""

    today: date
    """The calendar day that tells a due acknowledgement from an overdue one."""
    status: str | None = None
    source_kind: str | None = None
    department: str | None = None
    categories: list[str] | None = None
    """Any of these category codes."""
    unit: str | None = None
    received_from: datetime | None = None
    received_before: datetime | None = None
    min_repeat_count: int | None = None
    urgency: str | None = None
    jurisdiction: str | None = None
    acknowledgement: str | None = None
    """acknowledged / not_required / due / overdue (受理告知)."""


def _desk_select(rules: DuplicateRules) -> str:
    """The desk with each clue's priority points, by the 重复件 rules (data): urgency's
    points plus points per repeat report, as ``domain.duplicates.priority`` counts them."""
    # Only the known urgencies and integer points go into the SQL text.
    cases = " ".join(f"WHEN '{u}' THEN {int(rules.urgency_points.get(u, 0))}" for u in URGENCIES)
    points = f"(CASE urgency {cases} ELSE 0 END + {int(rules.points_per_repeat)} * repeat_count)"
    return f"SELECT * FROM (SELECT *, {points} AS priority_points FROM clue_desk) AS desk"


def _desk_where(where: DeskFilter) -> dict[str, tuple[str, Any]]:
    conditions: dict[str, tuple[str, Any]] = {
        "st": ("status = :st", where.status),
        "sk": ("source_kind = :sk", where.source_kind),
        "dept": ("source_department = :dept", where.department),
        "cats": ("categories && CAST(:cats AS text[])", where.categories),
        "unit": (":unit = ANY(units)", where.unit),
        "rf": ("received_at >= :rf", where.received_from),
        "rt": ("received_at < :rt", where.received_before),
        "mrc": ("repeat_count >= :mrc", where.min_repeat_count),
        "urg": ("urgency = :urg", where.urgency),
        "jur": ("jurisdiction = :jur", where.jurisdiction),
    }
    if where.acknowledgement is not None:
        conditions["ack"] = {
            "acknowledged": ("(acknowledged_at IS NOT NULL) = :ack", True),
            "not_required": ("(acknowledged_at IS NULL AND acknowledge_by IS NULL) = :ack", True),
            "due": ("acknowledged_at IS NULL AND acknowledge_by >= :ack", where.today),
            "overdue": ("acknowledged_at IS NULL AND acknowledge_by < :ack", where.today),
        }[where.acknowledgement]
    return conditions


async def desk(
    conn: AsyncConnection,
    where: DeskFilter,
    sort: DeskSort,
    rules: DuplicateRules,
    cursor: str | None,
    limit: int,
) -> tuple[list[RowMapping], str | None]:
    """A page of the desk in the order asked for, and the next page's cursor."""
    return await fetch_page(
        conn,
        _desk_select(rules),
        keyset=DESK_ORDER[sort],
        where=_desk_where(where),
        cursor=cursor,
        limit=limit,
    )


async def desk_clue_number(conn: AsyncConnection, clue_id: UUID) -> str | None:
    """The number of a clue on the desk, or ``None`` when it is not (yet) there."""
    found = await conn.execute(
        text("SELECT clue_number FROM clue_desk WHERE clue_id = :id"), {"id": clue_id}
    )
    number = found.scalar()
    return None if number is None else str(number)


_ACTOR_JOIN = """LEFT JOIN clients c ON c.kind || ':' || c.client_id = h.actor"""


async def handlers(conn: AsyncConnection, clue_id: UUID) -> list[RowMapping]:
    """Everyone who touched a clue, in the order they first did: name and department (from
    the token issuer's registry), first and last touch, how often, and their actions."""
    rows = await conn.execute(
        text(
            f"""SELECT h.actor, min(c.name) AS name, min(c.department) AS department,
                       min(h.at) AS first_at, max(h.at) AS last_at, count(*) AS touches,
                       min(h.position) AS first_position,
                       array_agg(h.action ORDER BY h.position) AS actions
                FROM clue_handlers h {_ACTOR_JOIN}
                WHERE h.clue_id = :id GROUP BY h.actor ORDER BY first_position"""
        ),
        {"id": clue_id},
    )
    return list(rows.mappings())


async def handler_entries(
    conn: AsyncConnection, clue_id: UUID, cursor: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """A page of a clue's handler ledger (经手人记录), in order, and the next page's cursor."""
    params: dict[str, Any] = {"id": clue_id, "lim": limit + 1}
    after = ""
    if cursor:
        position, event_id = decode_cursor(cursor, int, UUID)
        params.update(pos=position, ev=event_id)
        after = "AND (h.position, h.event_id) > (:pos, :ev)"
    found = await conn.execute(
        text(
            f"""SELECT h.*, c.name, c.department FROM clue_handlers h {_ACTOR_JOIN}
                WHERE h.clue_id = :id {after}
                ORDER BY h.position, h.event_id LIMIT :lim"""
        ),
        params,
    )
    rows = list(found.mappings().all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["position"], str(rows[-1]["event_id"]))


async def overdue_deadlines(conn: AsyncConnection) -> list[RowMapping]:
    """Intake's overdue limits still open, oldest first (what the supervisor chases)."""
    rows = await conn.execute(
        text(
            """SELECT clue_id, clue_number, kind, due, escalated_to FROM intake_deadlines
               WHERE open AND overdue_noticed ORDER BY due, clue_id LIMIT 500"""
        )
    )
    return list(rows.mappings())


async def due_for_notice(conn: AsyncConnection, today: date) -> list[UUID]:
    """Clues with an open intake limit passed before ``today`` and not yet noticed."""
    due = await conn.execute(
        text(
            """SELECT DISTINCT clue_id FROM intake_deadlines
               WHERE open AND NOT overdue_noticed AND due < :d"""
        ),
        {"d": today},
    )
    return list(due.scalars())
