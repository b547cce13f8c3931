"""End-to-end figures of the running platform: `python -m bench.e2e` (asserts nothing).

Starts the four services as processes (as `zhengfeng serve` does) on the bench database
and a broker, then measures, each next to a ceiling taken in the same run:

* latency from a clue transfer's 201 to the clue being in casework's ledger (p50/p99) at a
  steady rate — next to a no-op HTTP round trip and one record's trip through the broker;
* the highest sustained transfer rate: a ramp of steady offered rates, each for
  ``BENCH_STEP_SECONDS``; a step is sustained when every transfer got its 201 at the
  offered pace, every clue reached every service exactly once (no loss, no duplicate)
  within ``BENCH_DRAIN_SECONDS`` of the step's last 201, and the p99 of 201 → casework
  stayed under ``BENCH_P99_LIMIT_MS`` — next to no-op HTTP requests/s and raw broker
  produce records/s;
* the replay (rebuild) rate of every read model of every service — next to reading the
  same store raw — and whether the rebuilt read model equals the one kept live. Tables a
  service keeps that no projection owns are listed as not rebuildable by replay.

Every knob is an environment variable (see ``Config``); docs/operations.md lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench import cpu, hops, infra, raw
from libs.events import kafka
from libs.events.projections import Projection, ProjectionRunner
from libs.events.store import START, EventStore
from libs.kit.db import make_engine
from tests.e2e.conftest import Platform
from zhengfeng.cli import SERVICES

progress = Console(stderr=True)


def _env(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


@dataclass(frozen=True)
class Config:
    """The run's sizes and limits, from the environment (defaults: ~6–9 min on 2 idle cores)."""

    scale: float = _env("BENCH_SCALE", 1)
    rates: tuple[float, ...] = tuple(
        float(r) for r in (os.environ.get("BENCH_RATES") or "5,10,20,40,80,160,320").split(",")
    )
    step_seconds: float = _env("BENCH_STEP_SECONDS", 20)
    drain_seconds: float = _env("BENCH_DRAIN_SECONDS", 10)
    p99_limit_ms: float = _env("BENCH_P99_LIMIT_MS", 2000)
    latency_rate: float = _env("BENCH_LATENCY_RATE", 20)
    latency_transfers: int = int(
        _env("BENCH_LATENCY_TRANSFERS", max(20, round(400 * _env("BENCH_SCALE", 1))))
    )
    max_in_flight: int = int(_env("BENCH_MAX_IN_FLIGHT", 256))
    partners: int = int(_env("BENCH_PARTNERS", 16))
    partitions: int = int(_env("BENCH_PARTITIONS", 6))
    settle_seconds: float = _env("BENCH_SETTLE_SECONDS", 180)
    ceiling_seconds: float = _env("BENCH_CEILING_SECONDS", 5)
    idle_seconds: float = _env("BENCH_IDLE_SECONDS", 5)
    """How long the platform's CPU is measured with nothing to do."""
    pace: float = _env("BENCH_PACE", 0.9)
    """A step keeps pace when its 201s come at least this fraction of the offered rate."""

    @property
    def produce_records(self) -> int:
        return max(1000, round(20000 * self.scale))


CONFIG = Config()


def step(label: str) -> None:
    progress.print(f"[dim]{time.strftime('%H:%M:%S')} {label}…[/dim]")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def transfer_body() -> dict[str, Any]:
    # A person of their own for each transfer: two with the same name and unit (and a shared
    # category) are one matter, and the second is merged into the first clue as a repeat
    # report (已并入) whose id no store registers as a clue — counted as lost. Six hex
    # digits met that about once in twenty runs of ~1 500 transfers.
    n = uuid4().hex[:12]
    return {
        "reference": f"SJ-BENCH-{uuid4().hex[:12]}",
        "reported_persons": [{"name": f"测试{n}", "unit": f"某县{n[:2]}局", "post": "科长"}],
        "categories": ["violation_gifts"],
        "narrative": "审计发现其节日期间收受管理服务对象购物卡。",
    }


