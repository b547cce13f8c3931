"""Helpers the integration tests share: the in-process intake, a transfer body, polling.

The ``intake`` fixture (``tests/integration/conftest.py``) builds the ``Intake`` here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import pii
from libs.events.contracts.intake import ClueReceived, ReportedPerson
from libs.kit.issuer import Credentials, create_client
from services.intake import app as intake_app
from tests.conftest import Schemas


def transfer(reference: str = "SJ-2026-0042", **overrides: Any) -> dict[str, Any]:
    """A clue transfer body as a partner department sends it."""
    body: dict[str, Any] = {
        "reference": reference,
        "reported_persons": [{"name": "王五", "unit": "某县财政局", "post": "副局长"}],
        "categories": ["violation_gifts"],
        "narrative": "审计发现其在节日期间收受管理服务对象购物卡。",
    }
    body.update(overrides)
    return body


async def sealed_clue(
    engine: AsyncEngine,
    name: str,
    unit: str,
    *,
    categories: list[str] | None = None,
    narrative: str = "收受购物卡",
) -> ClueReceived:
    """A clue as intake records it since ClueReceived v3: the reported person's name sealed
    under their own key in the vault (reached through ``engine``), the event masked."""
    vault = pii.Vault.from_env(engine)
    await vault.ensure()
    clue_id, now = uuid4(), datetime.now(UTC)
    async with engine.begin() as conn:
        ref = await vault.person_for(conn, vault.blind_index("name_unit", name, unit), now)
        token = await vault.seal(conn, ref, name, context=str(clue_id), field="name")
    person = ReportedPerson(
        name=pii.mask_name(name), unit=unit, person_ref=ref, sealed={"name": token}
    )
    return ClueReceived(
        clue_id=clue_id,
        clue_number=f"XS-{clue_id.hex[:6]}",
        source_kind="hotline",
        reported_persons=[person],
        categories=categories or ["violation_gifts"],
        narrative=narrative,
        received_at=now,
    )


async def eventually(
    check: Callable[[], Awaitable[Any]], what: str, *, timeout: float = 10.0
) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)
    return result


@dataclass
class Intake:
    """A running intake app, a client for it, and an engine on its schema."""

    app: FastAPI
    http: httpx.AsyncClient
    engine: AsyncEngine

    async def partner(
        self, department: str = "audit", scopes: tuple[str, ...] = ("clue:transfer",)
    ) -> Credentials:
        return await create_client(
            self.engine,
            kind="partner",
            name=f"{department} bureau",
            department=department,
            scopes=list(scopes),
        )

    async def operator(self, *roles: str) -> Credentials:
        return await create_client(
            self.engine, kind="operator", name="张三", roles=list(roles) or ["clerk"]
        )

    async def token(self, client: Credentials, **form: str) -> str:
        response = await self.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                **form,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def bearer(self, client: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(client)}"}

    async def events(self) -> list[Any]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT type, stream_id, correlation_id, actor FROM events"
                    " ORDER BY global_position"
                )
            )
            return list(result.all())

    async def count(self, table: str) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


def intake_settings(database_url: str, schema: str) -> Any:
    return intake_app.Settings(
        database_url=database_url, db_schema=schema, kafka_bootstrap_servers=""
    )


async def migrated_schema(schemas: Schemas, service: str) -> tuple[AsyncEngine, str]:
    engine = await schemas.migrated(service)
    return engine, schemas.created[-1]


async def refused_as_too_large(http: httpx.AsyncClient, path: str, limit: int) -> None:
    """A body one byte over ``limit`` sent to ``path`` without a token, with and without a
    declared length: each is a 413 problem in Chinese (not a 401: before authentication)."""

    async def chunks() -> Any:
        for _ in range(limit // 4096 + 1):
            yield b" " * 4096

    declared = await http.post(
        path, content=b"{" + b" " * limit + b"}", headers={"Content-Type": "application/json"}
    )
    streamed = await http.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/too-large"
        assert problem["title"] == "提交的内容过大"
        assert f"不得超过 {limit} 字节" in problem["detail"]
    small = await http.post(path, content=b"{}", headers={"Content-Type": "application/json"})
    assert small.status_code == 401, small.text
