"""Analysis's read models: the subject index."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.store import Recorded
from services.analysis.domain import SubjectNamedInClue


class SubjectIndexProjection:
    """Who is named in which clues."""

    name = "subject_index"
    tables: Sequence[str] = ("subject_index",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add the clue to its subject's row."""
        if recorded.envelope.type != SubjectNamedInClue.type_name:
            return
        e = recorded.event
        assert isinstance(e, SubjectNamedInClue)
        await conn.execute(
            text(
                """INSERT INTO subject_index (subject_key, name, unit, clue_ids, first_seen, last_seen)
                   VALUES (:k, :name, :unit, ARRAY[CAST(:clue AS uuid)], :at, :at)
                   ON CONFLICT (subject_key) DO UPDATE
                   SET clue_ids = subject_index.clue_ids || excluded.clue_ids,
                       last_seen = excluded.last_seen"""
            ),
            {
                "k": e.subject_key,
                "name": e.name,
                "unit": e.unit,
                "clue": e.clue_id,
                "at": recorded.envelope.time,
            },
        )
