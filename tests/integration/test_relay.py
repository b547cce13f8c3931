"""The relay: the store is the outbox, and every event reaches Kafka at least once.

Real PostgreSQL, real broker. The crash test kills a relay *process* with SIGKILL in the
middle of its work and checks that a restarted one loses nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import asyncpg
import pytest
from aiokafka.partitioner import murmur2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import kafka
from libs.events import relay as relay_module
from libs.events.envelope import from_kafka
from libs.events.relay import Relay
from libs.events.store import START, EventStore
from libs.kit.db import make_engine
from tests.conftest import unique
from tests.integration.kafka_support import (
    append_across_streams,
    data,
    event_id,
    header,
    new_topic,
    read_topic,
    running,
    started_producer,
    unpublished,
    wait_relay_caught_up,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]


async def current_schema(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(text("SELECT current_schema()"))).scalar_one())


async def test_relay_publishes_every_event_keyed_by_stream_as_a_binary_mode_cloudevent(
    store: EventStore, bootstrap: str
) -> None:
    topic = await new_topic(bootstrap, unique("relay"))
    streams, per_stream = 12, 10
    recorded = await append_across_streams(store, streams=streams, per_stream=per_stream)

    async with started_producer(bootstrap) as producer:
        relay = Relay(store, producer, topic, bootstrap=bootstrap, batch_size=25)
        async with running(relay.run):
            await wait_relay_caught_up(relay)
    records = await read_topic(bootstrap, topic)

    appended = {
        # The relay adds the event's writing transaction: its place in the commit order.
        str(r.envelope.id): dataclasses.replace(r.envelope, txid=r.checkpoint.tx_id)
        for r in recorded
    }
    assert sorted(event_id(r) for r in records) == sorted(appended), "each event exactly once"
    for record in records:
        envelope = appended[event_id(record)]
        assert record.key == envelope.subject.encode()
        assert header(record, "ce_specversion") == "1.0"
        assert header(record, "ce_type") == "zhengfeng.test.note_taken"
        assert header(record, "ce_source") == "/zhengfeng/test"
        assert header(record, "ce_subject") == envelope.subject
        assert header(record, "ce_streamversion") == str(envelope.streamversion)
        assert header(record, "ce_typeversion") == "1"
        assert header(record, "ce_correlationid") == "corr-kafka-tests"
        assert header(record, "ce_actor") == "system:test"
        assert header(record, "ce_eventhash") == envelope.eventhash
        assert header(record, "ce_prevhash") == envelope.prevhash
        assert header(record, "ce_time") is not None
        assert header(record, "ce_dataschema") == envelope.dataschema
        assert header(record, "content-type") == "application/json"
        assert data(record) == envelope.data
        assert from_kafka(record.value, record.headers) == envelope

    partitions: dict[str, set[int]] = defaultdict(set)
    versions: dict[str, list[int]] = defaultdict(list)
    for record in records:  # partition by partition, in offset order
        subject = header(record, "ce_subject")
        assert subject is not None
        partitions[subject].add(record.partition)
        versions[subject].append(int(header(record, "ce_streamversion") or 0))
    assert len(versions) == streams
    assert all(len(p) == 1 for p in partitions.values()), "a stream must stay on one partition"
    assert all(v == list(range(1, per_stream + 1)) for v in versions.values()), versions
    places: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for record in records:
        places[record.partition].append(
            (int(header(record, "ce_txid") or 0), int(header(record, "ce_position") or 0))
        )
    assert all(p == sorted(p) for p in places.values()), "a partition out of commit order"


async def test_a_batch_larger_than_the_producers_record_batches_arrives_whole_and_in_order(
    store: EventStore, bootstrap: str
) -> None:
    # The relay builds a record batch per partition itself; with record batches of 4 kB
    # each partition's share of a relay batch spans several, handed over one after another.
    topic = await new_topic(bootstrap, unique("relay-split"))
    streams, per_stream = 7, 30
    recorded = await append_across_streams(store, streams=streams, per_stream=per_stream)
    producer = kafka.producer(bootstrap, max_batch_size=4096)
    await producer.start()
    try:
        relay = Relay(store, producer, topic, bootstrap=bootstrap, batch_size=500)
        assert await relay.publish_batch() == streams * per_stream
        assert await relay.publish_batch() == 0
    finally:
        await producer.stop()
    records = await read_topic(bootstrap, topic)

    assert sorted(event_id(r) for r in records) == sorted(str(r.envelope.id) for r in recorded)
    assert await unpublished(relay) == 0
    versions: dict[str, list[int]] = defaultdict(list)
    for record in records:  # partition by partition, in offset order
        assert record.key is not None
        # Where the producer's own partitioner would have put the key.
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % 6
        versions[record.key.decode()].append(int(header(record, "ce_streamversion") or 0))
    assert all(v == list(range(1, per_stream + 1)) for v in versions.values()), versions
    assert len(versions) == streams


async def test_relay_killed_mid_batch_resumes_without_losing_events(
    store: EventStore, bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    batch_size = 50
    recorded = await append_across_streams(store, streams=60, per_stream=50, chunk=10)
    total = len(recorded)
    topic = await new_topic(bootstrap, unique("relay_crash"))
    schema = await current_schema(store.engine)
    output = tmp_path / "relay-worker.log"

    async def start_worker() -> asyncio.subprocess.Process:
        with output.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.relay_worker",
                database_url,
                schema,
                bootstrap,
                topic,
                str(batch_size),
                cwd=ROOT,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    def alive(process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            raise AssertionError(
                f"relay worker exited early ({process.returncode}):\n{output.read_text()}"
            )

    async with started_producer(bootstrap) as producer:
        observer = Relay(store, producer, topic, bootstrap=bootstrap)  # only reads the cursor
        worker = await start_worker()
        async with store.engine.connect() as blocker:
            try:

                async def under_way() -> bool:
                    alive(worker)
                    return await observer.cursor() != START

                await wait_until(under_way, "the relay worker to record its first batch")

                # Hold the cursor row: the worker publishes its next batch, then blocks on
                # recording it. Killed there, it dies with a batch sent but not recorded.
                await blocker.begin()
                await blocker.execute(
                    text("SELECT 1 FROM relay_cursors WHERE name = 'kafka' FOR UPDATE")
                )
                me = await blocker.scalar(text("SELECT pg_backend_pid()"))

                async def blocked_on_the_cursor() -> bool:
                    alive(worker)
                    async with store.engine.connect() as waiting:
                        blocked = await waiting.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity"
                                " WHERE :me = ANY(pg_blocking_pids(pid))"
                            ),
                            {"me": me},
                        )
                    return bool(blocked)

                await wait_until(
                    blocked_on_the_cursor, "the relay worker to try to record a published batch"
                )
            finally:
                worker.kill()
                await worker.wait()
                # Its session goes with it (a statement of a dead client waiting on a lock
                # would otherwise still run once the lock is let go).
                await blocker.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                    )
                )
                await blocker.rollback()
        assert worker.returncode == -signal.SIGKILL

        left = await unpublished(observer)
        assert 0 < left < total, f"the worker was not stopped mid-way ({left} of {total} left)"
        on_broker = len(await read_topic(bootstrap, topic))
        assert on_broker > total - left, "the killed relay had sent a batch it did not record"

        worker = await start_worker()
        try:

            async def caught_up() -> bool:
                alive(worker)
                return await unpublished(observer) == 0

            await wait_until(caught_up, "the restarted relay worker to reach the head")
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 30)
        assert worker.returncode == 0, output.read_text()

    records = await read_topic(bootstrap, topic)
    arrived = Counter(event_id(r) for r in records)
    appended = {str(r.envelope.id) for r in recorded}
    missing = appended - set(arrived)
    assert not missing, f"{len(missing)} of {total} events never reached the topic"
    assert set(arrived) == appended
    assert 0 < len(records) - total <= batch_size, "only the batch in flight is sent twice"

    # A consumer that drops repeats sees each stream in version order.
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for record in records:
        if event_id(record) in seen:
            continue
        seen.add(event_id(record))
        first_seen[header(record, "ce_subject") or ""].append(
            int(header(record, "ce_streamversion") or 0)
        )
    assert all(v == list(range(1, 51)) for v in first_seen.values())


async def test_relay_republishes_the_whole_store_when_the_broker_lost_its_data(
    store: EventStore, bootstrap: str
) -> None:
    recorded = await append_across_streams(store, streams=5, per_stream=8)
    appended = sorted(str(r.envelope.id) for r in recorded)
    first = await new_topic(bootstrap, unique("relay_before_wipe"))

    async with started_producer(bootstrap) as producer:
        relay = Relay(store, producer, first, bootstrap=bootstrap)
        async with running(relay.run):
            await wait_relay_caught_up(relay)
        published_to = await relay.cursor()

        assert not await relay.reset_if_broker_was_wiped(), "the topic still holds the events"
        assert await relay.cursor() == published_to

        # The broker came back empty: the same relay (same cursor) meets an empty topic.
        wiped = await new_topic(bootstrap, unique("relay_after_wipe"))
        after_wipe = Relay(store, producer, wiped, bootstrap=bootstrap)
        assert await after_wipe.cursor() == published_to
        assert await after_wipe.reset_if_broker_was_wiped()
        assert await after_wipe.cursor() == START
        async with running(after_wipe.run):
            await wait_relay_caught_up(after_wipe)

        # A broker that lost the topic altogether is detected the same way.
        gone = Relay(store, producer, unique("relay_missing_topic"), bootstrap=bootstrap)
        assert await gone.reset_if_broker_was_wiped()

    assert sorted(event_id(r) for r in await read_topic(bootstrap, first)) == appended
    assert sorted(event_id(r) for r in await read_topic(bootstrap, wiped)) == appended


async def holder_of_relay_lock(engine: AsyncEngine) -> str | None:
    """``application_name`` of the session holding an advisory lock in this schema."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a
                       ON a.pid = l.pid
                       WHERE l.locktype = 'advisory' AND l.granted
                         AND a.datname = current_database()
                         AND a.application_name LIKE '%' || current_schema()"""
                )
            )
        ).all()
    assert len(row) <= 1, f"more than one relay leads: {row}"
    return row[0][0] if row else None


async def test_two_relays_on_one_store_publish_each_event_once_and_a_standby_takes_over(
    store: EventStore, bootstrap: str, database_url: str
) -> None:
    topic = await new_topic(bootstrap, unique("relay_pair"))
    schema = await current_schema(store.engine)
    engines = {name: make_engine(database_url, schema, pool_size=3, app=name) for name in "ab"}
    stops = {name: asyncio.Event() for name in "ab"}
    recorded = await append_across_streams(store, streams=10, per_stream=40)

    async with started_producer(bootstrap) as producer:
        relays = {
            name: Relay(
                EventStore(engine, source="/zhengfeng/test"),
                producer,
                topic,
                bootstrap=bootstrap,
                batch_size=20,
                idle_interval=0.02,
                standby_interval=0.1,
            )
            for name, engine in engines.items()
        }
        tasks = {name: asyncio.create_task(relays[name].run(stops[name])) for name in "ab"}
        try:
            observer = relays["a"]
            await wait_relay_caught_up(observer, "one of two relays to publish the store")
            recorded += await append_across_streams(store, streams=10, per_stream=10, prefix="b")
            await wait_relay_caught_up(observer, "the leader to publish events appended later")
            assert len(await read_topic(bootstrap, topic)) == len(recorded), "both relays published"

            leader = await holder_of_relay_lock(store.engine)
            assert leader is not None and leader.startswith(("a-", "b-")), leader
            leader_name = leader[0]
            stops[leader_name].set()
            await asyncio.wait_for(tasks[leader_name], 30)

            recorded += await append_across_streams(store, streams=10, per_stream=10, prefix="c")
            await wait_relay_caught_up(observer, "the standby to take over from the stopped leader")
            new_leader = await holder_of_relay_lock(store.engine)
            assert new_leader is not None and new_leader[0] != leader_name
        finally:
            for stop in stops.values():
                stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks.values()), 30)
            for engine in engines.values():
                await engine.dispose()

    records = await read_topic(bootstrap, topic)
    arrived = Counter(event_id(r) for r in records)
    assert set(arrived) == {str(r.envelope.id) for r in recorded}
    assert len(records) == len(recorded), (
        f"{len(records) - len(recorded)} events were published by both relays: "
        f"{[i for i, n in arrived.items() if n > 1][:5]}"
    )


async def test_relay_reports_how_many_events_are_still_unpublished(
    store: EventStore, bootstrap: str
) -> None:
    topic = await new_topic(bootstrap, unique("relay-lag"))
    await append_across_streams(store, streams=5, per_stream=5)
    reports: list[tuple[int, int]] = []

    async with started_producer(bootstrap) as producer:
        relay = Relay(
            store,
            producer,
            topic,
            bootstrap=bootstrap,
            batch_size=10,
            on_published=lambda sent, behind: reports.append((sent, behind)),
        )
        while await relay.publish_batch():
            pass

    assert reports == [(10, 15), (10, 5), (5, 0)]


async def test_a_paused_leader_loses_its_lease_a_standby_publishes_and_the_leader_fences_itself(
    store: EventStore, bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    """SIGSTOP the leading relay (a frozen VM, a long stall): the server ends its silent lock
    session after the lease, the standby leads and publishes; woken, the old leader never
    moves the cursor back and leads no more while the other does."""
    lease = 2.0
    recorded = await append_across_streams(store, streams=5, per_stream=10)
    topic = await new_topic(bootstrap, unique("relay_pause"))
    schema = await current_schema(store.engine)
    output = tmp_path / "relay-worker.log"
    with output.open("ab") as log:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.relay_worker", database_url, schema,
            bootstrap, topic, "20", str(lease),
            cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    standby_engine = make_engine(database_url, schema, pool_size=3, app="standby")
    stop = asyncio.Event()
    try:
        async with started_producer(bootstrap) as producer:
            standby = Relay(
                EventStore(standby_engine, source="/zhengfeng/test"),
                producer,
                topic,
                bootstrap=bootstrap,
                standby_interval=0.1,
                lease=lease,
            )
            await wait_relay_caught_up(standby, "the worker to publish the store")
            leader = await holder_of_relay_lock(store.engine)
            assert leader is not None and leader.startswith("zhengfeng-"), leader
            task = asyncio.create_task(standby.run(stop))

            worker.send_signal(signal.SIGSTOP)
            paused_at = time.monotonic()
            recorded += await append_across_streams(store, streams=5, per_stream=4, prefix="p")
            await wait_relay_caught_up(standby, "the standby to take over from the paused leader")
            took_over = time.monotonic() - paused_at
            assert (await holder_of_relay_lock(store.engine) or "").startswith("standby-")

            cursor_before_wake = await standby.cursor()
            worker.send_signal(signal.SIGCONT)
            recorded += await append_across_streams(store, streams=5, per_stream=2, prefix="w")
            await wait_relay_caught_up(standby, "the new leader to go on after the old one woke")
            assert await standby.cursor() >= cursor_before_wake, "the cursor went back"
            assert (await holder_of_relay_lock(store.engine) or "").startswith("standby-")
            stop.set()
            await asyncio.wait_for(task, 30)
    finally:
        stop.set()
        if worker.returncode is None:
            worker.send_signal(signal.SIGCONT)
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 30)
        await standby_engine.dispose()

    records = await read_topic(bootstrap, topic)
    arrived = Counter(event_id(r) for r in records)
    assert set(arrived) == {str(r.envelope.id) for r in recorded}, "an event was lost"
    assert len(records) - len(recorded) <= 20, "more than the batch in flight was sent twice"
    print(f"\nlease {lease:.0f} s: the standby published {took_over:.1f} s after the pause")


async def test_a_relay_held_back_by_an_open_transaction_names_the_backend_holding_it(
    store: EventStore, bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone leaves a write transaction open in the database: events committed after it
    cannot be published (the commit horizon waits for it). The relay says so, naming the
    backend, and goes on by itself once that transaction ends."""
    topic = await new_topic(bootstrap, unique("relay_held"))
    await append_across_streams(store, streams=2, per_stream=2)
    held_for: list[float] = []
    async with started_producer(bootstrap) as producer:
        relay = Relay(
            store,
            producer,
            topic,
            bootstrap=bootstrap,
            idle_interval=0.05,
            held_back_warning=0.5,
            on_held_back=held_for.append,
        )
        async with running(relay.run):
            await wait_relay_caught_up(relay)
            async with store.engine.connect() as forgotten:
                await forgotten.begin()
                await forgotten.execute(text("CREATE TEMP TABLE scratch (x int)"))
                await forgotten.execute(text("INSERT INTO scratch VALUES (1)"))  # takes an xid
                pid = await forgotten.scalar(text("SELECT pg_backend_pid()"))
                later = await append_across_streams(store, streams=2, per_stream=2, prefix="h")

                async def said_so() -> bool:
                    return relay.held_back is not None and any(
                        f"pid {pid}" in r.getMessage() for r in caplog.records
                    )

                with caplog.at_level(logging.WARNING, logger="libs.events.relay"):
                    await wait_until(said_so, "the relay to name the transaction holding it")
                assert relay.held_back is not None and relay.held_back.events == len(later)
                assert max(held_for) >= 0.5, "the metric shows how long it has waited"
                await forgotten.rollback()
            await wait_relay_caught_up(relay, "the relay to go on once the transaction ended")
            assert relay.held_back is None and held_for[-1] == 0.0


