"""Intake in this process on a fresh schema, with attachments in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.intake import app as intake_app
from services.intake.domain import check_character
from tests.conftest import Schemas, unique
from tests.integration.fixtures import Intake


def resident_id(body: str = "32010219800101123") -> str:
    """A valid 18-digit resident ID number with this 17-digit body."""
    return body + check_character(body)


def transfer(reference: str = "SJ-2026-0042", **overrides: Any) -> dict[str, Any]:
    """A full clue transfer as a partner department sends it."""
    body: dict[str, Any] = {
        "reference": reference,
        "reported_persons": [
            {
                "name": "王五",
                "id_number": resident_id(),
                "unit": "某县财政局",
                "post": "局长",
                "rank": "正科级",
                "top_leader": True,
                "key_minority": True,
            }
        ],
        "categories": ["violation_gifts"],
        "narrative": "审计发现其在节日期间收受管理服务对象购物卡。",
        "urgency": "urgent",
        "occurred_from": "2026-01-20",
        "occurred_to": "2026-02-10",
        "place": "某县",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def intake(database_url: str, schemas: Schemas, tmp_path: Path) -> AsyncIterator[Intake]:
    engine = await schemas.migrated("intake")
    vault_schema = unique("t_pii")
    settings = intake_app.Settings(
        database_url=database_url,
        db_schema=schemas.created[-1],
        pii_vault_schema=vault_schema,
        kafka_bootstrap_servers="",
        attachments_dir=tmp_path / "attachments",
        attachment_max_bytes=64 * 1024,
        max_body_bytes=32 * 1024,
    )
    schemas.created.append(vault_schema)  # dropped with the others after the test
    app = intake_app.create(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(app, http, engine)
