"""Run the bench and print one table: `python -m bench` (BENCH_SCALE=0.1 for a quick look).

Beside each rate, the CPU each event cost, summed over this process (the client: the
store's code, the drivers, the library's threads), the PostgreSQL backends of the bench's
connections and, for the broker rows, the embedded broker — from /proc, over the whole
workload call (its preparation included: the raw rows and keys are built inside it, a few
µs an event). On a shared machine wall-clock rates move by 2× from one run to the next;
CPU per event moves far less, so its ratio is the one to compare runs by.
"""

import asyncio
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from bench import cpu, infra, library, raw
from bench import zhengfeng_store as zf
from bench.common import (
    BATCH_SIZE,
    BULK_EVENTS,
    PAYLOAD_BYTES,
    PRODUCE_EVENTS,
    SCALE,
    SINGLE_EVENTS,
    WRITERS,
    run,
)

progress = Console(stderr=True)


@dataclass
class Measurement:
    events: int | None = None
    seconds: float | None = None
    note: str = ""
    cpu: dict[str, float] | None = None  # CPU seconds per process group (``cpu.Meter``)

    @property
    def rate(self) -> float | None:
        if self.note or self.events is None or not self.seconds:
            return None
        return self.events / self.seconds

    @property
    def cpu_per_event(self) -> float | None:
        """CPU µs per event, every group summed."""
        if self.note or not self.events or self.cpu is None:
            return None
        return sum(self.cpu.values()) / self.events * 1e6


# Display order. (key, label, raw ceiling key, eventsourcing key); None = section break.
ROWS: list[tuple[str, str, str | None, str | None] | None] = [
    ("raw.single1", "raw asyncpg INSERT, autocommit — 1 connection", None, None),
    ("es.single1", "eventsourcing save 1 event — 1 thread", "raw.single1", None),
    ("zf.single1", "zhengfeng append single (1 writer)", "raw.single1", "es.single1"),
    None,
    ("raw.single8", f"raw asyncpg INSERT, autocommit — {WRITERS} connections", None, None),
    ("es.single8", f"eventsourcing save 1 event — {WRITERS} threads", "raw.single8", None),
    ("zf.single8", f"zhengfeng append single ({WRITERS} writers)", "raw.single8", "es.single8"),
    None,
    ("raw.batch", f"raw asyncpg INSERT unnest, {BATCH_SIZE} rows/tx", None, None),
    ("raw.copy", "raw asyncpg COPY (copy_records_to_table)", None, None),
    ("es.batch", f"eventsourcing save {BATCH_SIZE} events/save", "raw.batch", None),
    ("zf.batch", f"zhengfeng append batch {BATCH_SIZE}", "raw.batch", "es.batch"),
    None,
    ("raw.read", "raw asyncpg read-all, server cursor, 1000/fetch", None, None),
    ("es.read", "eventsourcing read-all, select_notifications", "raw.read", None),
    ("zf.read", "zhengfeng read-all", "raw.read", "es.read"),
    None,
    ("raw.produce", "raw aiokafka produce, key, acks=all, 6 partitions", None, None),
    ("zf.relay", "zhengfeng relay → broker", "raw.produce", None),
]


def step(label: str) -> None:
    progress.print(f"[dim]{time.strftime('%H:%M:%S')} {label}…[/dim]")


GROUPS = ("bench", "postgres", "broker")


async def metered(
    groups: dict[str, cpu.Pids], work: Awaitable[Any]
) -> tuple[Any, dict[str, float]]:
    """``work``'s value and the CPU seconds each process group used while it ran."""
    box: list[Any] = []

    async def run() -> None:
        box.append(await work)

    used = await cpu.measure(groups, run())
    return box[0], used


