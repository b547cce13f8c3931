"""Analysis: data feeds, rules as versioned data, alerts, verification, subject index."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from libs.events import taxonomy
from libs.events.projections import Projection
from libs.kit import workdays
from libs.kit.auth import JwksFetcher
from libs.kit.jobs import Job
from libs.kit.service import Runtime, ServiceParts, create_app
from libs.kit.settings import ServiceSettings
from services.analysis import jobs
from services.analysis.api import routers
from services.analysis.handlers import HANDLERS, make_handler
from services.analysis.projections import AlertBoardProjection, SubjectIndexProjection
from services.analysis.rules import CATALOGUE
from services.analysis.rules.base import load_defaults
from services.analysis.service import Deps
from services.analysis.settings import AnalysisSettings, Settings

SUBSCRIBES_TO = HANDLERS.producers
"""Whose events this service consumes: the services whose events its handlers take."""

__all__ = ["AnalysisSettings", "Settings", "create"]


def read_models(settings: ServiceSettings) -> list[Projection]:
    """Analysis's read models, as the service keeps them live and as a rebuild replays them."""
    return [SubjectIndexProjection(), AlertBoardProjection()]


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
) -> FastAPI:
    """The analysis app: feeds in, alerts out; consumes intake's clues and casework's cases.

    ``jwks_fetcher`` replaces fetching the JWKS over HTTP (tests, benches)."""
    s = settings or Settings()
    assert isinstance(s, AnalysisSettings)
    defaults, correlation = load_defaults()
    deps = Deps(
        catalogue=CATALOGUE,
        defaults=defaults,
        correlation=correlation,
        categories=taxonomy.load().accepted(),
        timezone=s.timezone,
        calendar=workdays.load(s.workday_overrides_file or None),
    )

    def scheduled(rt: Runtime) -> list[Job]:
        if s.sweep_interval_seconds <= 0:
            return []
        return [jobs.sweep(deps.rules, s.sweep_interval_seconds, s.sweep_days)]

    return create_app(
        s,
        ServiceParts(
            title="Zhengfeng analysis (对比分析)",
            routers=routers,
            projections=read_models(s),
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
            on_start=lambda app: deps.start(app.state.runtime),
            jobs=scheduled,
            deps=deps,
            jwks_fetcher=jwks_fetcher,
            body_limits=[("/v1/feeds/[^/]+/batches/[^/]+", s.feed_batch_max_bytes)],
        ),
    )
