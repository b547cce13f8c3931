"""Accountability's scheduled work. 定期重评: every unit re-rated on a schedule, so inputs
that leave the rating window move its level (see ``service.ratings``)."""

from __future__ import annotations

from uuid import uuid4

from libs.events.store import EventStore, Metadata
from libs.kit.jobs import Job
from services.accountability.service import Deps
from services.accountability.service.ratings import rerate_all

ACTOR = "service:accountability-rerating"


def rerating(store: EventStore, deps: Deps, interval: float) -> Job:
    """Re-rating as a job: at start and every ``interval`` s, once the read models caught
    up (so every unit is listed)."""

    async def rerate() -> str:
        meta = Metadata(actor=ACTOR, correlation_id=str(uuid4()))
        rated, changed = await rerate_all(store, store.clock(), meta, deps)
        return f"re-rated {rated} unit(s); {len(changed)} level(s) moved" if changed else ""

    return Job("rerating", interval, rerate, catch_up=True)