# Each service's view of a set of clues: (copies, distinct clues) among :ids. Intake and
# casework count their stores' registering events in the clues' streams (their read models
# have the clue as primary key, which would hide a second copy); casework's "distinct" is
# its ledger, what a user sees. Analysis and accountability append each clue to an array
# per subject / unit, where a second copy would show.
_WANTED = "unnest(CAST(:ids AS uuid[])) AS w(id)"
_IN_STREAMS = "stream_id IN (SELECT 'clue-' || id FROM " + _WANTED + ")"
VIEWS = {
    "intake": f"""SELECT count(*), count(DISTINCT stream_id) FROM events
                  WHERE type = 'zhengfeng.intake.clue_received' AND {_IN_STREAMS}""",
    "casework": f"""SELECT (SELECT count(*) FROM events
                            WHERE type = 'zhengfeng.casework.clue_registered' AND {_IN_STREAMS}),
                           (SELECT count(*) FROM clue_ledger
                            WHERE clue_id = ANY(CAST(:ids AS uuid[])))""",
    "analysis": f"""SELECT count(*), count(DISTINCT c.id)
                    FROM subject_index s CROSS JOIN LATERAL unnest(s.clue_ids) AS c(id)
                    JOIN {_WANTED} USING (id)""",
    "accountability": f"""SELECT count(*), count(DISTINCT c.id)
                          FROM unit_index u CROSS JOIN LATERAL unnest(u.clue_ids) AS c(id)
                          JOIN {_WANTED} USING (id)""",
}


