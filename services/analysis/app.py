"""Analysis: data feeds, rules and alerts. For now: the subject index of clues."""

from __future__ import annotations

from fastapi import FastAPI

from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings, settings_class
from services.analysis.api import router
from services.analysis.handlers import make_handler
from services.analysis.projections import SubjectIndexProjection

Settings = settings_class("analysis")
SUBSCRIBES_TO = ("intake",)
"""Whose events this service consumes."""


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The analysis app: consumes intake's clues."""
    return create_app(
        settings or Settings(),
        ServiceParts(
            title="Zhengfeng analysis (对比分析)",
            routers=[router],
            projections=[SubjectIndexProjection()],
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
        ),
    )
