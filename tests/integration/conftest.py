"""Fixtures the integration tests share: the intake app in-process on a fresh schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake import app as intake_app
from tests.conftest import Schemas
from tests.integration.fixtures import Intake, intake_settings, migrated_schema


@pytest.fixture
async def intake(database_url: str, schemas: Schemas) -> AsyncIterator[Intake]:
    engine, schema = await migrated_schema(schemas, "intake")
    app = intake_app.create(intake_settings(database_url, schema))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(app, http, engine)
