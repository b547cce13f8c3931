"""The casework app in-process on a real PostgreSQL, with tokens it trusts.

Tokens are signed by a key made for the run and served to the app as its JWKS. Clues
arrive the way they do in production: a ``ClueReceived`` recorded by an intake store
(its own schema) is handed to casework's consumer handler. No broker: the relay and
consumer loops do not start, projections run and are caught up explicitly.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueReceived, ReportedPerson
from libs.events.store import EventStore, Metadata
from services.casework import app as casework_app
from services.casework.handlers import make_handler
from tests.conftest import Schemas

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "casework-test"


async def _jwks() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def auth(*roles: str, sub: str, dept: str | None = None) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": sub,
        "kind": "operator",
        "name": sub,
        "roles": list(roles),
        "iss": "zhengfeng",
        "aud": "zhengfeng",
        "iat": now,
        "exp": now + 3600,
    }
    if dept:
        claims["dept"] = dept
    return {
        "Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='RS256', headers={'kid': KID})}"
    }


OFFICER = auth("investigator", sub="duty-officer-1")
OTHER_OFFICER = auth("investigator", sub="officer-9")
LEADER = auth("leader", sub="leader-1")
REVIEWER = auth("reviewer", sub="reviewer-1")
SUPERVISOR = auth("supervisor", sub="supervisor-1", dept="第一监督检查室")
DIRECTOR = auth("director", sub="director-1")
SECRETARY = auth("secretary", sub="secretary-1")
APPROVERS = {"director": DIRECTOR, "leader": LEADER, "secretary": SECRETARY}
"""Who signs each role's step of an approval chain in these tests."""


@dataclass
class Casework:
    app: FastAPI
    http: httpx.AsyncClient
    engine: AsyncEngine
    intake: EventStore
    schema: str

    @property
    def store(self) -> EventStore:
        store: EventStore = self.app.state.runtime.store
        return store

    async def settle(self) -> None:
        """Bring the read models up to date."""
        await self.app.state.runtime.projections.catch_up()

    async def receive(
        self,
        *,
        received_at: datetime | None = None,
        categories: list[str] | None = None,
        person: tuple[str, str] = ("王五", "某县财政局"),
    ) -> UUID:
        """A clue arrives from intake; returns its id once it is in the register."""
        clue_id = uuid4()
        received = ClueReceived(
            clue_id=clue_id,
            clue_number=f"XS-{clue_id.hex[:6]}",
            source_kind="hotline",
            reported_persons=[ReportedPerson(name=person[0], unit=person[1])],
            categories=categories or ["violation_dining"],
            narrative="工作日中午在私人会所宴请",
            received_at=received_at or datetime.now(UTC),
        )
        await self.deliver(received, f"clue-{clue_id}")
        return clue_id

    async def deliver(self, event: Event, stream: str) -> None:
        [recorded] = await self.intake.append(
            stream, [event], expected_version=0, meta=Metadata(actor="system:intake")
        )
        handler = make_handler(self.store, self.app.state.deps.rules)
        async with self.store.engine.begin() as conn:
            await handler(conn, recorded.envelope)
        await self.settle()

    async def command(
        self, case_id: UUID, name: str, headers: dict[str, str], **body: Any
    ) -> httpx.Response:
        """Give a command with the version just read."""
        current = await self.http.get(f"/v1/cases/{case_id}", headers=LEADER)
        body.setdefault("reason", f"{name} 的理由")
        response = await self.http.post(
            f"/v1/cases/{case_id}/{name}",
            json=body,
            headers={**headers, "If-Match": current.headers["ETag"]},
        )
        await self.settle()
        return response

    async def act(
        self, case_id: UUID, proposal_id: str, action: str, headers: dict[str, str], **body: Any
    ) -> httpx.Response:
        """An approval action on a proposal, with the version just read."""
        current = await self.http.get(f"/v1/cases/{case_id}", headers=LEADER)
        response = await self.http.post(
            f"/v1/cases/{case_id}/proposals/{proposal_id}/{action}",
            json=body,
            headers={**headers, "If-Match": current.headers["ETag"]},
        )
        await self.settle()
        return response

    async def approve_all(self, case_id: UUID, proposal_id: str) -> httpx.Response:
        """Every remaining step agreed by its role (a meeting recorded as agreeing)."""
        while True:
            p = (
                await self.http.get(f"/v1/cases/{case_id}/proposals/{proposal_id}", headers=LEADER)
            ).json()
            step = p["current_step"]
            if step is None:
                raise AssertionError(f"proposal {proposal_id} is {p['status']}")
            who = APPROVERS[step["role"]]
            if step["kind"] == "meeting":
                minutes = {"session": "2026年第1次", "held_on": "2026-12-01",
                           "attendees": ["operator:secretary-1", "operator:leader-1"],
                           "conclusion": "agree", "conclusion_text": "同意"}  # fmt: skip
                response = await self.act(case_id, proposal_id, "meeting", who, **minutes)
            else:
                response = await self.act(case_id, proposal_id, "approve", who, opinion="agree")
            assert response.status_code == 200, response.text
            if "proposal_id" not in response.json():  # the command took effect
                return response

    async def decided(
        self, case_id: UUID, name: str, headers: dict[str, str], **body: Any
    ) -> httpx.Response:
        """A command proposed and approved through its whole chain: the effect's answer
        (or the command's own answer when it needs no sign-off or was refused)."""
        proposed = await self.command(case_id, name, headers, **body)
        if proposed.status_code != 202:
            return proposed
        return await self.approve_all(case_id, proposed.json()["proposal_id"])


@asynccontextmanager
async def running(
    database_url: str,
    schemas: Schemas,
    *,
    schema: str | None = None,
    intake: EventStore | None = None,
    today: Callable[[], date] | None = None,
    **settings: Any,
) -> AsyncIterator[Casework]:
    """Casework on a schema (a fresh one unless ``engine`` names one from before)."""
    if schema is None:
        await schemas.migrated("casework")
        schema = schemas.created[-1]
    engine = schemas.engines[schemas.created.index(schema)]
    if intake is None:
        intake = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
    settings.setdefault("documents_dir", Path(tempfile.mkdtemp(prefix="zf-casework-documents-")))
    app = casework_app.create(
        casework_app.Settings(
            database_url=database_url,
            db_schema=schema,
            **{"kafka_bootstrap_servers": "", "run_scheduler": False, **settings},
        ),
        jwks_fetcher=lambda app: _jwks,
        today=today,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://casework") as http:
            yield Casework(app, http, engine, intake, schema)


@pytest.fixture
async def cw(database_url: str, schemas: Schemas) -> AsyncIterator[Casework]:
    async with running(database_url, schemas) as c:
        yield c
