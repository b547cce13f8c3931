"""Kafka plumbing shared by the relay and the consumers: topic names, clients, topics.

Only features the embedded broker has are used: no idempotent producer, no
transactions. Exactly-once effects come from the store (relay cursor) and the inbox.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

SERVICES = ("intake", "analysis", "casework", "accountability")

DEFAULT_TOPIC_PREFIX = "zhengfeng"


def topic_prefix() -> str:
    """``ZF_TOPIC_PREFIX`` (default ``zhengfeng``): lets several platforms share a broker."""
    return os.environ.get("ZF_TOPIC_PREFIX", "").strip() or DEFAULT_TOPIC_PREFIX


def events_topic(service: str) -> str:
    """The topic a service's relay publishes its store to."""
    return f"{topic_prefix()}.{service}.events"


def dead_letter_topic(service: str) -> str:
    """Where a service's consumers park messages they cannot process."""
    return f"{topic_prefix()}.{service}.dlq"


def consumer_group(service: str) -> str:
    """The consumer group of a service's consumers (same prefix as the topics)."""
    return f"{topic_prefix()}-{service}"


def all_topics(services: tuple[str, ...] = SERVICES) -> list[str]:
    """Every topic the platform needs."""
    return [t for s in services for t in (events_topic(s), dead_letter_topic(s))]


def producer(bootstrap: str, **overrides: object) -> AIOKafkaProducer:
    """A producer that waits for all replicas and needs no idempotence support."""
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 5,
        "max_batch_size": 1 << 20,
        "request_timeout_ms": 30000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 6) -> list[str]:
    """Create missing topics; returns the ones created. Safe to call repeatedly."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        await admin.close()


async def end_offsets_total(bootstrap: str, topic: str) -> int | None:
    """Sum of a topic's end offsets, or None when the topic does not exist.

    Good for "is the topic empty", not for counting: the embedded broker answers
    ListOffsets with the base offset of a partition's last batch + 1.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return None
        tps = [TopicPartition(topic, p) for p in partitions]
        offsets = await consumer.end_offsets(tps)
        return int(sum(offsets.values()))
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int] | None:
    """Each partition's end offset, or None when the topic does not exist.

    Only "is a partition empty" is exact on the embedded broker (see ``end_offsets_total``).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return None
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: int(offset) for tp, offset in offsets.items()}
    finally:
        await consumer.stop()


async def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Return once the broker answers metadata requests; raise after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
        finally:
            await admin.close()


async def read_whole_topic(
    bootstrap: str, topic: str, *, timeout: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything a topic holds right now, partition by partition, in offset order.

    "Right now" is the high watermark each partition reports in fetch responses (the
    embedded broker answers ListOffsets with the base offset of the last batch + 1, so
    ``end_offsets`` undercounts there; fetch responses carry the true one).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        partitions: set[int] | None = None
        while not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                _give_up_after(deadline, f"metadata of topic {topic}")
                await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {tp: [] for tp in tps}
        while True:
            for tp, batch in (await consumer.getmany(timeout_ms=100)).items():
                records[tp].extend(batch)
            if all([await _drained(consumer, tp) for tp in tps]):
                return [r for tp in tps for r in records[tp]]
            _give_up_after(deadline, f"every record of {topic}")
    finally:
        await consumer.stop()


async def _drained(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and await consumer.position(tp) >= highwater


def _give_up_after(deadline: float, what: str) -> None:
    if asyncio.get_running_loop().time() > deadline:
        raise TimeoutError(f"gave up waiting for {what}")
