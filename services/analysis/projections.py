"""Analysis's read models: the subject index and the alert board."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.dispatch import ProjectionDispatch
from libs.events.store import Recorded
from services.analysis.domain import SubjectNamedInClue
from services.analysis.domain.alerts import Alert, alert_types, evolve

_SUBJECTS = ProjectionDispatch()


class SubjectIndexProjection:
    """Who is named in which clues."""

    name = "subject_index"
    tables: Sequence[str] = ("subject_index",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add the clue to its subject's row."""
        await _SUBJECTS.apply(conn, recorded)


@_SUBJECTS.on(SubjectNamedInClue)
async def _subject_named(e: SubjectNamedInClue, conn: AsyncConnection, recorded: Recorded) -> None:
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


_COLUMNS = [f.name for f in fields(Alert)]
_LOAD_ALERTS = text("SELECT * FROM alerts WHERE alert_id = ANY(CAST(:ids AS uuid[]))")
_UPSERT_ALERT = text(
    f"""INSERT INTO alerts ({", ".join(_COLUMNS)})
        VALUES ({", ".join(f"CAST(:{c} AS jsonb)" if c == "evidence" else f":{c}" for c in _COLUMNS)})
        ON CONFLICT (alert_id) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "alert_id")}"""
)


class AlertBoardProjection:
    """异常预警: every alert as it stands (level, escalation, finding, clue and case), folded
    from its stream by ``evolve``. The board's only writer: the rule engine, the
    verification route and the consumer record events."""

    name = "alerts"
    tables: Sequence[str] = ("alerts",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Fold one event of an alert's stream into its row."""
        await self.apply_batch(conn, [recorded])

    async def apply_batch(self, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
        """Fold a batch: each touched row is read once and written once."""
        types = alert_types()
        mine = [r for r in batch if r.envelope.type in types]
        if not mine:
            return
        ids = sorted({_alert_of(r) for r in mine})
        rows = (await conn.execute(_LOAD_ALERTS, {"ids": ids})).mappings()
        alerts: dict[str, Alert | None] = {str(r["alert_id"]): _alert(r) for r in rows}
        touched: set[str] = set()
        for recorded in mine:
            key = _alert_of(recorded)
            alert = alerts.get(key)
            if alert is not None and alert.stream_version >= recorded.version:
                continue  # applied already (the engine catches the board up too)
            alerts[key] = evolve(alert, recorded.event, recorded.version)
            touched.add(key)
        params = [_params(a) for k in sorted(touched) if (a := alerts[k]) is not None]
        if params:
            await conn.execute(_UPSERT_ALERT, params)


def _alert_of(recorded: Recorded) -> str:
    return str(UUID(recorded.stream_id.removeprefix("alert-")))


def _alert(row: Any) -> Alert:
    values = dict(row)
    if isinstance(values["evidence"], str):
        values["evidence"] = json.loads(values["evidence"])
    return Alert(**values)


def _params(alert: Alert) -> dict[str, Any]:
    values = asdict(alert)
    values["evidence"] = json.dumps(alert.evidence, ensure_ascii=False)
    return values