class Bench:
    """The running platform and the clients the figures need."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.partner: dict[str, str] = {}
        # The bench's own connections are named apart, so the CPU figures leave them out;
        # pooled, since the ledger is polled every 10 ms.
        self.engines = {
            s: make_engine(platform.database_of(s), platform.schemas[s], pool_size=2, app="bench")
            for s in SERVICES
        }

    async def login(self) -> None:
        out = await asyncio.to_thread(
            self.p.cli, "clients", "create", "--kind", "partner", "--name", "市审计局",
            "--department", "audit", "--scope", "clue:transfer",
        )  # fmt: skip
        creds = json.loads(out.stdout)
        async with httpx.AsyncClient(timeout=60) as client:
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
        if response.status_code != 201:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
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

    async def views(self, ids: list[str]) -> dict[str, tuple[int, int]]:
        """(copies, distinct) of ``ids`` in each service."""

        async def one(service: str) -> tuple[str, tuple[int, int]]:
            async with self.engines[service].connect() as c:
                copies, distinct = (await c.execute(text(VIEWS[service]), {"ids": ids})).one()
            return service, (int(copies), int(distinct))

        return dict(await asyncio.gather(*(one(s) for s in SERVICES)))

    async def close(self) -> None:
        for engine in self.engines.values():
            await engine.dispose()


@dataclass
class Step:
    """One steady offered rate and what the platform made of it."""

    rate: float
    seconds: float
    sent: int = 0
    accepted: int = 0
    errors: list[str] = field(default_factory=list)
    accepted_rate: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    drained_s: float | None = None
    """Seconds after the step's last 201 until every service held every clue (None: not yet
    when the settle limit ran out)."""
    lost: int = 0
    duplicated: int = 0
    views: dict[str, tuple[int, int]] = field(default_factory=dict)
    load: str = ""

    @property
    def verdicts(self) -> list[str]:
        """Why the step was not sustained (empty: it was)."""
        c = CONFIG
        out = []
        if self.errors:
            out.append(f"{len(self.errors)} transfers refused")
        if self.accepted < 2 or self.accepted_rate < c.pace * self.rate:
            out.append(f"201s at {self.accepted_rate:.1f}/s < {c.pace:.0%} of offered")
        if self.lost:
            out.append(f"{self.lost} lost")
        if self.duplicated:
            out.append(f"{self.duplicated} duplicated")
        if self.drained_s is None or self.drained_s > c.drain_seconds:
            out.append(f"backlog not drained within {c.drain_seconds:g} s")
        if not self.p99_ms <= c.p99_limit_ms:
            out.append(f"p99 over {c.p99_limit_ms:g} ms")
        return out

    @property
    def sustained(self) -> bool:
        return not self.verdicts


async def offer(
    b: Bench, rate: float, seconds: float, walls: dict[str, hops.Times] | None = None
) -> Step:
    """Send ``rate`` transfers/s for ``seconds`` (open loop: on schedule, whatever intake's
    answers take), time each clue from its 201 to casework's ledger (polled every 10 ms),
    then wait for every clue in every service and count them. ``walls`` collects each
    transfer's wall-clock times (for the hop table)."""
    s = Step(rate, seconds)
    n = max(1, round(rate * seconds))
    accepted_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    sending = True
    ids: list[str] = []
    views: dict[str, tuple[int, int]] = {}

    async def poll() -> None:
        while sending or len(seen_at) < len(accepted_at):
            pending = [i for i in accepted_at if i not in seen_at]
            if pending:
                found = await b.in_ledger(pending)
                now = time.monotonic()
                wall = time.time()
                for clue_id in found:
                    seen_at[clue_id] = now
                    if walls is not None and clue_id in walls:
                        walls[clue_id].seen = wall
            await asyncio.sleep(0.01)

    limits = httpx.Limits(max_connections=CONFIG.max_in_flight, max_keepalive_connections=64)
    poller = asyncio.create_task(poll())
    try:
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def one() -> None:
                sent = time.time()
                try:
                    clue_id = await b.transfer(client)
                except Exception as exc:  # counted: a refused transfer fails the step
                    s.errors.append(str(exc) or type(exc).__name__)
                    return
                accepted_at[clue_id] = time.monotonic()
                if walls is not None:
                    walls[clue_id] = hops.Times(sent, time.time())

            start = time.monotonic()
            sends = []
            for i in range(n):
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                sends.append(asyncio.create_task(one()))
            await asyncio.gather(*sends)
        s.sent, s.accepted = n, len(accepted_at)
        times = sorted(accepted_at.values())
        last = times[-1] if times else time.monotonic()
        # The pace of the 201s: a constant answer time shifts them all, a backlog spreads them.
        s.accepted_rate = (len(times) - 1) / (last - times[0]) if len(times) > 1 else 0.0
        ids = list(accepted_at)
        deadline = last + CONFIG.settle_seconds
        while True:
            views = await b.views(ids)
            if all(distinct == len(ids) for _, distinct in views.values()):
                s.drained_s = time.monotonic() - last
                break
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        sending = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(poller, timeout=5)
    finally:
        sending = False
        poller.cancel()
    s.views = views
    s.lost = sum(len(ids) - distinct for _, distinct in views.values())
    s.duplicated = sum(copies - distinct for copies, distinct in views.values())
    delays = [(seen_at[i] - accepted_at[i]) * 1000 for i in ids if i in seen_at]
    s.p50_ms, s.p99_ms = percentile(delays, 0.5), percentile(delays, 0.99)
    s.load = load()
    return s


async def platform_processes(platform: Platform, url: str) -> dict[str, cpu.Pids]:
    """The platform's processes by kind: the four services (each with its lifeline), their
    PostgreSQL backends (by application name; the bench's own are named apart) and the
    broker (when it is the bench's own)."""
    names = [f"zhengfeng-{platform.schemas[s]}" for s in SERVICES]
    watcher = await asyncpg.connect(url)

    async def services() -> list[int]:
        return [p for s in SERVICES for p in cpu.tree(platform.processes[s].pid)]

    async def backends() -> list[int]:
        rows = await watcher.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = ANY($1::text[])", names
        )
        return [r[0] for r in rows]

    return {"services": services, "postgres": backends, "broker": infra.broker_pids}


async def ramp(b: Bench) -> list[Step]:
    """Steady rates one after the other, up to the first that is not sustained."""
    steps = []
    for rate in CONFIG.rates:
        step(f"ramp: {rate:g} transfers/s for {CONFIG.step_seconds:g} s (load {load()})")
        s = await offer(b, rate, CONFIG.step_seconds)
        steps.append(s)
        if not s.sustained:
            break
    return steps


