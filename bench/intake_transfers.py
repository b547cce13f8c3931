"""Sustained clue transfers over HTTP, next to a bare FastAPI endpoint as the ceiling.

`python -m bench.intake_transfers` — intake runs under uvicorn on a fresh schema (no
broker: the relay is not on the request path); CONCURRENCY clients post distinct
transfers for SECONDS each. The ceiling is a FastAPI app that validates the same body
and answers 201 without touching a database. Prints requests/s, p50/p99 and the ratio;
asserts nothing.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import statistics
import time
import uuid
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from bench.common import run
from bench.infra import database_url
from libs.kit.issuer import create_client
from libs.kit.migrations import upgrade_async
from libs.runtime.infra import free_port
from services.intake import app as intake_app
from services.intake.api.transfers import ClueTransferIn
from services.intake.domain import check_character

os.environ.setdefault("ZF_DEV_MODE", "1")  # generated event keys, as the tests use

SECONDS = float(os.environ.get("BENCH_SECONDS") or 10)
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY") or 16)


def resident_id(n: int) -> str:
    """A valid resident ID number, different for each ``n``."""
    born = datetime.date(1950, 1, 1) + datetime.timedelta(days=n // 1000)
    first17 = f"110105{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def body(n: int) -> dict[str, Any]:
    return {
        "reference": f"BENCH-{uuid.uuid4().hex[:12]}-{n}",
        "reported_persons": [
            {
                "name": "王建国",
                # one person per request: the same one again would be a repeat report (重复件)
                "id_number": resident_id(n),
                "unit": "某市住建局",
                "post": "副局长",
            }
        ],
        "categories": ["violation_gifts"],
        "narrative": "反映其节日期间收受企业购物卡。",
    }


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/clue-transfers", status_code=201)
    async def accept(transfer: ClueTransferIn) -> dict[str, str]:
        return {"clue_id": str(uuid.uuid4()), "status": "received"}

    return app


_TASKS: list[asyncio.Task[None]] = []


async def serve(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="on"))
    _TASKS.append(asyncio.create_task(server.serve()))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.05)
    return server


async def load(url: str, headers: dict[str, str]) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop = time.perf_counter() + SECONDS

    async def client(k: int) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            n = 0
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await http.post(url, json=body(k * 1_000_000 + n), headers=headers)
                assert r.status_code == 201, r.text
                latencies.append(time.perf_counter() - t)
                n += 1

    await asyncio.gather(*(client(k) for k in range(CONCURRENCY)))
    return len(latencies), latencies


def describe(name: str, count: int, latencies: list[float]) -> float:
    rate = count / SECONDS
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:<28} {rate:8.0f} req/s   p50 {q[49] * 1000:6.1f} ms   p99 {q[98] * 1000:6.1f} ms")
    return rate


async def main() -> None:
    url = await database_url()
    schema = f"bench_intake_{uuid.uuid4().hex[:8]}"
    await upgrade_async(url, "intake", schema)
    settings = intake_app.Settings(
        database_url=url,
        db_schema=schema,
        kafka_bootstrap_servers="",
        pii_vault_schema=f"{schema}_pii",
    )
    intake = intake_app.create(settings)
    port, bare_port = free_port(), free_port()
    server = await serve(intake, port)
    bare = await serve(bare_app(), bare_port)
    try:
        partner = await create_client(
            intake.state.runtime.engine,
            kind="partner",
            name="bench",
            department="audit",
            scopes=["clue:transfer"],
        )
        async with httpx.AsyncClient() as http:
            token = (
                await http.post(
                    f"http://127.0.0.1:{port}/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": partner.client_id,
                        "client_secret": partner.client_secret,
                    },
                )
            ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        print(f"clue transfers over HTTP, {CONCURRENCY} clients, {SECONDS:.0f} s each")
        ceiling = describe(
            "bare FastAPI (validate only)",
            *await load(f"http://127.0.0.1:{bare_port}/v1/clue-transfers", {}),
        )
        real = describe(
            "intake POST /v1/clue-transfers",
            *await load(f"http://127.0.0.1:{port}/v1/clue-transfers", auth),
        )
        print(f"intake / ceiling = {real / ceiling:.2f}")
    finally:
        server.should_exit = bare.should_exit = True
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    run(main())
