"""An in-process analysis app on a fresh schema, and tokens it accepts."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analysis import app as analysis_app
from services.analysis.feeds.spec import FEEDS
from tests.conftest import Schemas

ALL_FEED_SCOPES = tuple(s.scope for s in FEEDS.values())


class Mint:
    """Signs tokens like the platform issuer does, with a key of its own."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [jwk]}

    def token(self, *, kind: str, roles: tuple[str, ...] = (), scopes: tuple[str, ...] = ()) -> str:
        now = int(time.time())
        claims = {
            "iss": "zhengfeng",
            "aud": "zhengfeng",
            "sub": f"{kind}-{uuid4().hex[:6]}",
            "iat": now,
            "exp": now + 3600,
            "kind": kind,
            "name": "测试",
            "roles": list(roles),
            "scope": " ".join(scopes),
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "test-key"})

    def bearer(self, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kw)}"}


@dataclass
class Analysis:
    """A running analysis app, a client, an engine on its schema, and tokens."""

    app: FastAPI
    http: httpx.AsyncClient
    engine: AsyncEngine
    mint: Mint

    @property
    def partner(self) -> dict[str, str]:
        return self.mint.bearer(kind="system", scopes=ALL_FEED_SCOPES)

    @property
    def analyst(self) -> dict[str, str]:
        return self.mint.bearer(kind="operator", roles=("analyst",))

    @property
    def investigator(self) -> dict[str, str]:
        return self.mint.bearer(kind="operator", roles=("investigator",))

    async def send(
        self,
        kind: str,
        body: bytes,
        *,
        batch_id: str | None = None,
        content_type: str = "application/x-ndjson",
        headers: dict[str, str] | None = None,
        expect: int | None = 201,
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/feeds/{kind}/batches/{batch_id or uuid4().hex}",
            content=body,
            headers={**self.partner, "Content-Type": content_type, **(headers or {})},
        )
        if expect is not None:
            assert response.status_code == expect, response.text
            assert response.json().get("rules_error") is None, response.text
        return dict(response.json())

    async def send_county(self, directory: Path, *, gzipped: bool = False) -> dict[str, Any]:
        manifest = json.loads((directory / "manifest.json").read_text())
        reports = {}
        for kind in manifest["order"]:
            body = (directory / f"{kind}.ndjson").read_bytes()
            headers = {}
            if gzipped:
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            reports[kind] = await self.send(kind, body, batch_id=f"{kind}-1", headers=headers)
        return reports

    async def alerts(self, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            q = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = await self.http.get("/v1/alerts", params=q, headers=self.analyst)
            assert page.status_code == 200, page.text
            out += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return out

    async def settle(self) -> None:
        """Let the projections catch up (the board shows what was recorded)."""
        await self.app.state.runtime.projections.catch_up()

    async def scalar(self, sql: str) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()


@asynccontextmanager
async def running(database_url: str, schemas: Schemas, **overrides: Any) -> AsyncIterator[Analysis]:
    engine = await schemas.migrated("analysis")
    schema = schemas.created[-1]
    mint = Mint()

    async def fetch() -> dict[str, Any]:
        return mint.jwks

    settings = analysis_app.Settings(
        database_url=database_url, db_schema=schema, kafka_bootstrap_servers="", **overrides
    )
    app = analysis_app.create(settings, jwks_fetcher=lambda app: fetch)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://analysis", timeout=120
        ) as http:
            yield Analysis(app, http, engine, mint)
