"""End-to-end figures of the running platform: `python -m bench.e2e` (BENCH_SCALE=0.2 quick).

Starts the four services as processes (as `zhengfeng serve` does) on the bench database
and a broker, then measures, each next to a ceiling taken in the same run:

* latency from a clue transfer's 201 to the clue being in casework's ledger (p50/p99) at a
  steady rate — next to a no-op HTTP round trip and one record's trip through the broker;
* the highest transfer rate intake sustains with concurrent partners, and the rate at
  which those clues reach all three other services (zero loss checked) — next to no-op
  HTTP requests at the same concurrency;
* replay (rebuild) rate of every read model — next to reading the same store raw.

Prints a table; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench import infra
from bench.common import SCALE
from libs.events import kafka
from libs.events.projections import ProjectionRunner
from libs.events.store import START, EventStore
from libs.kit.db import make_engine
from libs.runtime.cli import SERVICES
from tests.e2e.conftest import Platform

progress = Console(stderr=True)

STEADY_RATE = 20.0
"""Transfers per second for the latency figure: well below saturation."""
STEADY_TRANSFERS = max(20, round(200 * SCALE))
BURST_TRANSFERS = max(50, round(1000 * SCALE))
PARTNERS = 16
"""Concurrent partner connections for the throughput figure."""
BASE_TRANSFERS = max(50, round(2000 * SCALE))
"""Transfers sent before the replay figures, so that the stores hold some history."""


def step(label: str) -> None:
    progress.print(f"[dim]{time.strftime('%H:%M:%S')} {label}…[/dim]")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def transfer_body() -> dict[str, Any]:
    n = uuid4().hex[:6]
    return {
        "reference": f"SJ-BENCH-{uuid4().hex[:12]}",
        "reported_persons": [{"name": f"测试{n}", "unit": f"某县{n[:2]}局", "post": "科长"}],
        "categories": ["violation_gifts"],
        "narrative": "审计发现其节日期间收受管理服务对象购物卡。",
    }


class Bench:
    """The running platform and the clients the figures need."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.partner: dict[str, str] = {}
        self.engines = {s: platform.engine(s) for s in SERVICES}

    async def login(self) -> None:
        out = await asyncio.to_thread(
            self.p.cli, "clients", "create", "--kind", "partner", "--name", "市审计局",
            "--department", "audit", "--scope", "clue:transfer",
        )  # fmt: skip
        creds = json.loads(out.stdout)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                self.p.url("intake", "/oauth/token"),
                data={"grant_type": "client_credentials"},
                auth=(creds["client_id"], creds["client_secret"]),
            )
        response.raise_for_status()
        self.partner = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def transfer(self, client: httpx.AsyncClient) -> str:
        response = await client.post(
            self.p.url("intake", "/v1/clue-transfers"),
            headers={**self.partner, "Idempotency-Key": str(uuid4())},
            json=transfer_body(),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["clue_id"])

    async def in_ledger(self, ids: list[str]) -> set[str]:
        async with self.engines["casework"].connect() as c:
            rows = await c.execute(
                text(
                    "SELECT clue_id::text FROM clue_ledger WHERE clue_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": ids},
            )
            return {r[0] for r in rows}

    async def counts(self) -> dict[str, int]:
        """Clues each service holds: intake's store, casework's ledger, the two indexes."""
        queries = {
            "intake": "SELECT count(*) FROM events WHERE type = 'zhengfeng.intake.clue_received'",
            "casework": "SELECT count(*) FROM clue_ledger",
            "analysis": "SELECT coalesce(sum(cardinality(clue_ids)), 0) FROM subject_index",
            "accountability": "SELECT coalesce(sum(cardinality(clue_ids)), 0) FROM unit_index",
        }
        out = {}
        for service, sql in queries.items():
            async with self.engines[service].connect() as c:
                out[service] = int((await c.execute(text(sql))).scalar_one())
        return out

    async def settled(self, expected: int, within: float = 600) -> float:
        """Wait until every service holds ``expected`` clues; returns when (monotonic)."""
        deadline = time.monotonic() + within
        while True:
            counts = await self.counts()
            if all(n == expected for n in counts.values()):
                return time.monotonic()
            if any(n > expected for n in counts.values()):
                raise AssertionError(f"more clues than sent (applied twice?): {counts}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled: {counts}, expected {expected}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for engine in self.engines.values():
            await engine.dispose()


async def latency(b: Bench) -> dict[str, float]:
    """201 → in casework's ledger, at a steady rate; the ledger is polled every 5 ms."""
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    done = asyncio.Event()

    async def poll() -> None:
        while not (done.is_set() and len(seen_at) == len(sent_at)):
            pending = [i for i in sent_at if i not in seen_at]
            if pending:
                now = time.monotonic()
                for clue_id in await b.in_ledger(pending):
                    seen_at[clue_id] = now
            await asyncio.sleep(0.005)

    poller = asyncio.create_task(poll())
    async with httpx.AsyncClient(timeout=30) as client:
        start = time.monotonic()
        sends = []

        async def one() -> None:
            clue_id = await b.transfer(client)
            sent_at[clue_id] = time.monotonic()

        for i in range(STEADY_TRANSFERS):
            await asyncio.sleep(max(0.0, start + i / STEADY_RATE - time.monotonic()))
            sends.append(asyncio.create_task(one()))
        await asyncio.gather(*sends)
    done.set()
    await asyncio.wait_for(poller, timeout=300)
    delays = [(seen_at[i] - sent_at[i]) * 1000 for i in sent_at]
    return {"p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99), "n": len(delays)}


async def http_noop(b: Bench, n: int, concurrency: int) -> tuple[float, list[float]]:
    """Requests/s and per-request ms of GET /healthz on intake."""
    times: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        queue = iter(range(n))

        async def worker() -> None:
            for _ in queue:
                t = time.monotonic()
                (await client.get(b.p.url("intake", "/healthz"))).raise_for_status()
                times.append((time.monotonic() - t) * 1000)

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.monotonic() - start), times


async def broker_hop(bootstrap: str, n: int = 100) -> list[float]:
    """ms for one record from produce (acks=all) to a subscribed consumer, one at a time."""
    topic = f"bench-hop-{uuid4().hex[:8]}"
    await kafka.ensure_topics(bootstrap, [topic], 1)
    producer = kafka.producer(bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=10
    )
    await producer.start()
    await consumer.start()
    hops = []
    try:
        await producer.send_and_wait(topic, b"warm-up")
        await consumer.getone()
        for _ in range(n):
            t = time.monotonic()
            await producer.send_and_wait(topic, b"x")
            await consumer.getone()
            hops.append((time.monotonic() - t) * 1000)
    finally:
        await consumer.stop()
        await producer.stop()
    return hops


async def throughput(b: Bench, already: int) -> dict[str, float]:
    """Partners send as fast as intake answers; then how fast everything arrives."""
    async with httpx.AsyncClient(
        timeout=60, limits=httpx.Limits(max_connections=PARTNERS)
    ) as client:
        queue = iter(range(BURST_TRANSFERS))

        async def partner() -> None:
            for _ in queue:
                await b.transfer(client)

        start = time.monotonic()
        await asyncio.gather(*(partner() for _ in range(PARTNERS)))
        accepted = time.monotonic()
    arrived = await b.settled(already + BURST_TRANSFERS)
    return {
        "accepted_rate": BURST_TRANSFERS / (accepted - start),
        "end_to_end_rate": BURST_TRANSFERS / (arrived - start),
        "drain_s": arrived - accepted,
    }


async def replay(platform: Platform) -> list[tuple[str, int, float, float]]:
    """(read model, events, rebuild events/s, raw read events/s) for every projection."""
    import importlib

    out = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.projections")
        projections = [
            cls() for cls in vars(module).values()
            if isinstance(cls, type) and cls.__module__ == module.__name__ and hasattr(cls, "apply")
        ]  # fmt: skip
        engine = make_engine(platform.database_url, platform.schemas[service])
        store = EventStore(engine, source=f"/zhengfeng/{service}")
        try:
            t = time.monotonic()
            cursor, raw_events = START, 0
            while batch := await store.read_all(cursor, limit=500):
                raw_events += len(batch)
                cursor = batch[-1].checkpoint
            raw_rate = raw_events / (time.monotonic() - t)
            for projection in projections:
                runner = ProjectionRunner(store, [projection])
                t = time.monotonic()
                n = await runner.rebuild(projection, progress=False)
                out.append(
                    (f"{service}.{projection.name}", n, n / (time.monotonic() - t), raw_rate)
                )
        finally:
            await engine.dispose()
    return out


async def send_history(b: Bench, n: int) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        queue = iter(range(n))

        async def partner() -> None:
            for _ in queue:
                await b.transfer(client)

        await asyncio.gather(*(partner() for _ in range(PARTNERS)))


async def run(url: str, bootstrap: str, log_dir: Path) -> dict[str, Any]:
    platform = Platform(url, bootstrap, log_dir)
    results: dict[str, Any] = {}
    b = Bench(platform)
    try:
        step("platform: migrate, topics, four services")
        await asyncio.gather(
            asyncio.to_thread(platform.cli, "migrate"),
            asyncio.to_thread(platform.cli, "topics", "create", "--partitions", "6"),
        )
        for service in SERVICES:
            platform.start(service)
        await asyncio.to_thread(platform.wait_ready, *SERVICES)
        await b.login()

        step("ceilings: no-op HTTP, broker hop")
        _, noop_times = await http_noop(b, 200, 1)
        results["noop_p50"], results["noop_p99"] = (
            percentile(noop_times, 0.5),
            percentile(noop_times, 0.99),
        )
        hops = await broker_hop(bootstrap)
        results["hop_p50"], results["hop_p99"] = percentile(hops, 0.5), percentile(hops, 0.99)
        results["noop_rate"], _ = await http_noop(b, max(200, BURST_TRANSFERS), PARTNERS)

        step(f"history: {BASE_TRANSFERS} transfers")
        await send_history(b, BASE_TRANSFERS)
        await b.settled(BASE_TRANSFERS)

        step(f"latency: {STEADY_TRANSFERS} transfers at {STEADY_RATE:g}/s")
        results["latency"] = await latency(b)
        total = BASE_TRANSFERS + STEADY_TRANSFERS
        await b.settled(total)

        step(f"throughput: {BURST_TRANSFERS} transfers from {PARTNERS} partners")
        results["throughput"] = await throughput(b, total)
        total += BURST_TRANSFERS
        results["counts"] = await b.counts()
        results["verify"] = (
            await asyncio.to_thread(platform.cli, "verify", check=False)
        ).returncode
    finally:
        await asyncio.to_thread(platform.stop_all)
    try:
        step("replay: rebuild every read model")
        results["replay"] = await replay(platform)
    finally:
        await b.close()
        await platform.drop()
    return results


def render(results: dict[str, Any]) -> None:
    console = Console()
    console.width = max(console.width, 120)
    table = Table(title=f"Zhengfeng end to end (BENCH_SCALE={SCALE:g}, {os.cpu_count()} cores)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("ceiling in the same run")
    lat = results["latency"]
    table.add_row(
        f"transfer 201 → casework ledger, {lat['n']} at {STEADY_RATE:g}/s",
        f"p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms",
        f"no-op HTTP p50 {results['noop_p50']:.1f} ms / p99 {results['noop_p99']:.1f} ms; "
        f"broker hop p50 {results['hop_p50']:.1f} ms / p99 {results['hop_p99']:.1f} ms",
    )
    tp = results["throughput"]
    table.add_row(
        f"transfers accepted, {PARTNERS} partners",
        f"{tp['accepted_rate']:,.0f}/s",
        f"no-op HTTP {results['noop_rate']:,.0f}/s at {PARTNERS} concurrent",
    )
    table.add_row(
        "same clues in casework + analysis + accountability",
        f"{tp['end_to_end_rate']:,.0f}/s",
        f"drained {tp['drain_s']:.1f} s after the last 201",
    )
    counts = results["counts"]
    table.add_row(
        "loss / duplicates",
        "none" if len(set(counts.values())) == 1 else "MISMATCH",
        json.dumps(counts),
    )
    table.add_row("zhengfeng verify", "ok" if results["verify"] == 0 else "BROKEN", "")
    table.add_section()
    for name, n, rate, raw_rate in results["replay"]:
        table.add_row(
            f"rebuild {name} ({n:,} events)",
            f"{rate:,.0f} events/s",
            f"raw store read {raw_rate:,.0f} events/s",
        )
    console.print(table)


async def main() -> None:
    url = await infra.database_url()
    with tempfile.TemporaryDirectory(prefix="zf-bench-") as tmp:
        async with infra.broker() as (bootstrap, _):
            results = await run(url, bootstrap, Path(tmp))
    render(results)
    print(json.dumps({k: v for k, v in results.items()}, default=str))


if __name__ == "__main__":
    asyncio.run(main())
