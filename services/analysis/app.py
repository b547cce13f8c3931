"""Analysis: data feeds, rules as versioned data, alerts, verification, subject index."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI

from libs.kit.auth import JwksFetcher
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings, settings_class
from services.analysis.api import routers
from services.analysis.engine import Engine
from services.analysis.handlers import make_handler
from services.analysis.projections import SubjectIndexProjection


class AnalysisSettings(ServiceSettings):
    """Analysis's own settings."""

    timezone: str = "Asia/Shanghai"
    """The county's time zone: holidays, working hours and months are local."""
    sweep_interval_seconds: float = 600.0
    """How often rules over data that arrives as events (12345 orders) re-run; 0 = never."""
    sweep_days: int = 62
    """How far back the sweep looks."""


Settings = settings_class("analysis", base=AnalysisSettings)
log = logging.getLogger(__name__)
SUBSCRIBES_TO = ("intake", "casework")
"""Whose events this service consumes."""


async def _start(app: FastAPI) -> None:
    rt = app.state.runtime
    settings = rt.settings
    engine = Engine(
        rt.engine,
        rt.store,
        timezone=getattr(settings, "timezone", "Asia/Shanghai"),
        clock=rt.store.clock,
    )
    await engine.ensure_defaults()
    app.state.rule_engine = engine
    interval = float(getattr(settings, "sweep_interval_seconds", 0))
    if interval > 0:
        rt.tasks.append(
            asyncio.create_task(
                sweep(engine, interval, int(getattr(settings, "sweep_days", 62)), rt.stop),
                name="rule-sweep",
            )
        )


async def sweep(engine: Engine, interval: float, days: int, stop: asyncio.Event) -> None:
    """Re-run the rules over feeds that also arrive as events (12345 orders), periodically.
    Findings already raised are not raised again, so this only adds what is new."""
    rules = [r.rule_id for r in engine.catalogue.values() if "hotline_orders" in r.inputs]
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        now = engine.clock()
        try:
            await engine.run(now - timedelta(days=days), now, rules)
        except Exception:
            log.exception("rule sweep failed; will retry")


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
) -> FastAPI:
    """The analysis app: feeds in, alerts out; consumes intake's clues and casework's cases.

    ``jwks_fetcher`` replaces fetching the JWKS over HTTP (tests, benches)."""
    return create_app(
        settings or Settings(),
        ServiceParts(
            title="Zhengfeng analysis (对比分析)",
            routers=routers,
            projections=[SubjectIndexProjection()],
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
            on_start=_start,
            jwks_fetcher=jwks_fetcher,
        ),
    )
