"""Readers wake when their store commits events, not when a poll comes round.

Every runner here polls only once an hour (the fallback), so each delivery the tests wait
for can only have come from a notification: the announcement of an append that committed
on its own, the one an append in a caller's transaction makes at its commit, the
listener's wake-up after it reconnected, or a quick second look at an event a
notification announced while an older transaction still held it below the horizon.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.consumer import ConsumerRunner
from libs.events.envelope import Envelope, to_kafka
from libs.events.projections import ProjectionRunner
from libs.events.relay import Relay
from libs.events.store import ANY, EventStore, Recorded
from libs.events.wakeup import Announcer, Wakeup
from libs.kit.db import make_engine
from tests.conftest import Schemas, unique
from tests.factories import note
from tests.integration.kafka_support import (
    META,
    new_topic,
    running,
    started_producer,
    unpublished,
    wait_until,
)

HOUR = 3600.0


class Seen:
    """A read model that only remembers which streams it was shown."""

    name = "seen"
    tables: Sequence[str] = ()

    def __init__(self) -> None:
        self.streams: list[str] = []

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        self.streams.append(recorded.stream_id)


async def _schema(store: EventStore) -> str:
    async with store.engine.connect() as conn:
        return str((await conn.execute(text("SELECT current_schema()"))).scalar_one())


async def _append(store: EventStore, stream: str) -> None:
    await store.append(stream, [note(stream, 1)], expected_version=ANY, meta=META)


async def test_an_append_wakes_the_relay_and_the_projections_at_once(
    store: EventStore, bootstrap: str
) -> None:
    wakeup = Wakeup(store.engine, await _schema(store))
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    topic = await new_topic(bootstrap, unique("wake"))
    async with started_producer(bootstrap) as producer:
        relay = Relay(
            store, producer, topic, bootstrap=bootstrap, idle_interval=HOUR, waiter=wakeup.waiter()
        )
        async with running(wakeup.run, runner.run, relay.run):
            await asyncio.wait_for(wakeup.listening.wait(), 30)
            for stream in ("case-1", "case-2", "case-3"):
                await _append(store, stream)

                async def delivered(s: str = stream) -> bool:
                    return s in seen.streams and await unpublished(relay) == 0

                await wait_until(delivered, f"{stream} projected and published")
    assert seen.streams == ["case-1", "case-2", "case-3"]


async def test_a_listener_whose_backend_is_killed_reconnects_and_delivery_goes_on(
    store: EventStore,
) -> None:
    wakeup = Wakeup(store.engine, await _schema(store), check_interval=0.5)
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    async with running(wakeup.run, runner.run):
        await asyncio.wait_for(wakeup.listening.wait(), 30)
        await _append(store, "before")
        await wait_until(lambda: _has(seen, "before"), "the event before the kill")

        killed = wakeup.backend_pid
        async with store.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": killed})
        # Committed while nobody may be listening: announced to no one.
        await _append(store, "while-down")

        async def listening_again() -> bool:
            return wakeup.listening.is_set() and wakeup.backend_pid not in (None, killed)

        await wait_until(listening_again, "the listener to reconnect")
        await wait_until(lambda: _has(seen, "while-down"), "the event committed while down")
        await _append(store, "after")
        await wait_until(lambda: _has(seen, "after"), "the event after the reconnect")
    assert seen.streams == ["before", "while-down", "after"]


async def test_an_event_held_below_the_horizon_is_read_once_the_holder_ends(
    store: EventStore,
) -> None:
    """The notification comes while an older transaction (one that appends nothing and so
    notifies nothing when it ends) still holds the event back: the reader looks again."""
    wakeup = Wakeup(store.engine, await _schema(store))
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    async with running(wakeup.run, runner.run):
        await asyncio.wait_for(wakeup.listening.wait(), 30)
        async with store.engine.connect() as holder:
            await holder.execute(text("SELECT pg_current_xact_id()"))  # takes a transaction id
            await _append(store, "held")
            await wait_until(
                lambda: _notified_past(wakeup, runner), "the notification of the held event"
            )
            assert seen.streams == [], "read past an open older transaction"
            await holder.commit()
        await wait_until(lambda: _has(seen, "held"), "the held event once the holder ended")
    assert seen.streams == ["held"]


async def test_every_append_of_a_burst_from_another_process_wakes_the_readers(
    store: EventStore, database_url: str
) -> None:
    """Announcements are coalesced, but the last append of a burst is announced too, and
    a writer that is not the reader's process announces its own."""
    schema = await _schema(store)
    wakeup = Wakeup(store.engine, schema)
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    elsewhere = make_engine(database_url, schema, pool_size=4)
    writer = EventStore(elsewhere, source="/zhengfeng/elsewhere")
    streams = [f"burst-{i}" for i in range(40)]
    try:
        async with running(wakeup.run, runner.run):
            await asyncio.wait_for(wakeup.listening.wait(), 30)
            await asyncio.gather(*(_append(writer, s) for s in streams))

            async def all_seen() -> bool:
                return sorted(seen.streams) == sorted(streams)

            await wait_until(all_seen, "every event of the burst")
    finally:
        await writer.announced()
        await elsewhere.dispose()


