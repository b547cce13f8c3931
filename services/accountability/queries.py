"""Accountability's reads of its read models.

Every read SQL of the service is here; routes, the service layer and jobs pass filter
objects, never SQL.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def case_decided(conn: AsyncConnection, case_id: UUID) -> bool:
    """Whether a decision of the case has reached accountability."""
    found = await conn.execute(
        text("SELECT 1 FROM case_facts WHERE case_id = :id AND decided_at IS NOT NULL"),
        {"id": case_id},
    )
    return found.first() is not None
