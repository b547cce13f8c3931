"""Accountability: 一案双查 and unit ratings. For now: the unit index of clues."""

from __future__ import annotations

from fastapi import FastAPI

from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings, settings_class
from services.accountability.api import router
from services.accountability.handlers import make_handler
from services.accountability.projections import UnitIndexProjection

Settings = settings_class("accountability")
SUBSCRIBES_TO = ("intake",)
"""Whose events this service consumes."""


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The accountability app: consumes intake's clues."""
    return create_app(
        settings or Settings(),
        ServiceParts(
            title="Zhengfeng accountability (一案双查)",
            routers=[router],
            projections=[UnitIndexProjection()],
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
        ),
    )
