"""Intake's read models: the transfers a partner can follow up, the clerks' desk."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.intake import (
    ClueMerged,
    ClueProgressNoted,
    ClueReceived,
    ClueSplit,
    ReportAcknowledged,
    ReportedPerson,
    ReportReceived,
)
from libs.events.store import Recorded
from services.intake.domain.desk import URGENCY_RANKS, handler_entries
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


def _masked(persons: list[ReportedPerson]) -> str:
    # Masked names only: v1/v2 events still carry plain names, so mask again here.
    return json.dumps(
        [
            {
                "name": pii.mask_name(p.name),
                "unit": p.unit,
                "post": p.post,
                "rank": p.rank,
                "top_leader": p.top_leader,
                "key_minority": p.key_minority,
            }
            for p in persons
        ],
        ensure_ascii=False,
    )


_DESK_ROW = text(
    """INSERT INTO clue_desk (clue_id, clue_number, source_kind, source_department,
                              source_reference, categories, units, persons, urgency, urgency_rank,
                              received_at, status, status_updated_at, merged_into,
                              last_touched_at, position)
       VALUES (:id, :no, :kind, :dept, :ref, :cats, :units, CAST(:persons AS jsonb), :urg, :rank,
               :at, :status, :at, :into, :touched, :pos)
       ON CONFLICT (clue_id) DO UPDATE SET
           clue_number = excluded.clue_number, source_kind = excluded.source_kind,
           source_department = excluded.source_department,
           source_reference = excluded.source_reference, categories = excluded.categories,
           units = excluded.units, persons = excluded.persons, urgency = excluded.urgency,
           urgency_rank = excluded.urgency_rank, status = excluded.status,
           status_updated_at = excluded.status_updated_at, merged_into = excluded.merged_into,
           last_touched_at = GREATEST(clue_desk.last_touched_at, excluded.last_touched_at)"""
)
_HANDLER = text(
    """INSERT INTO clue_handlers (clue_id, event_id, position, action, actor, at, detail)
       VALUES (:clue, :event, :pos, :action, :actor, :at, CAST(:detail AS jsonb))
       ON CONFLICT DO NOTHING"""
)
_TOUCHED = text(
    "UPDATE clue_desk SET last_touched_at = GREATEST(last_touched_at, :at) WHERE clue_id = :id"
)


class ClueDeskProjection:
    """信访室台账: every clue intake holds, as clerks list and filter it, and the handler
    ledger of each (every person or system that touched it, in order)."""

    name = "clue_desk"
    tables = ("clue_desk", "clue_handlers")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Keep the clue's row and add the event's ledger entries."""
        event = recorded.event
        entries = handler_entries(event, recorded.envelope.actor, recorded.envelope.time)
        if isinstance(event, ClueReceived):
            # A repeat report split off into a clue of its own already has its history
            # (merged, split); its ClueReceived is not a second submission.
            split_off = (
                await conn.execute(
                    text(
                        """SELECT 1 FROM clue_handlers WHERE clue_id = :id
                           AND action IN ('merged_into', 'split_off') LIMIT 1"""
                    ),
                    {"id": event.clue_id},
                )
            ).first() is not None
            if split_off:
                entries = []
            await self._upsert(
                conn, recorded, event.clue_id, event.clue_number, event, status="received"
            )
        elif isinstance(event, ClueMerged):
            await conn.execute(
                text(
                    """UPDATE clue_desk SET repeat_count = :n,
                           last_touched_at = GREATEST(last_touched_at, :at)
                       WHERE clue_id = :id"""
                ),
                {"n": event.repeat_count, "at": event.merged_at, "id": event.clue_id},
            )
            # The repeat report is listed too, under its own id and number, as merged.
            await self._upsert(
                conn,
                recorded,
                event.repeat_id,
                getattr(event, "repeat_number", "") or "",
                event,
                status="merged",
                merged_into=event.clue_id,
            )
        elif isinstance(event, ClueSplit):
            await conn.execute(
                text(
                    """UPDATE clue_desk SET repeat_count = :n,
                           last_touched_at = GREATEST(last_touched_at, :at)
                       WHERE clue_id = :id"""
                ),
                {"n": event.repeat_count, "at": event.split_at, "id": event.clue_id},
            )
            await conn.execute(
                text(
                    """UPDATE clue_desk SET status = 'received', merged_into = NULL,
                           clue_number = :no, status_updated_at = :at
                       WHERE clue_id = :id AND status = 'merged'"""
                ),
                {"id": event.new_clue_id, "no": event.new_clue_number, "at": event.split_at},
            )
        elif isinstance(event, ClueProgressNoted):
            row = (
                await conn.execute(
                    text("SELECT status, outcome FROM clue_desk WHERE clue_id = :id FOR UPDATE"),
                    {"id": event.clue_id},
                )
            ).first()
            if row is not None:
                view = evolve(SourceView(status=row.status, outcome=row.outcome), event)
                await conn.execute(
                    text(
                        """UPDATE clue_desk SET status = :st, outcome = :o, status_updated_at = :at
                           WHERE clue_id = :id"""
                    ),
                    {
                        "st": view.status,
                        "o": view.outcome,
                        "at": view.updated_at,
                        "id": event.clue_id,
                    },
                )
        elif isinstance(event, ReportReceived):
            await conn.execute(
                text(
                    """UPDATE clue_desk SET anonymous = :anon, acknowledge_by = :by
                       WHERE clue_id = :id"""
                ),
                {"anon": event.anonymous, "by": event.acknowledge_by, "id": event.clue_id},
            )
        elif isinstance(event, ReportAcknowledged):
            await conn.execute(
                text(
                    """UPDATE clue_desk SET acknowledged_at = COALESCE(acknowledged_at, :at)
                       WHERE clue_id = :id"""
                ),
                {"at": event.acknowledged_at, "id": event.clue_id},
            )
        for entry in entries:
            await conn.execute(
                _HANDLER,
                {
                    "clue": entry.clue_id,
                    "event": recorded.envelope.id,
                    "pos": recorded.checkpoint.position,
                    "action": entry.action,
                    "actor": entry.actor,
                    "at": entry.at,
                    "detail": json.dumps(entry.detail, ensure_ascii=False, default=str),
                },
            )
            await conn.execute(_TOUCHED, {"at": entry.at, "id": entry.clue_id})

    async def _upsert(
        self,
        conn: AsyncConnection,
        recorded: Recorded,
        clue_id: Any,
        clue_number: str,
        event: ClueReceived | ClueMerged,
        *,
        status: str,
        merged_into: Any = None,
    ) -> None:
        persons: list[ReportedPerson] = list(getattr(event, "reported_persons", []) or [])
        categories: list[str] = list(getattr(event, "categories", []) or [])
        urgency: str = getattr(event, "urgency", "normal") or "normal"
        received_at = (
            event.received_at
            if isinstance(event, ClueReceived)
            else getattr(event, "received_at", None) or event.merged_at
        )
        await conn.execute(
            _DESK_ROW,
            {
                "id": clue_id,
                "no": clue_number,
                "kind": event.source_kind,
                "dept": event.source_department,
                "ref": event.source_reference,
                "cats": categories,
                "units": sorted({p.unit for p in persons}),
                "persons": _masked(persons),
                "urg": urgency,
                "rank": URGENCY_RANKS.get(urgency, 0),
                "at": received_at,
                "status": status,
                "into": merged_into,
                "touched": received_at,
                "pos": recorded.checkpoint.position,
            },
        )