async def test_the_relay_asks_the_broker_for_its_topic_only_when_its_connections_changed(
    store: EventStore, bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broker that lost the topic restarted, which closes every connection to it: the
    # relay looks the topic up before its first batch and again only after that.
    topic = await new_topic(bootstrap, unique("relay_topic_seen"))
    async with started_producer(bootstrap) as producer:
        asked: list[float] = []
        original = producer.client.fetch_all_metadata

        async def counted() -> object:
            asked.append(time.monotonic())
            return await original()

        monkeypatch.setattr(producer.client, "fetch_all_metadata", counted)
        relay = Relay(store, producer, topic, bootstrap=bootstrap)
        for n in range(3):
            await append_across_streams(store, streams=1, per_stream=2, prefix=f"seen-{n}")
            assert await relay.publish_batch() == 2
        assert len(asked) == 1, "the topic was looked up for every batch"

        # As a broker restart does: the connections close, and the next batch asks again.
        conns = producer.client._conns  # aiokafka's own: the relay reads it too
        assert conns, "aiokafka no longer keeps its connections where the relay looks"
        for conn in list(conns.values()):
            conn.close()
        await append_across_streams(store, streams=1, per_stream=2, prefix="seen-after")
        assert await relay.publish_batch() == 2
        assert len(asked) == 2, "the topic was not looked up after the connections changed"

    assert len(await read_topic(bootstrap, topic)) == 8


async def test_a_leader_moves_the_cursor_only_on_its_lock_session(
    store: EventStore, bootstrap: str
) -> None:
    """The leader says where it got to on the session that holds its lock (no connection
    of the pool taken for it): once that session is gone, so is the lead, and a batch
    published then leaves the cursor where it was (the next leader sends it again)."""
    topic = await new_topic(bootstrap, unique("relay_lock_session"))
    recorded = await append_across_streams(store, streams=2, per_stream=3)
    async with started_producer(bootstrap) as producer, store.engine.connect() as conn:
        lock = await conn.execution_options(isolation_level="AUTOCOMMIT")
        relay = Relay(store, producer, topic, bootstrap=bootstrap)
        relay._lock_session = await relay_module._session_of(lock)
        assert relay._lock_session is not None
        session = relay._lock_session
        async with store.engine.connect() as other:
            await other.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": session.get_server_pid()}
            )

        async def ended() -> bool:
            return session.is_closed()

        await wait_until(ended, "the lock session to end")

        with pytest.raises(asyncpg.InterfaceError):
            await relay.publish_batch()
        relay._lock_session = None
        await conn.invalidate()

        assert await relay.cursor() == START
    published = {event_id(r) for r in await read_topic(bootstrap, topic)}
    assert published == {str(r.envelope.id) for r in recorded}
