"""Accountability's read models: unit index, responsibility lists, inquiries, ratings, statistics."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.accountability import ResponsibilityListPublished
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


class ResponsibilityListProjection:
    """责任清单: every published version, for listing (as-of answers read the store)."""

    name = "responsibility_lists"
    tables = ("responsibility_lists",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add a published list version."""
        e = (
            recorded.event
            if recorded.envelope.type == ResponsibilityListPublished.type_name
            else None
        )
        if not isinstance(e, ResponsibilityListPublished):
            return
        await conn.execute(
            text(
                """INSERT INTO responsibility_lists (list_id, unit, version, valid_from, valid_to, body)
                   VALUES (:id, :unit, :v, :f, :t, CAST(:b AS jsonb)) ON CONFLICT DO NOTHING"""
            ),
            {
                "id": e.list_id,
                "unit": e.unit,
                "v": recorded.version,
                "f": e.valid_from,
                "t": e.valid_to,
                "b": json.dumps(e.model_dump(mode="json"), ensure_ascii=False),
            },
        )
