"""Accountability: responsibility lists, 一案双查 inquiries, 问责 measures, unit ratings, reports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import FastAPI

from libs.kit.auth import JwksFetcher
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings, settings_class
from services.accountability import rerating
from services.accountability.api import routers
from services.accountability.handlers import HANDLERS, make_handler
from services.accountability.projections import (
    InquiryProjection,
    RatingProjection,
    ResponsibilityListProjection,
    StatisticsProjection,
    UnitIndexProjection,
)


class AccountabilitySettings(ServiceSettings):
    """Accountability's own settings (``ZF_ACCOUNTABILITY_*``): the re-rating schedule."""

    run_rerating: bool = True
    rerate_interval_seconds: float = 3600.0
    """How often every unit is re-rated, so inputs that leave the window move its level."""


Settings = settings_class("accountability", base=AccountabilitySettings)
SUBSCRIBES_TO = HANDLERS.producers
"""Whose events this service consumes: the services whose events its handlers take."""


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
) -> FastAPI:
    """The accountability app: consumes intake's clues and casework's decisions."""
    s = settings or Settings()

    async def start_rerating(app: FastAPI) -> None:
        if not isinstance(s, AccountabilitySettings) or not s.run_rerating:
            return
        rt = app.state.runtime

        async def catch_up() -> None:
            if rt.projections is not None:
                await rt.projections.catch_up()

        rt.tasks.append(
            asyncio.create_task(
                rerating.run(rt.store, s.rerate_interval_seconds, rt.stop, catch_up=catch_up),
                name="rerating",
            )
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
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
            on_start=start_rerating,
            jwks_fetcher=jwks_fetcher,
        ),
    )
