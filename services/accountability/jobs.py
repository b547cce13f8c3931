"""Accountability's scheduled work. 定期重评: every unit re-rated on a schedule, so inputs
that leave the rating window move its level (see ``service.ratings``); 整改 items past their
deadline and 建议书 not replied to in time noticed, once each; 定期分析: each
ended period's analysis report issued once (see ``service.analysis``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import uuid4
from zoneinfo import ZoneInfo

from libs.events.store import EventStore, Metadata
from libs.kit.jobs import Job
from libs.kit.service import Runtime
from services.accountability.service import Deps, rectification, suggestions
from services.accountability.service.analysis import issue_due
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


def rectification_overdue(
    store: EventStore, deps: Deps, today: Callable[[], date], interval: float
) -> Job:
    """整改逾期 as a job: each round notices the items (and 建议书 replies) past their
    deadline, once per item and round, also across a restart."""

    async def notices() -> str:
        day = today()
        n = await rectification.notice_overdue(store, deps, day)
        n += await suggestions.notice_late_replies(store, deps, day)
        return f"wrote {n} rectification overdue notice(s)" if n else ""

    return Job("rectification-overdue", interval, notices, catch_up=True)


def analysis(rt: Runtime, deps: Deps, interval: float) -> Job:
    """定期分析报告 as a job: at start and every ``interval`` s, the last ended month,
    quarter and half-year get their report if they have none (once, across restarts)."""

    async def issue() -> str:
        assert rt.pipeline is not None
        tz = ZoneInfo(deps.rules.reports.timezone)
        done = await issue_due(rt.pipeline, deps.analysis, rt.store.clock(), tz)
        return f"issued analysis report(s) {', '.join(done)}" if done else ""

    return Job("analysis-reports", interval, issue, catch_up=True)
