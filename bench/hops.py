"""Where a transfer's time goes on its way to casework's ledger, hop by hop, from
timestamps each part already keeps (same machine, same clock):

POST sent (bench) → intake's append (``events.recorded_at``) → 201 (bench) → published by
intake's relay (the Kafka record's timestamp) → casework's consumer begins the handler's
transaction (``inbox.received_at`` = its start) → the handler's append
(``events.recorded_at`` of ``clue_registered``) → visible in the ledger (bench, polled
every 10 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.kafka import read_whole_topic


@dataclass
class Times:
    """What the bench itself saw of one transfer (wall clock, seconds)."""

    sent: float
    accepted: float
    seen: float | None = None


HOPS = (
    ("POST → intake's append", "sent", "appended"),
    ("intake's append → 201 answered", "appended", "accepted"),
    ("201 → published by intake's relay", "accepted", "published"),
    ("published → casework's handler starts", "published", "handling"),
    ("casework's handler (its work, up to its append)", "handling", "handled"),
    ("casework's append → visible in its ledger", "handled", "seen"),
    ("total: 201 → visible in casework's ledger", "accepted", "seen"),
)

_INTAKE = text(
    """SELECT substr(stream_id, 6) AS clue, event_id::text AS id,
              extract(epoch FROM recorded_at) AS at
       FROM events WHERE type = 'zhengfeng.intake.clue_received'
         AND stream_id = ANY(CAST(:streams AS text[]))"""
)
_HANDLING = text(
    """SELECT event_id::text AS id, extract(epoch FROM received_at) AS at
       FROM inbox WHERE event_id = ANY(CAST(:ids AS uuid[]))"""
)
_HANDLED = text(
    """SELECT causation_id AS id, min(extract(epoch FROM recorded_at)) AS at
       FROM events WHERE type = 'zhengfeng.casework.clue_registered'
         AND causation_id = ANY(CAST(:ids AS text[])) GROUP BY causation_id"""
)


async def _rows(engine: AsyncEngine, sql: Any, **params: Any) -> list[Any]:
    async with engine.connect() as c:
        return list((await c.execute(sql, params)).mappings())


async def measure(
    times: dict[str, Times],
    intake: AsyncEngine,
    casework: AsyncEngine,
    bootstrap: str,
    intake_topic: str,
) -> list[dict[str, Any]]:
    """p50/p99 ms of each hop over the transfers in ``times`` (clue id → what the bench saw)."""
    clues = list(times)
    appended = await _rows(intake, _INTAKE, streams=[f"clue-{c}" for c in clues])
    event_of = {r["clue"]: r["id"] for r in appended}
    ids = list(event_of.values())
    at: dict[str, dict[str, float]] = {c: {} for c in clues}
    for r in appended:
        at[r["clue"]]["appended"] = float(r["at"])
    clue_of = {e: c for c, e in event_of.items()}
    for r in await _rows(casework, _HANDLING, ids=ids):
        at[clue_of[r["id"]]]["handling"] = float(r["at"])
    for r in await _rows(casework, _HANDLED, ids=ids):
        at[clue_of[r["id"]]]["handled"] = float(r["at"])
    for record in await read_whole_topic(bootstrap, intake_topic):
        headers = {k: v for k, v in record.headers}
        clue = clue_of.get(headers.get("ce_id", b"").decode())
        if clue is not None and "published" not in at[clue]:
            at[clue]["published"] = record.timestamp / 1000
    for clue, t in times.items():
        at[clue]["sent"], at[clue]["accepted"] = t.sent, t.accepted
        if t.seen is not None:
            at[clue]["seen"] = t.seen
    out = []
    for label, start, end in HOPS:
        spans = [(a[end] - a[start]) * 1000 for a in at.values() if start in a and end in a]
        out.append(
            {"hop": label, "n": len(spans), "p50": _pct(spans, 0.5), "p99": _pct(spans, 0.99)}
        )
    return out


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
