"""Analysis: data feeds, rules as versioned data, alerts, verification, subject index."""

from __future__ import annotations

from collections.abc import Callable

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


Settings = settings_class("analysis", base=AnalysisSettings)
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
