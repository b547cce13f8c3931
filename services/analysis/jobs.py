"""Analysis's scheduled work: the sweep of the rules over data that arrives as events.

12345 orders come from intake's events, not in batches, so no batch starts their rules;
the sweep re-runs those rules over the last ``days`` every ``interval`` seconds. Findings
already raised are not raised again, so a sweep only adds what is new.
"""

from __future__ import annotations

from datetime import timedelta

from libs.kit.jobs import Job
from services.analysis.engine import Engine

SWEPT_FEED = "hotline_orders"
"""The feed that arrives as events."""


def sweep(engine: Engine, interval: float, days: int) -> Job:
    """The rules that read 12345 orders, over the last ``days``, every ``interval`` s."""
    rules = [r.rule_id for r in engine.catalogue.values() if SWEPT_FEED in r.inputs]

    async def run() -> str:
        now = engine.clock()
        outcome = await engine.run(now - timedelta(days=days), now, rules)
        return f"raised {outcome.raised} alert(s)" if outcome.raised else ""

    return Job("rule-sweep", interval, run, at_start=False)
