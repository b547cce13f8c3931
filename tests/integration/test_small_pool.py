"""No request path takes a second pool connection while holding one (issue 21).

Each service runs with a pool of 2 (``db_pool_size``; the engine allows as many again in
overflow) and 16 clients call its main reads and a command or two at once, several
rounds each. A path that held one connection while waiting for another would starve the
pool: the calls would hang until the pool's timeout and answer 500/503. Every call must
be answered, without a server error, well within a generous bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.intake import app as intake_app
from tests.conftest import Schemas
from tests.integration.accountability import conftest as acc
from tests.integration.accountability.factories import responsibility_list
from tests.integration.analysis.support import running as analysis_running
from tests.integration.casework import conftest as cw
from tests.integration.fixtures import Intake, transfer

CLIENTS = 16
ROUNDS = 3
BOUND = 90.0
"""Seconds for everything: far above the pool's own 30 s timeout, so a starved pool
shows as failed calls, and a hang as a timeout."""

Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@asynccontextmanager
async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc", timeout=BOUND) as h:
        yield h


@asynccontextmanager
async def intake_service(database_url: str, schemas: Schemas) -> AsyncIterator[tuple]:
    async with intake_app_and_calls(database_url, schemas) as (_, http, calls):
        yield http, calls


@asynccontextmanager
async def intake_app_and_calls(database_url: str, schemas: Schemas) -> AsyncIterator[tuple]:
    """intake with a pool of 2, a client of it, and its reads and a merged transfer."""
    engine = await schemas.migrated("intake")
    settings = intake_app.Settings(
        database_url=database_url,
        db_schema=schemas.created[-1],
        kafka_bootstrap_servers="",
        db_pool_size=2,
    )
    app = intake_app.create(settings)
    async with app.router.lifespan_context(app), _client(app) as http:
        intake = Intake(app, http, engine)
        clerk = await intake.operator("clerk", "supervisor")
        operator = {"Authorization": "Bearer " + await intake.token(
            clerk, grant_type="password", username=clerk.client_id, password=clerk.client_secret
        )}  # fmt: skip
        partner = await intake.bearer(await intake.partner("audit"))
        first = await http.post("/v1/clue-transfers", json=transfer("SJ-P-0"), headers=partner)
        assert first.status_code == 201, first.text
        clue = first.json()["clue_id"]

        def merged(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            # Same ID number: merged into the first clue (the answer reads its stream).
            body = transfer(f"SJ-P-{uuid4().hex[:8]}")
            return http.post("/v1/clue-transfers", json=body, headers=partner)

        yield (
            app,
            http,
            [
                lambda h, i: h.get("/v1/clues", headers=operator),
                lambda h, i: h.get(f"/v1/clues/{clue}", headers=operator),
                lambda h, i: h.get(f"/v1/clue-transfers/{clue}", headers=partner),
                merged,
            ],
        )


@asynccontextmanager
async def casework_service(database_url: str, schemas: Schemas) -> AsyncIterator[tuple]:
    async with cw.running(database_url, schemas, db_pool_size=2) as c:
        cases = [await c.receive() for _ in range(4)]
        who = cw.auth("investigator", "leader", "supervisor", sub="duty-officer-1",
                      dept="第一监督检查室")  # fmt: skip

        async def dispose(http: httpx.AsyncClient, i: int) -> httpx.Response:
            case = cases[i % len(cases)]
            current = await http.get(f"/v1/cases/{case}", headers=who)
            return await http.post(
                f"/v1/cases/{case}/dispose",
                json={"method": "talk_or_inquiry", "reason": "问题较轻，函询说明"},
                headers={**who, "If-Match": current.headers["ETag"]},
            )

        yield (
            c.http,
            [
                lambda h, i: h.get("/v1/cases", headers=who),
                lambda h, i: h.get(f"/v1/cases/{cases[i % 4]}", headers=who),
                lambda h, i: h.get(f"/v1/cases/{cases[i % 4]}/timeline", headers=who),
                lambda h, i: h.get("/v1/clues", headers=who),
                lambda h, i: h.get("/v1/approvals", headers=who),
                dispose,
            ],
        )


@asynccontextmanager
async def analysis_service(database_url: str, schemas: Schemas) -> AsyncIterator[tuple]:
    async with analysis_running(database_url, schemas, db_pool_size=2) as a:
        analyst = a.mint.bearer(kind="operator", roles=("analyst", "investigator"))
        partner = a.partner

        def feed(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            row = f'{{"unit_code":"U{i:03d}","name":"青山县第{i}局"}}\n'.encode()
            return http.post(
                f"/v1/feeds/units/batches/{uuid4().hex}",
                content=row,
                headers={**partner, "Content-Type": "application/x-ndjson"},
            )

        yield (
            a.http,
            [
                lambda h, i: h.get("/v1/alerts", headers=analyst),
                lambda h, i: h.get("/v1/rules", headers=analyst),
                lambda h, i: h.get("/v1/subjects", headers=analyst),
                # By name and unit: the vault's blind index, then the index itself.
                lambda h, i: h.get(
                    "/v1/subjects", params={"name": "王伟", "unit": "U001"}, headers=analyst
                ),
                lambda h, i: h.get("/v1/feeds", headers=partner),
                feed,
                lambda h, i: h.post(
                    "/v1/rules/fuel.over_tank/versions",
                    json={"params": {"capacity_ratio": 1.1}, "reason": "油箱余量"},
                    headers=analyst,
                ),
            ],
        )


@asynccontextmanager
async def accountability_service(database_url: str, schemas: Schemas) -> AsyncIterator[tuple]:
    app, _, _ = await acc.start(database_url, schemas, db_pool_size=2)
    async with app.router.lifespan_context(app), _client(app) as http:
        who = acc.auth("accountability", "leader")

        def listed(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            body = responsibility_list(unit=f"泰顺县第{i}局")
            return http.post("/v1/responsibility-lists", json=body, headers=who)

        yield (
            http,
            [
                lambda h, i: h.get("/v1/units", headers=who),
                lambda h, i: h.get("/v1/responsibility-lists", headers=who),
                lambda h, i: h.get("/v1/ratings", headers=who),
                lambda h, i: h.get("/v1/inquiries", headers=who),
                lambda h, i: h.get("/v1/rectifications", headers=who),
                lambda h, i: h.get("/v1/approvals", headers=who),
                listed,
            ],
        )


SERVICES = {
    "intake": intake_service,
    "casework": casework_service,
    "analysis": analysis_service,
    "accountability": accountability_service,
}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.timeout(240)
async def test_sixteen_clients_on_a_pool_of_two_are_all_answered(
    service: str, database_url: str, schemas: Schemas
) -> None:
    async with SERVICES[service](database_url, schemas) as (http, calls):

        async def client(n: int) -> list[str]:
            """The server errors this client met."""
            errors = []
            for r in range(ROUNDS):
                for call in calls:
                    response = await call(http, n * ROUNDS + r)
                    if response.status_code >= 500:
                        where = f"{response.request.method} {response.request.url.path}"
                        errors.append(f"{where}: {response.status_code} {response.text[:300]}")
            return errors

        answered = await asyncio.wait_for(
            asyncio.gather(*(client(n) for n in range(CLIENTS))), BOUND
        )

    assert [e for errors in answered for e in errors] == []
