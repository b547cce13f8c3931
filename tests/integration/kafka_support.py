"""Helpers for the broker-facing integration tests: polling, reading a topic, relays.

Nothing here is a mock: topics are read from the real broker, cursors from the real
database. Waits are bounded polls that fail with a message saying what never happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import kafka
from libs.events.relay import Relay
from libs.events.store import ANY, START, EventStore, Metadata, Recorded
from tests.factories import note

DEADLINE = 30.0
META = Metadata(actor="system:test", correlation_id="corr-kafka-tests")


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    *,
    timeout: float = DEADLINE,
    interval: float = 0.05,
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything a topic holds right now, partition by partition, in offset order."""
    return await kafka.read_whole_topic(bootstrap, topic, timeout=DEADLINE)


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    """One header of a record, decoded (None when absent)."""
    for key, value in record.headers:
        if key == name:
            return value.decode()
    return None


def event_id(record: ConsumerRecord[bytes, bytes]) -> str:
    """The CloudEvents id a record carries."""
    value = header(record, "ce_id")
    assert value is not None, (
        f"record {record.topic}:{record.partition}@{record.offset} has no ce_id"
    )
    return value


def data(record: ConsumerRecord[bytes, bytes]) -> Any:
    """A record's JSON value."""
    return json.loads(record.value or b"null")


async def new_topic(bootstrap: str, topic: str, partitions: int = 6) -> str:
    """Create a topic and return its name."""
    await kafka.ensure_topics(bootstrap, [topic], partitions=partitions)
    return topic


@contextlib.asynccontextmanager
async def started_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """The platform's producer settings, started and stopped around a block."""
    producer = kafka.producer(bootstrap)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def append_across_streams(
    store: EventStore, *, streams: int, per_stream: int, chunk: int = 5, prefix: str = "case"
) -> list[Recorded]:
    """Append ``streams * per_stream`` notes, streams interleaved, several transactions each."""
    recorded: list[Recorded] = []
    for start in range(0, per_stream, chunk):
        size = min(chunk, per_stream - start)
        rounds = await asyncio.gather(
            *(
                store.append(
                    f"{prefix}-{s}",
                    [note(f"{prefix}-{s}", start + i + 1) for i in range(size)],
                    expected_version=ANY,
                    meta=META,
                )
                for s in range(streams)
            )
        )
        for r in rounds:
            recorded.extend(r)
    return recorded


async def unpublished(relay: Relay) -> int:
    """How many events of the relay's store lie after its cursor."""
    return await relay.store.count_after(await relay.cursor())


async def wait_relay_caught_up(relay: Relay, what: str = "the relay to reach the head") -> None:
    """Until the relay's cursor has passed every event in its store."""

    async def caught_up() -> bool:
        return await relay.cursor() != START and await unpublished(relay) == 0

    await wait_until(caught_up, what)


@contextlib.asynccontextmanager
async def running(*loops: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """Run ``loop(stop)`` tasks (relays, consumers) for a block; stop them and surface errors."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(loop(stop)) for loop in loops]
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        # A loop that died is the root cause of whatever the block saw: report it first.
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise errors[0]


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    """``SELECT count(*) ...`` as an int."""
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())
