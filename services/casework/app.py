"""Casework: clue disposal and the case lifecycle. For now: the clue ledger."""

from __future__ import annotations

from fastapi import FastAPI

from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings, settings_class
from services.casework.api import router
from services.casework.handlers import make_handler
from services.casework.projections import ClueLedgerProjection

Settings = settings_class("casework")
SUBSCRIBES_TO = ("intake",)
"""Whose events this service consumes."""


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The casework app: consumes intake's clues into the ledger."""
    return create_app(
        settings or Settings(),
        ServiceParts(
            title="Zhengfeng casework (案件管理)",
            routers=[router],
            projections=[ClueLedgerProjection()],
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
        ),
    )
