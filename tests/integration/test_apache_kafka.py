"""The same relay and consumer on Apache Kafka, where a Docker engine can start one.

The rest of the suite runs on the embedded Kafka-protocol broker; this checks that
nothing depends on it. Without a reachable Docker engine the test is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from libs.events import kafka
from libs.events.consumer import ConsumerRunner
from libs.events.envelope import Envelope
from libs.events.relay import Relay
from libs.events.store import ANY, EventStore, Metadata
from tests.conftest import Schemas, unique
from tests.factories import note


def _docker_engine_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def apache_kafka() -> Iterator[str]:
    if not _docker_engine_reachable():
        pytest.skip("no Docker engine reachable: Apache Kafka via testcontainers not available")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as container:
        yield container.get_bootstrap_server()


async def test_events_flow_from_store_to_consumer_on_apache_kafka(
    apache_kafka: str, schemas: Schemas
) -> None:
    source = EventStore(await schemas.migrated(), source="/zhengfeng/test")
    sink = await schemas.migrated()
    topic, dlq = unique("zf.events"), unique("zf.dlq")
    await kafka.ensure_topics(apache_kafka, [topic, dlq], partitions=3)
    for i in range(20):
        await source.append(
            f"s-{i % 4}", [note(str(i))], expected_version=ANY, meta=Metadata(actor="t")
        )
    async with sink.begin() as conn:
        await conn.execute(text("CREATE TABLE seen (event_id uuid PRIMARY KEY)"))

    async def handler(conn, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
        await conn.execute(text("INSERT INTO seen VALUES (:id)"), {"id": envelope.id})

    producer = kafka.producer(apache_kafka)
    await producer.start()
    stop = asyncio.Event()
    try:
        relay = Relay(source, producer, topic, bootstrap=apache_kafka)
        while await relay.publish_batch():
            pass
        runner = ConsumerRunner(
            engine=sink,
            bootstrap=apache_kafka,
            group_id=unique("g"),
            topics=[topic],
            handler=handler,
            dead_letter_topic=dlq,
            producer=producer,
        )
        task = asyncio.create_task(runner.run(stop))
        for _ in range(300):
            async with sink.connect() as conn:
                if await conn.scalar(text("SELECT count(*) FROM seen")) == 20:
                    break
            await asyncio.sleep(0.1)
        stop.set()
        await task
    finally:
        await producer.stop()
    async with sink.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM seen")) == 20