async def test_an_append_in_a_callers_transaction_wakes_the_readers_only_if_it_commits(
    store: EventStore,
) -> None:
    wakeup = Wakeup(store.engine, await _schema(store))
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    async with running(wakeup.run, runner.run):
        await asyncio.wait_for(wakeup.listening.wait(), 30)
        async with store.engine.connect() as conn:
            async with conn.begin() as tx:
                await store.append(
                    "rolled-back", [note("x", 1)], expected_version=ANY, meta=META, conn=conn
                )
                await tx.rollback()
        async with store.engine.begin() as conn:
            await store.append(
                "committed", [note("y", 1)], expected_version=ANY, meta=META, conn=conn
            )
            assert wakeup.notified == 0, "announced before its transaction committed"
        await wait_until(lambda: _has(seen, "committed"), "the event of the committed transaction")
    assert seen.streams == ["committed"]


async def test_a_unit_of_works_appends_are_announced_once_it_commits_and_never_if_it_fails(
    store: EventStore,
) -> None:
    announced: list[int] = []

    async def record(tx_id: int) -> None:
        announced.append(tx_id)

    store._announcer = Announcer(record)
    with pytest.raises(RuntimeError):
        async with store.transaction() as conn:
            await store.append("failed", [note("x", 1)], expected_version=ANY, meta=META, conn=conn)
            raise RuntimeError("the command is refused after its append")
    await store.announced()
    assert announced == []

    async with store.transaction() as conn:
        [recorded] = await store.append(
            "committed", [note("y", 1)], expected_version=ANY, meta=META, conn=conn
        )
        await store.append("committed", [note("z", 2)], expected_version=1, meta=META, conn=conn)
        await store.announced()
        assert announced == [], "announced before its transaction committed"
    await store.announced()
    assert announced == [recorded.checkpoint.tx_id]


async def test_a_unit_of_works_append_wakes_the_readers(store: EventStore) -> None:
    wakeup = Wakeup(store.engine, await _schema(store))
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    async with running(wakeup.run, runner.run):
        await asyncio.wait_for(wakeup.listening.wait(), 30)
        async with store.transaction() as conn:
            await store.append(
                "command", [note("y", 1)], expected_version=ANY, meta=META, conn=conn
            )
        await wait_until(lambda: _has(seen, "command"), "the event of the unit of work")
    assert seen.streams == ["command"]


async def test_a_consumers_appends_are_announced_once_its_transaction_commits(
    store: EventStore, schemas: Schemas, bootstrap: str
) -> None:
    """A consumer given its service's store applies records in the store's unit of work:
    what its handler appends is announced after the commit (not notified inside it), and
    wakes the readers; records applied together in one transaction are announced with it."""
    wakeup = Wakeup(store.engine, await _schema(store))
    seen = Seen()
    runner = ProjectionRunner(store, [seen], idle_interval=HOUR, waiter=wakeup.waiter())
    upstream = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
    sent = [
        r.envelope
        for r in await upstream.append(
            "clue-upstream", [note("x", i) for i in range(1, 4)], expected_version=ANY, meta=META
        )
    ]
    announced: list[int] = []
    announce = store._announcer._send

    async def record(tx_id: int) -> None:
        announced.append(tx_id)
        await announce(tx_id)

    store._announcer = Announcer(record)

    async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
        stream = f"reaction-{envelope.data['n']}"
        await store.append(stream, [note(stream, 1)], expected_version=ANY, meta=META, conn=conn)

    topic = await new_topic(bootstrap, unique("wake"))
    async with started_producer(bootstrap) as producer:
        for envelope in sent:
            key, value, headers = to_kafka(envelope)
            await producer.send_and_wait(topic, key=key, value=value, headers=headers)
        consumer = ConsumerRunner(
            engine=store.engine,
            store=store,
            bootstrap=bootstrap,
            group_id=unique("group"),
            topics=[topic],
            handler=handler,
            dead_letter_topic=f"{topic}.dlq",
            producer=producer,
            session_timeout_ms=1000,
        )
        async with running(wakeup.run, runner.run):
            await asyncio.wait_for(wakeup.listening.wait(), 30)
            async with running(consumer.run):

                async def reactions_seen() -> bool:
                    return len(seen.streams) == 3

                await wait_until(reactions_seen, "the consumer's appends to wake the readers")
    assert sorted(seen.streams) == ["reaction-1", "reaction-2", "reaction-3"]
    async with store.engine.connect() as conn:
        last = (await conn.execute(text("SELECT max(tx_id::text::bigint) FROM events"))).scalar()
    assert announced and max(announced) == last, "announced by the consumer's process"


async def _has(seen: Seen, stream: str) -> bool:
    return stream in seen.streams


async def _notified_past(wakeup: Wakeup, runner: ProjectionRunner) -> bool:
    return wakeup.notified > 0 and runner.waiter is not None and runner.waiter.behind(0)
