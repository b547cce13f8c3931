"""The accountability app in-process on a real PostgreSQL, with tokens it trusts.

Tokens are signed by a key made for the test run and served to the app as its JWKS,
the way a real identity provider would be; no broker unless a test asks for one.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.store import EventStore
from services.accountability import app as accountability_app
from services.accountability.service import Deps
from tests.conftest import Schemas
from tests.integration.fixtures import eventually as poll_until

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "accountability-test"


def jwks() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def token(*roles: str, sub: str = "officer-1", name: str = "李明") -> str:
    now = int(time.time())
    claims = {
        "sub": sub,
        "kind": "operator",
        "name": name,
        "roles": list(roles),
        "iss": "zhengfeng",
        "aud": "zhengfeng",
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID})


def auth(*roles: str, sub: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, sub=sub or '-'.join(roles))}"}


OFFICER = auth("accountability")
LEADER = auth("leader")
REVIEWER = auth("reviewer")
DIRECTOR = auth("director")
SECRETARY = auth("secretary")
SIGNERS = {"director": DIRECTOR, "leader": LEADER, "secretary": SECRETARY}
"""Who signs each role's step of an approval chain in these tests."""


async def signed(http: httpx.AsyncClient, proposed: httpx.Response) -> httpx.Response:
    """A proposal (a 202) signed through its chain, the 常委会 agreeing: the effect's answer
    (or the answer itself when it was no proposal)."""
    answer = proposed
    while answer.status_code == 202 or "proposal_id" in answer.json():
        p = answer.json()
        step, action = p["current_step"], "approve"
        body: dict[str, Any] = {"opinion": "agree", "comment": "同意"}
        if step["kind"] == "meeting":
            action = "meeting"
            body = {"session": "2026年第5次", "held_on": "2026-09-01",
                    "attendees": ["operator:secretary", "operator:leader"], "conclusion": "agree"}  # fmt: skip
        answer = await http.post(
            f"{p['location']}/{action}",
            json=body,
            headers={**SIGNERS[step["role"]], "If-Match": f'"{p["version"]}"'},
        )
        assert answer.status_code in (200, 201), answer.text  # 201: it took effect, created
    return answer


eventually = partial(poll_until, timeout=30.0)
"""The integration tests' poll, with room for accountability's projections to catch up."""


@dataclass
class Accountability:
    app: FastAPI
    http: httpx.AsyncClient
    engine: AsyncEngine
    schema: str

    @property
    def store(self) -> EventStore:
        store: EventStore = self.app.state.runtime.store
        return store

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps


async def _jwks() -> dict[str, Any]:
    return jwks()


async def start(
    database_url: str, schemas: Schemas, **settings: Any
) -> tuple[FastAPI, AsyncEngine, str]:
    engine = await schemas.migrated("accountability")
    schema = schemas.created[-1]
    settings.setdefault("documents_dir", Path(tempfile.mkdtemp(prefix="zf-acc-documents-")))
    app = accountability_app.create(
        accountability_app.Settings(
            database_url=database_url,
            db_schema=schema,
            **{
                "kafka_bootstrap_servers": "",
                "run_scheduler": False,
                "run_analysis": False,
                **settings,
            },
        ),
        jwks_fetcher=lambda app: _jwks,
    )
    return app, engine, schema


@pytest.fixture
async def acc(database_url: str, schemas: Schemas) -> AsyncIterator[Accountability]:
    app, engine, schema = await start(database_url, schemas)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            yield Accountability(app, http, engine, schema)
