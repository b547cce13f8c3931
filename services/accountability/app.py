"""Accountability: responsibility lists, 一案双查 inquiries, 问责 measures, unit ratings, reports."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from libs.kit.auth import JwksFetcher
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings, settings_class
from services.accountability.api import routers
from services.accountability.handlers import make_handler
from services.accountability.projections import (
    InquiryProjection,
    RatingProjection,
    ResponsibilityListProjection,
    StatisticsProjection,
    UnitIndexProjection,
)

Settings = settings_class("accountability")
SUBSCRIBES_TO = ("intake", "casework", "analysis")
"""Whose events this service consumes."""


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
) -> FastAPI:
    """The accountability app: consumes intake's clues and casework's decisions."""
    return create_app(
        settings or Settings(),
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
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
            jwks_fetcher=jwks_fetcher,
        ),
    )