async def http_noop(
    b: Bench, concurrency: int, *, n: int = 0, seconds: float = 0
) -> tuple[float, list[float]]:
    """Requests/s and per-request ms of GET /healthz on intake (no database, no broker):
    ``n`` requests, or as many as ``concurrency`` clients make in ``seconds``."""
    times: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        start = time.monotonic()
        queue = iter(range(n)) if n else None

        async def worker() -> None:
            while (next(queue, None) is not None) if queue else time.monotonic() - start < seconds:
                t = time.monotonic()
                (await client.get(b.p.url("intake", "/healthz"))).raise_for_status()
                times.append((time.monotonic() - t) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(times) / (time.monotonic() - start), times


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


# What the tables are that a service keeps and no projection owns (the bench lists every
# such table; one missing here is printed as "not classified").
READ_MODEL_NOT_REPLAYED = "READ MODEL not rebuildable by replay"
OUTSIDE_REPLAY = {
    "rule_versions": f"{READ_MODEL_NOT_REPLAYED}: rule versions, written with their events",
    "watched_alerts": f"{READ_MODEL_NOT_REPLAYED}: yellow/green alerts casework's consumer "
    "keeps from analysis's events (not in casework's store)",
    "clue_subjects": f"{READ_MODEL_NOT_REPLAYED}: duplicate lookup (blind indexes of reported "
    "persons), written with each clue; a projection only deletes shredded persons from it",
    "repeat_reports": f"{READ_MODEL_NOT_REPLAYED}: which clue each repeat report joined, "
    "written with the repeat report",
    "partner_references": "idempotency record of partner references (written with the clue)",
    "clue_numbers": "clue number counter",
    "report_receipts": "receipt codes of public reports (hashed secrets, never in events)",
    "attachment_uploads": "uploaded attachments (files on disk)",
    "case_reads": "who read which case (an audit record, not made from events)",
    "clients": "OAuth clients",
    "signing_keys": "token signing keys",
    "feed_batches": "feed batches received (input)",
    "report_rate": "public reports per address in the last window (a rate limit, not events)",
    "platform_calendar": "the platform's holiday calendar (configuration, loaded at start)",
    "document_numbers": "文书 number counters per kind and year (taken with the document's event)",
    "inquiry_reads": "who read which inquiry (an audit record, not made from events)",
}


def outside_replay(table: str) -> str:
    """What a table no projection owns is."""
    from services.analysis.feeds.spec import FEEDS

    if table in {spec.table for spec in FEEDS.values()}:
        return "feed rows (input data, not a read model)"
    return OUTSIDE_REPLAY.get(table, "not classified")


@dataclass
class Replay:
    """One read model rebuilt from its service's store."""

    service: str
    name: str
    tables: Sequence[str]
    events: int
    rate: float
    same_as_live: bool


def projections_of(service: str) -> list[Projection]:
    """Every read model a service keeps live, as `zhengfeng projections rebuild` replays them
    (the service's own ``read_models``, with the settings the platform started it with)."""
    app = importlib.import_module(f"services.{service}.app")
    models: list[Projection] = app.read_models(app.Settings())
    return models


async def _digest(conn: Any, tables: Sequence[str]) -> list[str]:
    """A digest of each table's rows, in an order of their own."""
    out = []
    for table in tables:
        out.append(
            await conn.fetchval(
                f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{table}\" t"
            )
        )
    return out


async def _tables(conn: Any) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    return {r[0] for r in rows}


async def replay(platform: Platform, url: str) -> dict[str, Any]:
    """Rebuild every read model of every service; the raw read of the same store beside it."""
    raw_rates: dict[str, tuple[int, float, float]] = {}
    rebuilt: list[Replay] = []
    tables: dict[str, set[str]] = {}
    for service in SERVICES:
        schema = platform.schemas[service]
        own = platform.database_of(service)
        conn = await asyncpg.connect(own, server_settings={"search_path": schema})
        engine = make_engine(own, schema)
        store = EventStore(engine, source=f"/zhengfeng/{service}")
        try:
            tables[service] = await _tables(conn)
            step(f"replay {service}: raw read, store read")
            t, n = time.monotonic(), 0
            async with conn.transaction():
                cursor = await conn.cursor("SELECT * FROM events ORDER BY tx_id, global_position")
                while rows := await cursor.fetch(500):
                    n += len(rows)
            raw_rate = n / (time.monotonic() - t)
            t, cursor_at, m = time.monotonic(), START, 0
            while batch := await store.read_all(cursor_at, limit=500):
                m += len(batch)
                cursor_at = batch[-1].checkpoint
            raw_rates[service] = (n, raw_rate, m / (time.monotonic() - t))
            for projection in projections_of(service):
                step(f"replay {service}: rebuild {projection.name}")
                live = await _digest(conn, projection.tables)
                runner = ProjectionRunner(store, [projection])
                t = time.monotonic()
                events = await runner.rebuild(projection, progress=False)
                rate = events / (time.monotonic() - t)
                same = await _digest(conn, projection.tables) == live
                rebuilt.append(
                    Replay(service, projection.name, projection.tables, events, rate, same)
                )
        finally:
            await conn.close()
            await engine.dispose()
    common = set.intersection(*tables.values())  # the event store's own tables
    owned = {t for r in rebuilt for t in r.tables}
    not_replayable = {s: sorted(tables[s] - common - owned) for s in SERVICES}
    return {
        "raw": raw_rates,
        "rebuilt": [asdict(r) for r in rebuilt],
        "not_replayable": not_replayable,
        "store_tables": sorted(common),
    }


async def run(url: str, bootstrap: str, log_dir: Path) -> dict[str, Any]:
    c = CONFIG
    platform = Platform(url, bootstrap, log_dir)
    results: dict[str, Any] = {"load_start": load(), "config": asdict(c)}
    step("platform: a database per service, migrate, topics, four services")
    await platform.make_databases()
    b = Bench(platform)  # its engines are on the services' databases
    try:
        await asyncio.gather(
            asyncio.to_thread(platform.cli, "migrate"),
            asyncio.to_thread(platform.cli, "topics", "create", "--partitions", str(c.partitions)),
        )
        for service in SERVICES:
            platform.start(service)
        # A busy machine starts four services slowly: give them time (a figure, not a test).
        await asyncio.to_thread(platform.wait_ready, *SERVICES, within=600)
        await b.login()

        step("ceilings: no-op HTTP, broker hop, raw produce")
        _, noop_times = await http_noop(b, 1, n=200)
        results["noop_p50"] = percentile(noop_times, 0.5)
        results["noop_p99"] = percentile(noop_times, 0.99)
        hop_ms = await broker_hop(bootstrap)
        results["hop_p50"], results["hop_p99"] = percentile(hop_ms, 0.5), percentile(hop_ms, 0.99)
        results["noop_rate"], _ = await http_noop(b, c.partners, seconds=c.ceiling_seconds)
        produced, seconds = await raw.produce(bootstrap, c.produce_records)
        results["produce_rate"] = produced / seconds

        step(f"raw path: {c.latency_transfers} items at {c.latency_rate:g}/s")
        n, _, used = await raw.path(
            url, bootstrap, c.latency_transfers, c.latency_rate, infra.broker_pids
        )
        results["raw_path_cpu_ms"] = {k: v * 1000 / n for k, v in used.items()}

        step("warm-up: 20 transfers")
        await offer(b, 10, 2)
        groups = await platform_processes(platform, url)
        step(f"idle: {c.idle_seconds:g} s with nothing to do")
        idle = await cpu.measure(groups, asyncio.sleep(c.idle_seconds))
        results["idle_cpu_share"] = {k: v / c.idle_seconds for k, v in idle.items()}
        step(f"latency: {c.latency_transfers} transfers at {c.latency_rate:g}/s")
        walls: dict[str, hops.Times] = {}
        work = offer(b, c.latency_rate, c.latency_transfers / c.latency_rate, walls)
        meter = cpu.Meter(groups)
        await meter.start()
        started = time.monotonic()
        try:
            latency = await work
        finally:
            used = await meter.stop()
        spent = time.monotonic() - started
        results["latency"] = asdict(latency)
        accepted = max(latency.accepted, 1)
        results["cpu_ms"] = {k: v * 1000 / accepted for k, v in used.items()}
        results["cpu_ms_above_idle"] = {
            k: (v - results["idle_cpu_share"][k] * spent) * 1000 / accepted for k, v in used.items()
        }
        step("hops: timestamps of the latency run")
        results["hops"] = await hops.measure(
            walls,
            b.engines["intake"],
            b.engines["casework"],
            bootstrap,
            f"{platform.prefix}.intake.events",
        )
        results["ramp"] = [asdict(s) | {"verdicts": s.verdicts} for s in await ramp(b)]
        step("zhengfeng verify")
        verified = await asyncio.to_thread(platform.cli, "verify", check=False)
        results["verify"] = verified.returncode
        if verified.returncode != 0:
            print(verified.stdout[-3000:], verified.stderr[-3000:], sep="\n")
    finally:
        await asyncio.to_thread(platform.stop_all)
        if "verify" not in results:  # the run failed: leave no database or topic behind
            await b.close()
            await platform.drop()
    try:
        results["replay"] = await replay(platform, url)
    finally:
        await b.close()
        await platform.drop()
    results["load_end"] = load()
    return results


def render(r: dict[str, Any]) -> None:
    c = CONFIG
    console = Console()
    console.width = max(console.width, 130)
    console.print(
        f"[bold]load average[/bold] (1/5/15 min) at start {r['load_start']}, at end "
        f"{r['load_end']} on {os.cpu_count()} cores — figures taken under load are floors"
    )
    console.print(f"[bold]settings[/bold] {json.dumps(r['config'])}")

    lat = r["latency"]
    table = Table(title="201 → visible in casework, at a steady rate")
    for col in ("figure", "value", "ceiling in the same run"):
        table.add_column(col)
    table.add_row(
        f"{lat['accepted']} transfers at {lat['rate']:g}/s",
        f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms",
        f"no-op HTTP p50 {r['noop_p50']:.1f} / p99 {r['noop_p99']:.1f} ms; "
        f"broker hop (produce → consumer) p50 {r['hop_p50']:.1f} / p99 {r['hop_p99']:.1f} ms",
    )
    console.print(table)

    hop = Table(
        title=f"Where the time goes: {lat['accepted']} transfers at {lat['rate']:g}/s, hop by hop"
    )
    for col in ("hop", "transfers", "p50 ms", "p99 ms"):
        hop.add_column(col, justify="left" if col == "hop" else "right")
    for h in r["hops"]:
        hop.add_row(h["hop"], str(h["n"]), f"{h['p50']:.0f}", f"{h['p99']:.0f}")
    console.print(hop)

    cpu_table = Table(
        title="CPU-ms per transfer, every process of the platform (from /proc), next to the raw "
        "path's (INSERT → produce → consume → INSERT, same rate and count)"
    )
    for col in ("processes", "platform gross", "platform above idle", "idle (share of a core)",
                "raw path"):  # fmt: skip
        cpu_table.add_column(col, justify="left" if col == "processes" else "right")
    gross, above, idle, rawp = (
        r["cpu_ms"],
        r["cpu_ms_above_idle"],
        r["idle_cpu_share"],
        r["raw_path_cpu_ms"],
    )
    for kind, raw_kind in (("services", "bench"), ("postgres", "postgres"), ("broker", "broker")):
        cpu_table.add_row(
            kind if kind != "services" else "services (raw: the bench process)",
            f"{gross[kind]:.1f}",
            f"{above[kind]:.1f}",
            f"{idle[kind]:.1%}",
            f"{rawp[raw_kind]:.1f}",
        )
    total_raw = sum(rawp.values())
    cpu_table.add_row(
        "[bold]total[/bold]",
        f"{sum(gross.values()):.1f}",
        f"{sum(above.values()):.1f}",
        f"{sum(idle.values()):.1%}",
        f"{total_raw:.1f}",
    )
    cpu_table.add_row(
        "÷ raw path",
        f"{sum(gross.values()) / total_raw:.1f}×" if total_raw else "—",
        f"{sum(above.values()) / total_raw:.1f}×" if total_raw else "—",
        "",
        "1×",
    )
    console.print(cpu_table)

    ramp = Table(
        title=f"Ramp: steady offered rates, {c.step_seconds:g} s each; sustained = every 201 "
        f"at ≥ {c.pace:.0%} pace, each clue once in all four services within {c.drain_seconds:g} s, "
        f"p99 ≤ {c.p99_limit_ms:g} ms"
    )
    for col in ("offered/s", "201s/s", "p50 ms", "p99 ms", "drained", "lost", "dup",
                "load 1m", "sustained"):  # fmt: skip
        ramp.add_column(col, justify="right" if col != "sustained" else "left")
    for s in r["ramp"]:
        ramp.add_row(
            f"{s['rate']:g}",
            f"{s['accepted_rate']:.1f}",
            f"{s['p50_ms']:.0f}",
            f"{s['p99_ms']:.0f}",
            "never" if s["drained_s"] is None else f"{s['drained_s']:.1f} s",
            str(s["lost"]),
            str(s["duplicated"]),
            s["load"].split()[0],
            "yes" if not s["verdicts"] else "no: " + "; ".join(s["verdicts"]),
        )
    console.print(ramp)
    best = max((s["rate"] for s in r["ramp"] if not s["verdicts"]), default=None)
    top = r["ramp"][-1]
    note = "" if top["verdicts"] else " (the last rate tried: raise BENCH_RATES)"
    summary = Table(title="Highest sustained transfer rate")
    for col in ("figure", "value", "ceilings in the same run"):
        summary.add_column(col)
    summary.add_row(
        "highest sustained rate, zero loss",
        (f"{best:g} transfers/s{note}" if best else "none of the rates tried"),
        f"no-op HTTP {r['noop_rate']:,.0f} requests/s ({c.partners} concurrent); "
        f"raw broker produce {r['produce_rate']:,.0f} records/s (acks=all, "
        f"{raw.PARTITIONS} partitions)",
    )
    summary.add_row("zhengfeng verify afterwards", "ok" if r["verify"] == 0 else "BROKEN", "")
    console.print(summary)

    rp = r["replay"]
    rebuild = Table(title="Replay: every read model rebuilt from its store")
    for col in ("service", "read model (tables)", "events", "rebuild events/s",
                "raw SQL read / store read_all events/s", "rebuilt = live"):  # fmt: skip
        rebuild.add_column(col)
    for x in rp["rebuilt"]:
        _, raw_rate, store_rate = rp["raw"][x["service"]]
        rebuild.add_row(
            x["service"],
            f"{x['name']} ({', '.join(x['tables']) or 'owns no table: replays its deletes'})",
            f"{x['events']:,}",
            f"{x['rate']:,.0f}",
            f"{raw_rate:,.0f} / {store_rate:,.0f}",
            "yes" if x["same_as_live"] else "NO",
        )
    console.print(rebuild)
    outside = Table(title="Tables no projection owns (`zhengfeng projections rebuild` skips them)")
    outside.add_column("service")
    outside.add_column("what they are")
    outside.add_column("tables")
    for service, tables in rp["not_replayable"].items():
        kinds: dict[str, list[str]] = {}
        for t in tables:
            kinds.setdefault(outside_replay(t), []).append(t)
        for kind, names in sorted(kinds.items(), key=lambda k: not k[0].startswith("READ")):
            outside.add_row(service, kind, ", ".join(names))
    console.print(outside)
    console.print(
        f"[dim]The event store's own tables ({', '.join(rp['store_tables'])}) are in every "
        "service and are not read models.[/dim]"
    )


async def main() -> None:
    url = await infra.database_url()
    with tempfile.TemporaryDirectory(prefix="zf-bench-") as tmp:
        async with infra.broker() as (bootstrap, _):
            results = await run(url, bootstrap, Path(tmp))
    render(results)
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    asyncio.run(main())
