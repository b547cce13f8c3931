"""Casework bench: timeline query p50/p99 over a store of 1 000 000 events, and the rate of
rebuilding casework's read models from zero — each next to a raw read of the same rows.

    .venv/bin/python -m bench.casework_timeline            # 1 000 000 events
    BENCH_SCALE=0.1 .venv/bin/python -m bench.casework_timeline   # 100 000, a quick look

Prints figures; not part of the test suite. The store is filled with valid case streams
(100 events each, made by ``decide``): registration, disposal, filing, investigation and
problem-list commands. A fresh schema in the bench database each run (dropped at the end
unless BENCH_KEEP=1).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import text

from bench import infra
from bench.common import SCALE
from libs.events.contracts import Event
from libs.events.projections import ProjectionRunner
from libs.events.store import EventStore, Metadata
from libs.kit.db import make_engine
from libs.kit.migrations import upgrade_async
from services.casework.api.cases import _entries
from services.casework.domain import COMMANDS, CaseState, decide, load_rules, register, replay
from services.casework.projections import CaseRegisterProjection, ClueLedgerProjection
from services.casework.service import load

EVENTS = int(1_000_000 * SCALE)
PER_STREAM = 100
WRITERS = 4
QUERIES = 1_000
REBUILD_SECONDS = float(os.environ.get("BENCH_REBUILD_SECONDS") or 90)
RULES = load_rules()
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def case_events(case_id: uuid.UUID) -> list[Event]:
    """One valid stream of PER_STREAM events."""
    events = register(
        CaseState(),
        {
            "clue_id": case_id,
            "clue_number": f"XS-{case_id.hex[:8]}",
            "source_kind": "hotline",
            "source_department": None,
            "source_reference": None,
            "reported_persons": [{"name": "王建国", "unit": "某市住建局"}],
            "categories": ["violation_gifts"],
            "narrative": "反映其节日期间收受企业购物卡。",
            "received_at": T0,
        },
        T0,
        RULES,
        assignment={"department": "一室", "officer": "o1", "supervisor": "s1"},
    )
    state = replay(events)
    steps = [
        ("dispose", {"method": "preliminary_verification"}),
        ("conclude_verification", {"outcome": "propose_filing"}),
        (
            "file_case",
            {
                "case_number": f"AJ-{case_id.hex[:8]}",
                "subject": {"name": "王建国", "unit": "某市住建局"},
            },
        ),
        ("start_investigation", {}),
    ]
    item = 0
    while len(events) < PER_STREAM:
        if steps:
            name, fields = steps.pop(0)
        else:
            stage = ["assign_task", "track_task", "feedback_task", "revisit_task"][item % 4]
            fields = {"item": f"清单-{item // 4}"}
            if stage == "assign_task":
                fields["due"] = "2026-12-31"
            name = stage
            item += 1
        cmd = COMMANDS[name](reason="依据材料", documents=["材料1"], **fields)
        new = decide(state, cmd, T0 + timedelta(minutes=len(events)), RULES, actor="operator:o1")
        state = replay(new, state)
        events += new
    return events[:PER_STREAM]


TEMPLATE: list[Event] = []


def retargeted(cid: uuid.UUID) -> list[Event]:
    """The template stream, made about case ``cid`` (decide runs once, not per case)."""
    if not TEMPLATE:
        TEMPLATE.extend(case_events(uuid.UUID(int=0)))
    out = []
    for e in TEMPLATE:
        update: dict[str, object] = {
            f: cid for f in ("case_id", "clue_id") if getattr(e, f, None) is not None
        }
        if hasattr(e, "clue_ids"):
            update["clue_ids"] = [cid]
        out.append(e.model_copy(update=update))
    return out


async def fill(store: EventStore, ids: list[uuid.UUID]) -> float:
    queue = list(ids)
    done = 0
    started = time.perf_counter()

    async def writer() -> None:
        nonlocal done
        while queue:
            # Ten new streams per transaction: fewer commits, the same appends.
            chunk, queue[-10:] = queue[-10:], []
            async with store.engine.begin() as conn:
                for cid in chunk:
                    events = retargeted(cid)
                    await store.append(
                        f"clue-{cid}",
                        events,
                        expected_version=0,
                        meta=Metadata(actor="bench"),
                        conn=conn,
                    )
                    done += len(events)
            if done % 50_000 < 10 * PER_STREAM:
                rate = done / (time.perf_counter() - started)
                print(f"  filled {done:,} events ({rate:,.0f}/s)", flush=True)

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return time.perf_counter() - started


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def timeline_query(store: EventStore, cid: uuid.UUID, as_of: datetime | None) -> int:
    state, records = await load(store, cid, as_of=as_of)
    return len(_entries(cid, records)) + (state.version > 0)


async def main() -> None:
    url = await infra.database_url()
    # BENCH_SCHEMA reuses (and tops up) a store left by an earlier run with BENCH_KEEP=1.
    schema = os.environ.get("BENCH_SCHEMA") or f"bench_casework_{uuid.uuid4().hex[:8]}"
    print(f"casework bench: {EVENTS:,} events in {schema} ({url})", flush=True)
    await upgrade_async(url, "casework", schema)
    engine = make_engine(url, schema, pool_size=WRITERS + 2)
    store = EventStore(engine, source="/zhengfeng/casework")
    raw = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        have = [
            uuid.UUID(r[0].removeprefix("clue-"))
            for r in await raw.fetch("SELECT stream_id FROM streams WHERE stream_id LIKE 'clue-%'")
        ]
        new = [uuid.uuid4() for _ in range(max(0, EVENTS // PER_STREAM - len(have)))]
        seconds = await fill(store, new)
        ids = have + new
        added = len(new) * PER_STREAM
        print(
            f"fill: {added:,} new events in {seconds:.0f} s ({added / max(seconds, 1e-9):,.0f}/s)"
        )
        total = await raw.fetchval("SELECT count(*) FROM events")
        print(f"store: {total:,} events in {len(ids):,} case streams")
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE events"))

        sample = random.Random(7).choices(ids, k=QUERIES)
        # as_of: the time of each sampled case's 50th event (half its timeline).
        middle = {
            cid: await raw.fetchval(
                "SELECT time FROM events WHERE stream_id = $1 AND stream_version = $2",
                f"clue-{cid}",
                PER_STREAM // 2,
            )
            for cid in set(sample)
        }
        for label in ("now", "as_of"):
            timings: list[float] = []
            for cid in sample:
                as_of = middle[cid] if label == "as_of" else None
                t = time.perf_counter()
                await timeline_query(store, cid, as_of)
                timings.append(time.perf_counter() - t)
            raw_timings: list[float] = []
            for cid in sample:
                t = time.perf_counter()
                if label == "now":
                    await raw.fetch(
                        "SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version",
                        f"clue-{cid}",
                    )
                else:
                    await raw.fetch(
                        "SELECT * FROM events WHERE stream_id = $1 AND time <= $2"
                        " ORDER BY stream_version",
                        f"clue-{cid}",
                        middle[cid],
                    )
                raw_timings.append(time.perf_counter() - t)
            print(
                f"timeline ({label}, {PER_STREAM} events/case, {QUERIES} queries): "
                f"p50 {pct(timings, 0.5):.2f} ms, p99 {pct(timings, 0.99):.2f} ms | "
                f"raw rows ceiling p50 {pct(raw_timings, 0.5):.2f} ms, "
                f"p99 {pct(raw_timings, 0.99):.2f} ms",
                flush=True,
            )
        if os.environ.get("BENCH_ONLY") == "timeline":
            return

        # Raw ceiling: read every row in store order, in the projection's batch size.
        t = time.perf_counter()
        rows = 0
        async with raw.transaction():
            cursor = raw.cursor("SELECT * FROM events ORDER BY global_position", prefetch=500)
            async for _ in cursor:
                rows += 1
        raw_seconds = time.perf_counter() - t
        print(f"raw read of all {rows:,} rows in order: {rows / raw_seconds:,.0f} rows/s")

        runner = ProjectionRunner(store, [])
        for projection in (ClueLedgerProjection(), CaseRegisterProjection(RULES)):
            async with engine.begin() as conn:
                for table in projection.tables:
                    await conn.execute(text(f'TRUNCATE "{table}"'))
                await conn.execute(
                    text("DELETE FROM projection_checkpoints WHERE name = :n"),
                    {"n": projection.name},
                )
            applied, t = 0, time.perf_counter()
            while time.perf_counter() - t < REBUILD_SECONDS and (
                n := await runner.step(projection)
            ):
                applied += n
            elapsed = time.perf_counter() - t
            whole = "whole store" if applied >= EVENTS else f"first {REBUILD_SECONDS:.0f} s"
            print(
                f"rebuild {projection.name} from zero ({whole}): {applied:,} events in "
                f"{elapsed:.1f} s = {applied / elapsed:,.0f} events/s"
            )
    finally:
        await raw.close()
        await engine.dispose()
        if not os.environ.get("BENCH_KEEP"):
            admin = await asyncpg.connect(url)
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
