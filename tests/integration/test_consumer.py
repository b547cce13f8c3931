"""The consumer runner: exactly-once effects over at-least-once delivery, dead letters.

Every test has its own topic, dead-letter topic, consumer group and schemas. Events are
real envelopes read back from a real store and produced in Kafka binary mode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.consumer import COMMIT_INTERVAL, ConsumerRunner, Handler, appending_handler
from libs.events.contracts.intake import ClueReceived
from libs.events.envelope import Envelope, to_kafka
from libs.events.store import ANY, EventStore, Metadata
from tests.conftest import Schemas, unique
from tests.factories import clue_received, note
from tests.integration.kafka_support import (
    append_across_streams,
    count,
    event_id,
    header,
    new_topic,
    read_topic,
    running,
    started_producer,
    wait_until,
)

META = Metadata(actor="system:test", correlation_id="corr-consumer-tests")
SESSION_TIMEOUT_MS = 1000

# The handlers' visible effect. No unique key on purpose: a repeated effect shows up as
# an extra row instead of being hidden by a constraint.
APPLIED = """CREATE TABLE applied (
    event_id uuid NOT NULL, stream_id text NOT NULL, version integer NOT NULL,
    consumer text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"""


class Rig:
    """A topic, its dead-letter topic, a consumer schema and a producer for one test."""

    def __init__(
        self, *, bootstrap: str, engine: AsyncEngine, producer: AIOKafkaProducer, topic: str
    ) -> None:
        self.bootstrap = bootstrap
        self.engine = engine
        self.producer = producer
        self.topic = topic
        self.dead_letter_topic = f"{topic}.dlq"
        self.group = unique("group")

    def runner(
        self, handler: Handler, *, group: str | None = None, **options: Any
    ) -> ConsumerRunner:
        return ConsumerRunner(
            engine=self.engine,
            bootstrap=self.bootstrap,
            group_id=group or self.group,
            topics=[self.topic],
            handler=handler,
            dead_letter_topic=self.dead_letter_topic,
            producer=self.producer,
            # Short sessions keep group joins and hand-overs quick on the embedded broker.
            **{"session_timeout_ms": SESSION_TIMEOUT_MS, **options},
        )

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Produce envelopes the way the relay does, in order, and wait for the acks."""
        deliveries = []
        for envelope in envelopes:
            key, value, headers = to_kafka(envelope)
            deliveries.append(
                await self.producer.send(self.topic, key=key, value=value, headers=headers)
            )
        await asyncio.gather(*deliveries)

    async def count(self, sql: str, **params: Any) -> int:
        return await count(self.engine, sql, **params)


async def rig(schemas: Schemas, bootstrap: str, producer: AIOKafkaProducer) -> Rig:
    topic = unique("consumer")
    await new_topic(bootstrap, topic)
    await new_topic(bootstrap, f"{topic}.dlq")
    engine = await schemas.migrated("casework")
    async with engine.begin() as conn:
        await conn.execute(text(APPLIED))
    return Rig(bootstrap=bootstrap, engine=engine, producer=producer, topic=topic)


def recording(name: str = "consumer") -> Handler:
    """A handler whose effect is one row in ``applied`` per event it handles."""

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        await conn.execute(
            text(
                "INSERT INTO applied (event_id, stream_id, version, consumer) VALUES (:i, :s, :v, :c)"
            ),
            {"i": envelope.id, "s": envelope.subject, "v": envelope.streamversion, "c": name},
        )

    return handle


async def notes(store: EventStore, stream: str, n: int) -> list[Envelope]:
    """``n`` events on one stream (one key, so one partition), as envelopes."""
    recorded = await store.append(
        stream, [note(stream, i) for i in range(1, n + 1)], expected_version=ANY, meta=META
    )
    return [r.envelope for r in recorded]


async def test_redelivered_events_take_effect_once_and_are_counted_as_duplicates(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        downstream = EventStore(r.engine, source="/zhengfeng/casework")
        handler = appending_handler(
            downstream,
            ClueReceived,
            lambda clue: {f"clue-{clue.clue_id}": [note("registered")]},
            actor="system:casework",
        )
        clues = [
            r.envelope
            for n in range(2)
            for r in await store.append(
                f"clue-source-{n}", [clue_received()], expected_version=ANY, meta=META
            )
        ]
        first, second = clues
        await r.publish([first, first, second, first])

        runner = r.runner(handler)
        async with running(runner.run):

            async def all_seen() -> bool:
                return runner.stats.processed + runner.stats.duplicates == 4

            await wait_until(all_seen, "the runner to see all four deliveries")

        assert (runner.stats.processed, runner.stats.duplicates) == (2, 2)
        for clue in clues:
            (effect,) = await downstream.read_stream(f"clue-{clue.data['clue_id']}")
            assert effect.envelope.causationid == str(clue.id)
            assert effect.envelope.correlationid == "corr-consumer-tests"
        assert await r.count("SELECT count(*) FROM inbox") == 2

        # Offsets lost (a new group replays the topic from the start): still no new effect.
        replay = r.runner(handler, group=unique("replaying_group"))
        async with running(replay.run):

            async def replayed() -> bool:
                return replay.stats.duplicates == 4

            await wait_until(replayed, "a fresh group to replay the four deliveries")
        assert replay.stats.processed == 0
        for clue in clues:
            assert await downstream.stream_version(f"clue-{clue.data['clue_id']}") == 1


async def test_poison_message_is_retried_with_backoff_then_dead_lettered_and_the_partition_moves_on(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        events = await notes(store, "case-poison", 5)
        poison = events[2]
        attempts: list[float] = []
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            if envelope.id == poison.id:
                attempts.append(time.monotonic())
                raise RuntimeError("cannot handle note 3")
            await record(conn, envelope)

        await r.publish(events)
        runner = r.runner(handler, max_attempts=3, backoff=0.05, max_backoff=1.0)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.processed == 4 and runner.stats.dead_letters == 1

            await wait_until(settled, "four events applied and one dead-lettered")

        async with r.engine.connect() as conn:
            versions = (
                (await conn.execute(text("SELECT version FROM applied ORDER BY applied_at")))
                .scalars()
                .all()
            )
            parked = (await conn.execute(text("SELECT * FROM dead_letters"))).mappings().all()
        assert versions == [1, 2, 4, 5], "the events after the poison one are still processed"
        assert len(attempts) == 3
        assert attempts[1] - attempts[0] >= 0.05 and attempts[2] - attempts[1] >= 0.1, (
            "retries wait, doubling the backoff"
        )
        assert await r.count("SELECT count(*) FROM inbox WHERE event_id = :i", i=poison.id) == 0

        (original,) = [
            m for m in await read_topic(bootstrap, r.topic) if event_id(m) == str(poison.id)
        ]
        (dead,) = await read_topic(bootstrap, r.dead_letter_topic)
        assert (dead.key, dead.value) == (original.key, original.value)
        assert "RuntimeError: cannot handle note 3" in (header(dead, "x-error") or "")
        assert header(dead, "x-attempts") == "3"
        assert header(dead, "x-consumer-group") == r.group
        assert header(dead, "x-original-topic") == r.topic
        assert header(dead, "x-original-partition") == str(original.partition)
        assert header(dead, "x-original-offset") == str(original.offset)
        for name, value in original.headers:
            assert header(dead, name) == value.decode(), f"original header {name} is kept"

        assert len(parked) == 1
        row = parked[0]
        assert (row["consumer"], row["topic"], row["partition"], row["offset"]) == (
            r.group,
            r.topic,
            original.partition,
            original.offset,
        )
        assert row["event_id"] == str(poison.id)
        assert row["attempts"] == 3
        assert "cannot handle note 3" in row["error"]


async def test_records_that_are_not_cloudevents_go_straight_to_the_dead_letter_topic(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        (valid,) = await notes(store, "case-mixed", 1)
        _, _, ce_headers = to_kafka(valid)
        calls: list[UUID] = []
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            calls.append(envelope.id)
            await record(conn, envelope)

        # A plain JSON message, then a CloudEvent whose data is not JSON, then a good one.
        await producer.send_and_wait(r.topic, key=b"case-mixed", value=b'{"hello": "world"}')
        await producer.send_and_wait(
            r.topic, key=b"case-mixed", value=b"not json", headers=ce_headers
        )
        await r.publish([valid])
        runner = r.runner(handler, max_attempts=5, backoff=10.0)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.dead_letters == 2 and runner.stats.processed == 1

            await wait_until(settled, "two records dead-lettered and one applied")

        assert calls == [valid.id], "the handler never sees a malformed record"
        dead = await read_topic(bootstrap, r.dead_letter_topic)
        assert [d.value for d in dead] == [b'{"hello": "world"}', b"not json"]
        assert all(header(d, "x-attempts") == "1" for d in dead), "no retries for bad input"
        assert all(
            (header(d, "x-error") or "").startswith("not a Zhengfeng CloudEvent") for d in dead
        )
        async with r.engine.connect() as conn:
            parked = (
                await conn.execute(text("SELECT event_id, attempts FROM dead_letters ORDER BY id"))
            ).all()
        assert [tuple(p) for p in parked] == [(None, 1), (None, 1)]


async def test_a_handler_that_fails_after_writing_leaves_no_half_written_state(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        always, once = await notes(store, "case-flaky", 2)
        failures: dict[UUID, int] = {always.id: 0, once.id: 0}
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            await record(conn, envelope)  # the write happens, then the handler fails
            if envelope.id == always.id or failures[envelope.id] == 0:
                failures[envelope.id] += 1
                raise RuntimeError(f"failed after writing {envelope.id}")

        await r.publish([always, once])
        runner = r.runner(handler, max_attempts=2, backoff=0.01)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.dead_letters == 1 and runner.stats.processed == 1

            await wait_until(settled, "one event dead-lettered and one applied on retry")

        assert failures == {always.id: 2, once.id: 1}
        for envelope, rows in ((always, 0), (once, 1)):
            assert (
                await r.count("SELECT count(*) FROM applied WHERE event_id = :i", i=envelope.id)
                == rows
            )
            assert (
                await r.count("SELECT count(*) FROM inbox WHERE event_id = :i", i=envelope.id)
                == rows
            )


async def test_a_consumer_stopped_mid_stream_commits_so_its_successor_resumes_where_it_stopped(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        # Enough that records are still being applied, several to a transaction, at the stop.
        before = [x.envelope for x in await append_across_streams(store, streams=5, per_stream=40)]
        after = [
            x.envelope
            for x in await append_across_streams(store, streams=5, per_stream=2, prefix="later")
        ]
        total = len(before) + len(after)
        record_first = recording("first")

        async def slow_first(conn: AsyncConnection, envelope: Envelope) -> None:
            await asyncio.sleep(0.01)  # still busy with fetched records when asked to stop
            await record_first(conn, envelope)

        await r.publish(before)
        first = r.runner(slow_first)
        async with running(first.run):

            async def part_way() -> bool:
                return first.stats.processed >= 10

            await wait_until(part_way, "the first runner to apply some events")
        assert first.stats.processed < len(before), "the first runner was not stopped mid-stream"

        await r.publish(after)
        second = r.runner(recording("second"))
        async with running(second.run):

            async def all_applied() -> bool:
                return await r.count("SELECT count(DISTINCT event_id) FROM applied") == total

            await wait_until(all_applied, "the restarted runner to apply the rest")

        assert second.stats.duplicates == 0, "the restarted runner re-read committed records"
        assert first.stats.processed + second.stats.processed == total
        assert await r.count("SELECT count(*) FROM applied") == total


async def test_consumers_joining_mid_stream_share_the_partitions_and_apply_each_event_once(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        record_first = recording("first")

        async def slow_first(conn: AsyncConnection, envelope: Envelope) -> None:
            # Slow enough that the first runner is still working through a batch when
            # the group takes half of its partitions away.
            await asyncio.sleep(0.02)
            await record_first(conn, envelope)

        first = r.runner(slow_first)
        second = r.runner(recording("second"))
        produced = 0

        async def produce(streams: int = 12, per_stream: int = 1) -> None:
            nonlocal produced
            wave = await append_across_streams(
                store, streams=streams, per_stream=per_stream, prefix=f"wave{produced}"
            )
            await r.publish([x.envelope for x in wave])
            produced += len(wave)

        async with running(first.run):
            await produce(streams=30, per_stream=3)

            async def first_started() -> bool:
                return first.stats.processed > 0

            await wait_until(first_started, "the first runner to start applying events")

            async with running(second.run):
                # Keep producing while the group rebalances, until both members did work.
                async def both_working() -> bool:
                    await produce()
                    return second.stats.processed > 0 and first.stats.processed > 0

                await wait_until(both_working, "the second runner to get partitions", interval=0.1)
                await produce(per_stream=2)

                async def all_applied() -> bool:
                    return await r.count("SELECT count(DISTINCT event_id) FROM applied") == produced

                await wait_until(all_applied, "every produced event to be applied")

        assert await r.count("SELECT count(*) FROM applied") == produced, "an effect repeated"
        assert await r.count("SELECT count(*) FROM inbox") == produced
        assert first.stats.processed + second.stats.processed == produced
        assert await r.count("SELECT count(DISTINCT consumer) FROM applied") == 2


async def test_an_event_altered_after_it_was_stored_is_parked_not_applied(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        forged, genuine = await notes(store, "case-forged", 2)
        key, _, headers = to_kafka(forged)
        record = recording()

        # Someone with access to the topic rewrites an event's data on the way.
        await producer.send_and_wait(
            r.topic, key=key, value=b'{"n":1,"text":"nothing to see"}', headers=headers
        )
        await r.publish([genuine])
        runner = r.runner(record, max_attempts=5, backoff=10.0)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.dead_letters == 1 and runner.stats.processed == 1

            await wait_until(settled, "the forged event parked and the genuine one applied")

        assert await r.count("SELECT count(*) FROM applied WHERE event_id = :i", i=forged.id) == 0
        (dead,) = await read_topic(bootstrap, r.dead_letter_topic)
        assert "event hash does not match" in (header(dead, "x-error") or "")
        assert header(dead, "ce_id") == str(forged.id)


async def test_fetches_wait_briefly_at_the_broker_while_records_keep_coming_and_long_when_idle(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    # The embedded broker answers a waiting fetch only when its wait is over: a record
    # published meanwhile waits with it. The runner asks for the short wait while there is
    # traffic and for the long one once it has stopped, in the fetch requests aiokafka makes.
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        runner = r.runner(recording(), fetch_wait_ms=400, busy_fetch_wait_ms=15, busy_seconds=4)

        def waiting(ms: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return runner.fetch_wait == ms

            return check

        def applied(n: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return await r.count("SELECT count(*) FROM applied") == n

            return check

        async with running(runner.run):
            await wait_until(waiting(400), "the idle consumer to fetch with the long wait")
            for stream, n, total in (("fetch-pace-1", 3, 3), ("fetch-pace-2", 2, 5)):
                await r.publish(await notes(store, stream, n))
                await wait_until(applied(total), f"{total} records to be applied")
                # records came just now: the next fetch waits briefly
                assert runner.fetch_wait == 15
                await wait_until(waiting(400), "the wait to lengthen once the traffic stopped")
        assert await r.count("SELECT count(*) FROM applied") == 5


async def test_offsets_are_committed_about_once_a_second_while_records_come_and_at_once_on_stop(
    schemas: Schemas, store: EventStore, bootstrap: str, monkeypatch: Any
) -> None:
    # An offset commit is a request to the broker; the inbox and the positions, not the
    # offsets, keep a record from being applied twice. A runner fed a record every tenth of
    # a second commits about once a second, and everything it applied when it stops (its
    # successor in the group then fetches nothing again).
    commits: list[dict[Any, int]] = []
    original = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        commits.append({tp: int(getattr(o, "offset", o)) for tp, o in (offsets or {}).items()})
        await original(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        runner = r.runner(recording(), busy_fetch_wait_ms=20)
        envelopes = await notes(store, "commit-pace", 20)
        async with running(runner.run):
            started = time.monotonic()
            for envelope in envelopes:
                await r.publish([envelope])
                await asyncio.sleep(0.1)

            async def all_applied() -> bool:
                return await r.count("SELECT count(*) FROM applied") == len(envelopes)

            await wait_until(all_applied, "every record to be applied")
            busy = time.monotonic() - started
            while_running = len(commits)
        assert 1 <= while_running <= busy / COMMIT_INTERVAL + 2, (while_running, busy)
        assert sum(commits[-1].values()) == len(envelopes)  # one partition: its end

        successor = r.runner(recording("successor"))
        async with running(successor.run):
            await r.publish(await notes(store, "commit-pace-after", 1))

            async def one_more() -> bool:
                return await r.count("SELECT count(*) FROM applied") == len(envelopes) + 1

            await wait_until(one_more, "the successor to apply the new record")
        assert (successor.stats.processed, successor.stats.duplicates) == (1, 0)
