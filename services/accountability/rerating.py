"""定期重评: every unit re-rated on a schedule, so inputs that leave the window move its level.

A rating only changes when something is noted on the unit's stream, and cases, alerts and
overdue items age out of the rating window without any event of their own. Re-rating
every unit as of now (``POST /v1/ratings/recompute`` by hand, this loop in the service
every ``rerate_interval_seconds``) records a ``RatingChanged`` for each unit whose level
moved, and nothing for the others, so running it often is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import uuid4

from sqlalchemy import text

from libs.events.contracts.accountability import RatingChanged
from libs.events.store import ConcurrencyError, EventStore, Metadata
from services.accountability.domain.rules import Rules, load_rules
from services.accountability.handlers import rerate

log = logging.getLogger(__name__)

ACTOR = "service:accountability-rerating"

_UNITS = """SELECT unit FROM unit_ratings UNION SELECT unit FROM case_facts
            WHERE unit IS NOT NULL UNION SELECT unit FROM overdue_facts
            WHERE unit IS NOT NULL ORDER BY 1"""


async def rerate_all(
    store: EventStore,
    now: datetime,
    meta: Metadata,
    rules: Rules | None = None,
) -> tuple[int, list[tuple[str, RatingChanged]]]:
    """Re-rate every unit the read models know as of ``now``: (units rated, changes).

    Each unit is re-rated in its own transaction. A unit whose stream moved meanwhile is
    skipped: whatever was appended to it carried its rating as of then.
    """
    r = rules or load_rules()
    async with store.engine.connect() as conn:
        units = list((await conn.execute(text(_UNITS))).scalars())
    changed: list[tuple[str, RatingChanged]] = []
    for unit in units:
        try:
            async with store.engine.begin() as conn:
                changed += [(unit, e) for e in await rerate(store, conn, unit, meta, now, r)]
        except ConcurrencyError:
            log.info("unit %s moved while being re-rated; its new events carry the rating", unit)
    return len(units), changed


async def run(
    store: EventStore,
    interval: float,
    stop: asyncio.Event,
    catch_up: Callable[[], Awaitable[object]] | None = None,
    rules: Rules | None = None,
) -> None:
    """Re-rate at start and then every ``interval`` seconds until ``stop``.

    ``catch_up`` brings the read models up to date first, so every unit is listed.
    """
    while not stop.is_set():
        try:
            if catch_up is not None:
                await catch_up()
            meta = Metadata(actor=ACTOR, correlation_id=str(uuid4()))
            rated, changed = await rerate_all(store, store.clock(), meta, rules)
            if changed:
                log.info("re-rated %d unit(s); %d level(s) moved", rated, len(changed))
        except Exception:
            log.exception("re-rating failed; will retry")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
