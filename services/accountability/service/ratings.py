"""红黄绿 ratings: a unit's rating as of now, and re-rating every unit.

A rating only changes when something is noted on the unit's stream, and cases, alerts and
overdue items age out of the rating window without any event of their own. Re-rating
every unit as of now (``POST /v1/ratings/recompute`` by hand, the re-rating job on a
schedule) records a ``RatingChanged`` for each unit whose level moved, and nothing for the
others, so running it often is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts import Event
from libs.events.contracts.accountability import RatingChanged
from libs.events.store import ConcurrencyError, EventStore, Metadata
from libs.kit.refusal import Refused
from services.accountability import queries
from services.accountability.domain import unit_key, unit_stream
from services.accountability.domain.rating import Rating, rate, rating_change
from services.accountability.service import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnitRating:
    """A unit's rating computed as of ``as_of`` and the events of its stream."""

    rating: Rating
    as_of: datetime
    events: list[Event]

    @property
    def changes(self) -> list[RatingChanged]:
        """Every rating change recorded on the unit, in order."""
        return [e for e in self.events if isinstance(e, RatingChanged)]


async def unit_rating(store: EventStore, unit: str, deps: Deps) -> UnitRating:
    """The unit's rating as of now (inputs age out of the window), from its stream."""
    history = await store.read_stream(unit_stream(unit_key(unit)))
    if not history:
        raise Refused(
            "unknown-unit",
            f"本系统没有单位「{unit}」的任何线索、案件或预警，无法评定红黄绿等级。请核对单位全称。",
            kind="missing",
            field="unit",
            title="未知单位",
            reason="没有该单位的记录",
        )
    events = [r.event for r in history]
    now = store.clock()
    return UnitRating(rate(events, now, deps.rules.rating, deps.taxonomy.label), now, events)


async def rerate(
    store: EventStore, conn: AsyncConnection, unit: str, meta: Metadata, now: datetime, deps: Deps
) -> list[RatingChanged]:
    """Record a unit's rating change as of ``now`` (inputs age out of the window)."""
    stream = unit_stream(unit_key(unit))
    history = [r.event for r in await store.read_stream(stream, conn=conn)]
    rules = deps.rules
    changes = rating_change(unit, history, now, rules.rating, rules.version, deps.taxonomy.label)
    await store.append(stream, changes, expected_version=len(history), meta=meta, conn=conn)
    return changes


async def rerate_all(
    store: EventStore, now: datetime, meta: Metadata, deps: Deps
) -> tuple[int, list[tuple[str, RatingChanged]]]:
    """Re-rate every unit the read models know as of ``now``: (units rated, changes).

    Each unit is re-rated in its own transaction. A unit whose stream moved meanwhile is
    skipped: whatever was appended to it carried its rating as of then.
    """
    async with store.engine.connect() as conn:
        units = await queries.rated_units(conn)
    changed: list[tuple[str, RatingChanged]] = []
    for unit in units:
        try:
            async with store.transaction() as conn:
                changed += [(unit, e) for e in await rerate(store, conn, unit, meta, now, deps)]
        except ConcurrencyError:
            log.info("unit %s moved while being re-rated; its new events carry the rating", unit)
    return len(units), changed
