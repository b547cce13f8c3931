"""Accountability: responsibility lists, 一案双查 inquiries, 问责 measures, unit ratings, reports."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from libs.events import taxonomy
from libs.kit.auth import JwksFetcher
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings
from services.accountability import jobs
from services.accountability.api import routers
from services.accountability.domain.rules import load_rules
from services.accountability.handlers import HANDLERS, make_handler
from services.accountability.projections import (
    InquiryProjection,
    RatingProjection,
    ResponsibilityListProjection,
    StatisticsProjection,
    UnitIndexProjection,
)
from services.accountability.service import Deps
from services.accountability.service.documents import InquiryDocuments
from services.accountability.settings import AccountabilitySettings, Settings

SUBSCRIBES_TO = HANDLERS.producers
"""Whose events this service consumes: the services whose events its handlers take."""

__all__ = ["SUBSCRIBES_TO", "AccountabilitySettings", "Settings", "create"]


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
) -> FastAPI:
    """The accountability app: consumes intake's clues and casework's decisions."""
    s = settings or Settings()
    assert isinstance(s, AccountabilitySettings)
    deps = Deps(
        rules=load_rules(s.rules_file or None),
        taxonomy=taxonomy.load(),
        documents=InquiryDocuments.load(
            s.documents_dir, s.document_templates_dir, s.documents_file
        ),
    )
    return create_app(
        s,
        ServiceParts(
            title="Zhengfeng accountability (一案双查)",
            routers=routers,
            projections=[
                UnitIndexProjection(),
                ResponsibilityListProjection(),
                InquiryProjection(),
                RatingProjection(),
                StatisticsProjection(),
            ],
            make_handler=lambda store: make_handler(store, deps),
            subscribes_to=SUBSCRIBES_TO,
            shares=("documents",),
            jobs=lambda rt: (
                [jobs.rerating(rt.store, deps, s.rerate_interval_seconds)] if s.run_rerating else []
            ),
            deps=deps,
            jwks_fetcher=jwks_fetcher,
        ),
    )
