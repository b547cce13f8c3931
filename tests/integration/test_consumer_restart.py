"""A restart costs what is new: consumers skip what they applied without checking it again.

Each consumer keeps, with its inbox, its position per source partition: the highest place
in the source store's commit order (``ce_txid``, ``ce_position``, signed by the publisher)
applied there. After the broker lost its data (the embedded broker keeps nothing) the
relay publishes the whole store again at new offsets; a consumer, restarted or not, skips
every record at or below its position that its inbox holds (counted as ``known``: one
inbox look-up per batch, no decoding, no checks, no transaction) and applies only what is
new, once. A copied record whose place was forged moves no position; a forgery under an
old place and a new id is parked, not skipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import signing
from libs.events.consumer import ConsumerRunner, Trust
from libs.events.envelope import Envelope, envelope_hash, from_kafka, to_kafka
from libs.events.relay import Relay
from libs.events.store import START, EventStore
from libs.runtime.infra import EmbeddedBroker
from tests.conftest import Schemas, unique
from tests.integration.kafka_support import (
    append_across_streams,
    count,
    new_topic,
    read_topic,
    running,
    started_producer,
    wait_relay_caught_up,
    wait_until,
)
from tests.integration.test_consumer import APPLIED, recording


@dataclasses.dataclass
class Line:
    """intake's store, its relay's signing key, and a consumer schema that trusts it."""

    source: EventStore
    signer: signing.Signer
    keyring: signing.Keyring
    sink: AsyncEngine
    topic: str
    group: str

    def relay(self, producer: AIOKafkaProducer, bootstrap: str) -> Relay:
        return Relay(self.source, producer, self.topic, bootstrap=bootstrap, signer=self.signer)

    def runner(self, bootstrap: str, producer: AIOKafkaProducer) -> ConsumerRunner:
        return ConsumerRunner(
            engine=self.sink,
            bootstrap=bootstrap,
            group_id=self.group,
            topics=[self.topic],
            handler=recording(),
            dead_letter_topic=f"{self.topic}.dlq",
            producer=producer,
            trust=Trust(self.keyring, {self.topic: "intake"}),
            session_timeout_ms=1000,
        )

    async def applied(self) -> tuple[int, int]:
        """(rows, distinct events) of the handler's effect."""
        rows = await count(self.sink, "SELECT count(*) FROM applied")
        return rows, await count(self.sink, "SELECT count(DISTINCT event_id) FROM applied")


@pytest.fixture
async def line(schemas: Schemas, tmp_path: Path) -> AsyncIterator[Line]:
    signing.ensure_keys(tmp_path, ["intake"])
    source = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
    sink = await schemas.migrated("casework")
    async with sink.begin() as conn:
        await conn.execute(text(APPLIED))
    yield Line(
        source,
        signing.signer_for(tmp_path, "intake"),
        signing.Keyring(tmp_path),
        sink,
        unique("restart"),
        unique("group"),
    )


async def applied_all(line: Line, runner: ConsumerRunner, total: int) -> None:
    async def there() -> bool:
        return (await line.applied())[1] == total

    await wait_until(there, f"{total} events applied")


async def settled(runner: ConsumerRunner, records: int) -> None:
    """Until the runner has dealt with ``records`` records one way or another."""

    async def done() -> bool:
        s = runner.stats
        return s.processed + s.duplicates + s.known + s.dead_letters >= records

    await wait_until(done, f"{records} records settled")


async def test_a_consumer_restarted_after_the_broker_lost_its_data_skips_what_it_applied(
    line: Line,
) -> None:
    """The broker restarts empty, the relay publishes the whole store again, the consumer
    restarts: what it had applied is skipped without the inbox, the rest applied once."""
    before = await append_across_streams(line.source, streams=6, per_stream=10)
    with_broker: list[EmbeddedBroker] = []

    async def broker() -> str:
        b = EmbeddedBroker(port=0)
        with_broker.append(b)
        return await asyncio.to_thread(b.start)

    try:
        bootstrap = await broker()
        await new_topic(bootstrap, line.topic)
        await new_topic(bootstrap, f"{line.topic}.dlq")
        async with started_producer(bootstrap) as producer:
            relay, first = line.relay(producer, bootstrap), line.runner(bootstrap, producer)
            async with running(relay.run, first.run):
                await applied_all(line, first, len(before))
            assert first.stats.known == 0

        await asyncio.to_thread(with_broker[0].stop)  # everything it held is gone
        after = await append_across_streams(line.source, streams=6, per_stream=2, prefix="new")
        bootstrap = await broker()
        async with started_producer(bootstrap) as producer:
            relay = line.relay(producer, bootstrap)
            assert await relay.reset_if_broker_was_wiped(), "the relay did not see the loss"
            await new_topic(bootstrap, line.topic)
            await new_topic(bootstrap, f"{line.topic}.dlq")
            second = line.runner(bootstrap, producer)
            async with running(relay.run, second.run):
                await wait_relay_caught_up(relay)
                await applied_all(line, second, len(before) + len(after))
                await settled(second, len(before) + len(after))
            republished = len(await read_topic(bootstrap, line.topic))
    finally:
        for b in with_broker:
            await asyncio.to_thread(b.stop)

    assert republished == len(before) + len(after), "the relay did not publish it all again"
    assert await line.applied() == (len(before) + len(after),) * 2, "an event applied twice"
    assert second.stats.known == len(before), "records applied before were looked up again"
    assert (second.stats.processed, second.stats.duplicates) == (len(after), 0)


