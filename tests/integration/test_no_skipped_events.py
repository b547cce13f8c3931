"""Reading by commit-safe order never skips an event that commits late.

Positions are handed out when rows are inserted, but transactions commit in their own
order. These tests force that to happen and check that a reader following the store
sees every event exactly once, in one increasing order, with each stream in version order.
"""

from __future__ import annotations

import asyncio
import random
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from libs.events.store import ANY, START, Checkpoint, ConcurrencyError, EventStore, Metadata
from tests.conftest import Schemas
from tests.factories import note

META = Metadata(actor="system:test")


async def test_an_event_that_commits_late_with_a_smaller_position_is_not_skipped(
    store: EventStore,
) -> None:
    async with store.engine.connect() as slow:
        slow_tx = await slow.begin()
        (late,) = await store.append(
            "slow", [note("late")], expected_version=ANY, meta=META, conn=slow
        )
        (early,) = await store.append("fast", [note("early")], expected_version=ANY, meta=META)
        assert late.envelope.position < early.envelope.position  # the hazard is set up

        # A reader following positions would return "fast" now and pass "slow" for good.
        assert await store.read_all(START) == []

        await slow_tx.commit()

    seen = await store.read_all(START)
    assert [r.envelope.id for r in seen] == [late.envelope.id, early.envelope.id]


async def test_concurrent_writers_and_a_concurrent_reader_see_every_event_once_in_order(
    schemas: Schemas,
) -> None:
    engine = await schemas.migrated(pool_size=12)
    store = EventStore(engine, source="/zhengfeng/test")
    writers, per_writer, streams_per_writer = 8, 40, 4
    appended: set[UUID] = set()
    committed_positions: list[int] = []  # in the order the commits returned
    done = asyncio.Event()
    rng = random.Random(7)

    async def writer(w: int) -> None:
        for i in range(per_writer):
            async with engine.connect() as conn:
                tx = await conn.begin()
                recorded = await store.append(
                    f"w{w}-s{i % streams_per_writer}",
                    [note(f"{w}:{i}", i)],
                    expected_version=ANY,
                    meta=META,
                    conn=conn,
                )
                # Hold the transaction open a little so commits overtake each other.
                await asyncio.sleep(rng.random() * 0.02)
                await tx.commit()
            appended.update(r.envelope.id for r in recorded)
            committed_positions.extend(r.envelope.position or 0 for r in recorded)

    seen: list[tuple[Checkpoint, UUID, str, int, int]] = []

    async def reader() -> None:
        cursor = START
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            batch = await store.read_all(cursor, limit=25)
            for r in batch:
                seen.append(
                    (r.checkpoint, r.envelope.id, r.stream_id, r.version, r.envelope.position or 0)
                )
            if batch:
                cursor = batch[-1].checkpoint
            elif done.is_set() and len(seen) >= len(appended):
                return
            else:
                await asyncio.sleep(0.005)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    await reading

    ids = [s[1] for s in seen]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert set(ids) == appended, f"{len(appended - set(ids))} events were skipped"
    checkpoints = [s[0] for s in seen]
    assert checkpoints == sorted(checkpoints) and len(set(checkpoints)) == len(checkpoints)
    versions: dict[str, int] = {}
    for _, _, stream, version, _ in seen:
        assert version == versions.get(stream, 0) + 1, f"{stream} out of order"
        versions[stream] = version
    # The run really did commit positions out of order (else it proved nothing): each of
    # these committed after a larger position had, so a reader following positions alone
    # could have passed it for good.
    highest, late = 0, 0
    for position in committed_positions:
        late += position < highest
        highest = max(highest, position)
    assert late > 0


async def test_an_older_transaction_cannot_append_behind_a_newer_commit_on_the_same_stream(
    store: EventStore,
) -> None:
    await store.append("case-1", [note("v1")], expected_version=ANY, meta=META)
    async with store.engine.connect() as old:
        old_tx = await old.begin()
        # This transaction takes its id first (it writes elsewhere) ...
        await store.append("elsewhere", [note("x")], expected_version=ANY, meta=META, conn=old)
        # ... a newer one appends to the stream and commits ...
        await store.append("case-1", [note("v2")], expected_version=ANY, meta=META)
        # ... so appending from the older one would put v3 before v2 in commit order.
        with pytest.raises(ConcurrencyError):
            await store.append("case-1", [note("v3")], expected_version=ANY, meta=META, conn=old)
        await old_tx.rollback()

    assert [r.version for r in await store.read_all(START) if r.stream_id == "case-1"] == [1, 2]


async def test_a_long_transaction_in_another_database_does_not_hold_readers_back(
    store: EventStore, database_url: str
) -> None:
    from libs.kit.db import make_engine

    postgres_db = (
        make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    )
    other_db = make_engine(postgres_db, "public", pooled=False)
    try:
        async with other_db.connect() as other:
            await other.begin()
            await other.execute(text("SELECT pg_current_xact_id()"))  # holds an id, stays open
            (recorded,) = await store.append("case-1", [note("a")], expected_version=ANY, meta=META)

            assert [r.envelope.id for r in await store.read_all(START)] == [recorded.envelope.id]
            assert await store.head() == recorded.checkpoint
            await other.rollback()
    finally:
        await other_db.dispose()


async def test_a_transaction_of_this_database_still_holds_readers_at_its_id(
    store: EventStore,
) -> None:
    async with store.engine.connect() as other:
        await other.begin()
        await other.execute(text("SELECT pg_current_xact_id()"))  # may yet write events
        await store.append("case-1", [note("a")], expected_version=ANY, meta=META)

        assert await store.read_all(START) == []
        await other.rollback()

    assert len(await store.read_all(START)) == 1


async def test_commit_order_is_numeric_across_a_power_of_ten_in_transaction_ids(
    store: EventStore,
) -> None:
    # Transaction ids 98..101 sort as text "100" < "101" < "98" < "99": reading must
    # follow the numbers, a page at a time, and the head must be the largest.
    async with store.engine.begin() as conn:
        for tx in (98, 99, 100, 101):
            await conn.execute(
                text(
                    """INSERT INTO events (tx_id, event_id, stream_id, stream_version, type,
                           type_version, source, time, data, correlation_id, actor, prev_hash, hash)
                       VALUES (CAST(:tx AS xid8), gen_random_uuid(), :s, 1, 'zhengfeng.test.note_taken',
                               1, 'src', now(), '{"text": "x", "n": 0}', 'c', 'a',
                               repeat('0', 64), repeat('0', 64))"""
                ),
                {"tx": tx, "s": f"s-{tx}"},
            )

    seen: list[int] = []
    cursor = START
    while batch := await store.read_all(cursor, limit=2):
        seen += [r.checkpoint.tx_id for r in batch]
        cursor = batch[-1].checkpoint

    assert seen == [98, 99, 100, 101]
    assert (await store.head()).tx_id == 101
