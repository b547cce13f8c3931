"""Accountability's read models: the unit index."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.store import Recorded
from services.accountability.domain import UnitNamedInClue


class UnitIndexProjection:
    """Clues per unit, with their categories."""

    name = "unit_index"
    tables = ("unit_index",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add the clue to its unit's row."""
        if recorded.envelope.type != UnitNamedInClue.type_name:
            return
        e = recorded.event
        assert isinstance(e, UnitNamedInClue)
        await conn.execute(
            text(
                """INSERT INTO unit_index (unit_key, unit, clue_ids, categories, last_clue_at)
                   VALUES (:k, :unit, ARRAY[CAST(:clue AS uuid)], :cats, :at)
                   ON CONFLICT (unit_key) DO UPDATE
                   SET clue_ids = unit_index.clue_ids || excluded.clue_ids,
                       categories = ARRAY(SELECT DISTINCT unnest(unit_index.categories || excluded.categories)),
                       last_clue_at = excluded.last_clue_at"""
            ),
            {
                "k": e.unit_key,
                "unit": e.unit,
                "clue": e.clue_id,
                "cats": e.categories,
                "at": recorded.envelope.time,
            },
        )
