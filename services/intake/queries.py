"""Intake's reads of its tables and read models: uploads, the repeat index, the desk,
transfers, the handler ledger and the intake deadlines.

Every read SQL of the service's routes is here; routes and the service layer pass filter
objects, never SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.intake import AttachmentRef
from libs.kit.pagination import Keyset, fetch_page

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