async def run_raw(
    results: dict[str, Measurement], url: str, bootstrap: str, groups: dict[str, cpu.Pids]
) -> None:
    pool = await asyncpg.create_pool(url, min_size=WRITERS, max_size=WRITERS)
    try:
        await raw.create_table(pool)
        workloads: list[tuple[str, Callable[[], Awaitable[tuple[int, float]]]]] = [
            ("raw.single1", lambda: raw.insert_single(pool, 1, SINGLE_EVENTS)),
            ("raw.single8", lambda: raw.insert_single(pool, WRITERS, SINGLE_EVENTS)),
            ("raw.batch", lambda: raw.insert_batches(pool, BULK_EVENTS, BATCH_SIZE)),
            ("raw.copy", lambda: raw.copy(pool, BULK_EVENTS, BATCH_SIZE)),
            ("raw.read", lambda: raw.read_all(pool)),
            ("raw.produce", lambda: raw.produce(bootstrap, PRODUCE_EVENTS)),
        ]
        for key, workload in workloads:
            step(key)
            (events, seconds), used = await metered(groups, workload())
            results[key] = Measurement(events, seconds, cpu=used)
    finally:
        await raw.drop_table(pool)
        await pool.close()


async def run_library(
    results: dict[str, Measurement], url: str, groups: dict[str, cpu.Pids]
) -> None:
    lib = await asyncio.to_thread(library.Library, url, WRITERS)
    try:
        workloads: list[tuple[str, Callable[[], tuple[int, float]]]] = [
            ("es.single1", lambda: lib.save_single(1, SINGLE_EVENTS)),
            ("es.single8", lambda: lib.save_single(WRITERS, SINGLE_EVENTS)),
            ("es.batch", lambda: lib.save_batches(BULK_EVENTS // BATCH_SIZE, BATCH_SIZE)),
            ("es.read", lib.read_all),
        ]
        for key, workload in workloads:
            step(key)
            (events, seconds), used = await metered(groups, asyncio.to_thread(workload))
            results[key] = Measurement(events, seconds, cpu=used)
    finally:
        await asyncio.to_thread(lib.close)


async def guarded(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, str]:
    """(value, seconds, note) of one zhengfeng call: note is "n/a" for NotImplementedError,
    "error" for any other exception (traceback on stderr; the bench goes on), else ""."""
    start = time.perf_counter()
    try:
        value = await call()
    except NotImplementedError:
        return None, 0.0, "n/a"
    except Exception:
        traceback.print_exc()
        return None, 0.0, "error"
    return value, time.perf_counter() - start, ""


async def run_zhengfeng(
    results: dict[str, Measurement], url: str, bootstrap: str, groups: dict[str, cpu.Pids]
) -> None:
    step("zhengfeng setup")
    ctx, _, note = await guarded(lambda: zf.setup(url, bootstrap))
    if note:
        zf_keys = [row[0] for row in ROWS if row and row[0].startswith("zf.")]
        results.update(dict.fromkeys(zf_keys, Measurement(note=note)))
        return
    per_writer, n_batches = SINGLE_EVENTS // WRITERS, BULK_EVENTS // BATCH_SIZE

    async def eight_writers() -> None:
        await asyncio.gather(*(zf.append_single(ctx, w, per_writer) for w in range(1, 1 + WRITERS)))

    # (key, call, events appended — None: the count the call returns)
    calls: list[tuple[str, Callable[[], Awaitable[Any]], int | None]] = [
        ("zf.single1", lambda: zf.append_single(ctx, 0, SINGLE_EVENTS), SINGLE_EVENTS),
        ("zf.single8", eight_writers, per_writer * WRITERS),
        ("zf.batch", lambda: zf.append_batch(ctx, n_batches, BATCH_SIZE), n_batches * BATCH_SIZE),
        ("zf.read", lambda: zf.read_all(ctx), None),
        ("zf.relay", lambda: zf.relay(ctx), None),
    ]
    try:
        for key, call, events in calls:
            step(key)
            (value, seconds, note), used = await metered(groups, guarded(call))
            results[key] = Measurement(value if events is None else events, seconds, note, used)
    finally:
        await guarded(lambda: zf.teardown(ctx))


async def machine_facts(url: str, broker: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        pg = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "wal_sync_method", "shared_buffers")
        }
    finally:
        await conn.close()
    packages = ("asyncpg", "aiokafka", "eventsourcing", "psycopg", "rich")
    libs = ", ".join(f"{p} {version(p)}" for p in packages)
    return [
        ("CPU cores", str(os.cpu_count())),
        ("PostgreSQL", f"{pg} ({', '.join(f'{k}={v}' for k, v in settings.items())})"),
        ("Broker", broker),
        ("Python", sys.version.split()[0]),
        ("Libraries", libs),
        ("Sizes", f"BENCH_SCALE={SCALE:g}: {SINGLE_EVENTS} single appends per writer config, "
                  f"{BULK_EVENTS} batched/COPY, {PRODUCE_EVENTS} produced; "
                  f"payload {len(PAYLOAD_BYTES)} bytes"),
    ]  # fmt: skip


def ratio(results: dict[str, Measurement], key: str, ref: str | None, name: str) -> str | None:
    mine, theirs = results[key].rate, results[ref].rate if ref else None
    return f"{mine / theirs:.2f} × {name}" if mine and theirs else None


def cpu_ratio(results: dict[str, Measurement], key: str, ref: str | None, name: str) -> str | None:
    """The reference's CPU per event over this row's: like the rate ratio, higher is better."""
    mine = results[key].cpu_per_event
    theirs = results[ref].cpu_per_event if ref else None
    return f"{theirs / mine:.2f} × {name}" if mine and theirs else None


def _us(value: float) -> str:
    return f"{value:.1f}" if value < 20 else f"{value:.0f}"


def cpu_cell(m: Measurement) -> str:
    """``total (bench + postgres [+ broker])`` µs per event."""
    if m.cpu_per_event is None or m.cpu is None or not m.events:
        return ""
    parts = [m.cpu.get(g, 0.0) / m.events * 1e6 for g in GROUPS]
    shown = " + ".join(_us(p) for p in (parts if parts[2] >= 0.05 else parts[:2]))
    return f"{_us(m.cpu_per_event)} ({shown})"


def render(facts: list[tuple[str, str]], results: dict[str, Measurement]) -> None:
    console = Console()
    console.width = max(console.width, 200)  # keep rows on one line when piped
    about = Table.grid(padding=(0, 2))
    for name, value in facts:
        about.add_row(f"[bold]{name}[/bold]", value)
    console.print(about)

    table = Table(title="Zhengfeng bench (events/s and CPU per event; ratios: higher is better)")
    table.add_column("workload", no_wrap=True)
    table.add_column("events", justify="right")
    table.add_column("events/s", justify="right")
    table.add_column("ratio (÷ raw ceiling, ÷ eventsourcing)")
    table.add_column("CPU µs/event (bench + PostgreSQL [+ broker])", justify="right")
    table.add_column("CPU ratio (÷ raw, ÷ eventsourcing)")
    for row in ROWS:
        if row is None:
            table.add_section()
            continue
        key, label, raw_key, es_key = row
        m = results.get(key, Measurement(note="not run"))
        ratios = [ratio(results, key, raw_key, "raw"), ratio(results, key, es_key, "eventsourcing")]
        cpu_ratios = [
            cpu_ratio(results, key, raw_key, "raw"),
            cpu_ratio(results, key, es_key, "eventsourcing"),
        ]
        table.add_row(
            label,
            "" if m.note or m.events is None else f"{m.events:,}",
            m.note or f"{m.rate:,.0f}",
            ", ".join(r for r in ratios if r),
            cpu_cell(m),
            ", ".join(r for r in cpu_ratios if r),
        )
    console.print(table)


async def own_process() -> list[int]:
    return [os.getpid()]


async def main() -> None:
    url = await infra.database_url()
    results: dict[str, Measurement] = {}
    async with infra.broker() as (bootstrap, broker):
        facts = await machine_facts(url, broker)
        async with infra.postgres_pids(url) as postgres:
            groups = {"bench": own_process, "postgres": postgres, "broker": infra.broker_pids}
            await run_raw(results, url, bootstrap, groups)
            await run_library(results, url, groups)
            await run_zhengfeng(results, url, bootstrap, groups)
    render(facts, results)


if __name__ == "__main__":
    run(main())
