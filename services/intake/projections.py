"""Intake's read models: the transfers a partner can follow up."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.intake import ClueReceived
from libs.events.store import Recorded


class TransfersProjection:
    """One row per transferred clue, with the status a partner may see."""

    name = "transfers"
    tables = ("transfers",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Record a received clue as ``received``."""
        if recorded.envelope.type != ClueReceived.type_name:
            return
        event = recorded.event
        assert isinstance(event, ClueReceived)
        await conn.execute(
            text(
                """INSERT INTO transfers (clue_id, clue_number, department, reference, status,
                                          categories, received_at, position)
                   VALUES (:id, :no, :dept, :ref, 'received', :cats, :at, :pos)
                   ON CONFLICT (clue_id) DO NOTHING"""
            ),
            {
                "id": event.clue_id,
                "no": event.clue_number,
                "dept": event.source_department,
                "ref": event.source_reference,
                "cats": event.categories,
                "at": event.received_at,
                "pos": recorded.checkpoint.position,
            },
        )
