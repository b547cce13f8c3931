"""Partitions are worked through side by side: a record that takes long holds back only
the records after it in its own partition (its stream's), never another partition's."""

from __future__ import annotations

import asyncio

from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.store import EventStore
from tests.conftest import Schemas
from tests.integration.kafka_support import running, started_producer, wait_until
from tests.integration.test_consumer import notes, recording, rig

PARTITIONS = list(range(6))  # new_topic's default


def _partition(stream: str) -> int:
    return int(DefaultPartitioner()(stream.encode(), PARTITIONS, PARTITIONS))


def _on_another_partition(than: str) -> str:
    return next(s for i in range(100) if _partition(s := f"case-quick-{i}") != _partition(than))


async def test_a_record_that_takes_long_holds_back_only_its_own_partition(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    slow_stream = "case-slow"
    quick_stream = _on_another_partition(slow_stream)
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        slow = await notes(store, slow_stream, 3)
        quick = await notes(store, quick_stream, 5)
        record = recording()
        release = asyncio.Event()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            if envelope.id == slow[0].id:
                await release.wait()  # the first of its stream takes as long as it takes
            await record(conn, envelope)

        await r.publish(slow + quick)
        runner = r.runner(handler)

        async def applied(stream: str) -> int:
            return await r.count("SELECT count(*) FROM applied WHERE stream_id = :s", s=stream)

        async with running(runner.run):

            async def quick_all_applied() -> bool:
                return await applied(quick_stream) == 5

            await wait_until(quick_all_applied, "the other partition's records, meanwhile")
            assert await applied(slow_stream) == 0, "a stream's later events overtook its first"
            release.set()

            async def slow_all_applied() -> bool:
                return await applied(slow_stream) == 3

            await wait_until(slow_all_applied, "the slow stream once its first record is done")

        async with r.engine.connect() as conn:
            versions = (
                await conn.execute(
                    text("SELECT version FROM applied WHERE stream_id = :s ORDER BY applied_at"),
                    {"s": slow_stream},
                )
            ).scalars()
            assert list(versions) == [1, 2, 3]
        assert (runner.stats.processed, runner.stats.duplicates) == (8, 0)
