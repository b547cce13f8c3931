"""Intake's read models: the transfers a partner can follow up."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.intake import ClueMerged, ClueProgressNoted, ClueReceived, ClueSplit
from libs.events.store import Recorded
from services.intake.domain.progress import SourceView, evolve


class TransfersProjection:
    """One row per transferred clue, with the status and outcome a partner may see."""

    name = "transfers"
    tables = ("transfers",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """A received clue starts as ``received``; casework's progress moves it on."""
        event = recorded.event
        if isinstance(event, ClueReceived):
            await conn.execute(
                text(
                    """INSERT INTO transfers (clue_id, clue_number, department, reference, status,
                                              categories, received_at, position, updated_at)
                       VALUES (:id, :no, :dept, :ref, 'received', :cats, :at, :pos, :at)
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
        elif isinstance(event, ClueMerged):
            # A repeat report (重复件) is listed under its own id and number, as merged.
            await conn.execute(
                text(
                    """INSERT INTO transfers (clue_id, clue_number, department, reference, status,
                                              categories, received_at, position, updated_at)
                       VALUES (:id, :no, :dept, :ref, 'merged', :cats, :at, :pos, :upd)
                       ON CONFLICT (clue_id) DO NOTHING"""
                ),
                {
                    "id": event.repeat_id,
                    "no": event.repeat_number,
                    "dept": event.source_department,
                    "ref": event.source_reference,
                    "cats": event.categories,
                    "at": event.received_at or event.merged_at,
                    "pos": recorded.checkpoint.position,
                    "upd": event.merged_at,
                },
            )
        elif isinstance(event, ClueSplit):
            await conn.execute(
                text(
                    """UPDATE transfers SET status = 'received', updated_at = :at
                       WHERE clue_id = :id AND status = 'merged'"""
                ),
                {"id": event.new_clue_id, "at": event.split_at},
            )
        elif isinstance(event, ClueProgressNoted):
            row = (
                await conn.execute(
                    text("SELECT status, outcome FROM transfers WHERE clue_id = :id FOR UPDATE"),
                    {"id": event.clue_id},
                )
            ).first()
            if row is None:
                return
            view = evolve(SourceView(status=row.status, outcome=row.outcome), event)
            await conn.execute(
                text(
                    """UPDATE transfers SET status = :st, outcome = :o, updated_at = :at
                       WHERE clue_id = :id"""
                ),
                {"st": view.status, "o": view.outcome, "at": view.updated_at, "id": event.clue_id},
            )
