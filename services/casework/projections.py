"""Casework's read models: the clue ledger."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.store import Recorded
from services.casework.domain import ClueRegistered


class ClueLedgerProjection:
    """线索台账: one row per clue with its current status."""

    name = "clue_ledger"
    tables = ("clue_ledger",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add registered clues to the ledger."""
        if recorded.envelope.type != ClueRegistered.type_name:
            return
        e = recorded.event
        assert isinstance(e, ClueRegistered)
        await conn.execute(
            text(
                """INSERT INTO clue_ledger (clue_id, clue_number, status, source_kind, source_department,
                       source_reference, reported_persons, categories, narrative, received_at,
                       registered_at, version)
                   VALUES (:id, :no, :st, :sk, :sd, :sr, CAST(:rp AS jsonb), :cats, :nar, :rcv, :reg, :v)
                   ON CONFLICT (clue_id) DO NOTHING"""
            ),
            {
                "id": e.clue_id,
                "no": e.clue_number,
                "st": e.status,
                "sk": e.source_kind,
                "sd": e.source_department,
                "sr": e.source_reference,
                "rp": json.dumps(
                    [p.model_dump(mode="json") for p in e.reported_persons], ensure_ascii=False
                ),
                "cats": e.categories,
                "nar": e.narrative,
                "rcv": e.received_at,
                "reg": recorded.envelope.time,
                "v": recorded.version,
            },
        )