async def test_a_republish_at_new_offsets_is_skipped_by_a_running_consumer(
    line: Line, bootstrap: str
) -> None:
    """The relay publishes the store again (its cursor reset, as after a broker that lost
    the topic): the copies land at new offsets and are skipped without the inbox."""
    await new_topic(bootstrap, line.topic)
    await new_topic(bootstrap, f"{line.topic}.dlq")
    before = await append_across_streams(line.source, streams=6, per_stream=10)
    async with started_producer(bootstrap) as producer:
        relay, runner = line.relay(producer, bootstrap), line.runner(bootstrap, producer)
        async with running(relay.run, runner.run):
            await applied_all(line, runner, len(before))
            await settled(runner, len(before))
            offsets_before = len(await read_topic(bootstrap, line.topic))

            relay.broker_lost_data()  # the whole store again, after what the topic holds

            async def republished() -> bool:
                return runner.stats.known == len(before)

            await wait_until(republished, "the copies skipped")
            after = await append_across_streams(line.source, streams=6, per_stream=2, prefix="new")
            total = len(before) + len(after)
            await applied_all(line, runner, total)
            await settled(runner, 2 * len(before) + len(after))

    assert offsets_before == len(before)
    assert await line.applied() == (total, total), "an event applied twice"
    assert runner.stats.known == len(before), "republished copies were looked up in the inbox"
    assert (runner.stats.processed, runner.stats.duplicates) == (total, 0)


async def test_a_copy_with_a_forged_place_moves_no_position(line: Line, bootstrap: str) -> None:
    """Someone who can write to the topic copies a genuine record and gives it a place far
    ahead: it is taken as the duplicate it is, and what comes after is still applied."""
    await new_topic(bootstrap, line.topic)
    await new_topic(bootstrap, f"{line.topic}.dlq")
    first = await append_across_streams(line.source, streams=1, per_stream=3)
    async with started_producer(bootstrap) as producer:
        relay, runner = line.relay(producer, bootstrap), line.runner(bootstrap, producer)
        async with running(relay.run, runner.run):
            await applied_all(line, runner, len(first))
            await wait_relay_caught_up(relay)
            (genuine, *_) = await read_topic(bootstrap, line.topic)
            copy = dataclasses.replace(
                from_kafka(genuine.value, genuine.headers), txid=10**15, position=10**15
            )
            key, value, headers = to_kafka(copy)
            await producer.send_and_wait(line.topic, key=key, value=value, headers=headers)
            await settled(runner, len(first) + 1)
            later = await append_across_streams(line.source, streams=1, per_stream=3, prefix="l")
            await applied_all(line, runner, len(first) + len(later))

    assert await line.applied() == (len(first) + len(later),) * 2
    assert runner.stats.duplicates == 1
    assert all(order < (10**15, 0) for order in runner.positions.values())


async def test_a_forgery_claiming_an_old_place_under_a_new_id_is_parked_not_skipped(
    line: Line, bootstrap: str
) -> None:
    """A writer on the topic copies a genuine record, changes its data, gives it a new id
    and recomputes its hash, keeping the genuine place: it is below the position, but the
    inbox never saw its id, so it is checked — and parked, never applied."""
    await new_topic(bootstrap, line.topic)
    await new_topic(bootstrap, f"{line.topic}.dlq")
    first = await append_across_streams(line.source, streams=1, per_stream=3)
    async with started_producer(bootstrap) as producer:
        relay, runner = line.relay(producer, bootstrap), line.runner(bootstrap, producer)
        async with running(relay.run, runner.run):
            await applied_all(line, runner, len(first))
            await wait_relay_caught_up(relay)
            (genuine, *_) = await read_topic(bootstrap, line.topic)
            original = from_kafka(genuine.value, genuine.headers)
            changed = dataclasses.replace(
                original, id=uuid4(), data={**original.data, "n": -1}, encoded_data=None
            )
            forged = dataclasses.replace(changed, eventhash=envelope_hash(changed))
            assert (forged.txid, forged.position) == (original.txid, original.position)
            key, value, headers = to_kafka(forged)
            await producer.send_and_wait(line.topic, key=key, value=value, headers=headers)
            await settled(runner, len(first) + 1)

    assert runner.stats.dead_letters == 1, "the forgery was skipped, not parked"
    assert runner.stats.known == 0
    assert await line.applied() == (len(first), len(first))
    parked = await count(line.sink, "SELECT count(*) FROM dead_letters WHERE event_id = :i",
                         i=str(forged.id))  # fmt: skip
    assert parked == 1


async def test_an_event_published_after_a_later_one_of_its_partition_is_applied_not_skipped(
    line: Line, bootstrap: str
) -> None:
    """A delivery that failed while a later one of the same partition got through (a batch
    that expired while the broker was away) is published again after it, below the position
    the later one moved. It was never applied, so it is applied now: a place at or below the
    position is skipped only when the inbox holds its id."""
    await new_topic(bootstrap, line.topic)
    await new_topic(bootstrap, f"{line.topic}.dlq")
    await append_across_streams(line.source, streams=1, per_stream=3)
    first, missed, later = (
        line.signer.sign(r.envelope.placed(r.checkpoint.tx_id), place=True)
        for r in await line.source.read_all(START)
    )
    async with started_producer(bootstrap) as producer:

        async def publish(envelope: Envelope) -> None:
            key, value, headers = to_kafka(envelope)
            await producer.send_and_wait(line.topic, key=key, value=value, headers=headers)

        runner = line.runner(bootstrap, producer)
        async with running(runner.run):
            await publish(first)
            await publish(later)
            await settled(runner, 2)
            assert list(runner.positions.values()) == [(later.txid, later.position)]
            await publish(missed)
            await applied_all(line, runner, 3)

    assert await line.applied() == (3, 3)
    assert runner.stats.known == 0
