"""Ceilings: asyncpg and aiokafka with no event-store logic on top.

Rows are built before the clock starts; each function returns (events, seconds).
"""

import asyncio
import contextlib
import os
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import cpu
from bench.common import EVENT_TYPE, EVENTS_PER_STREAM, HASH, PAYLOAD_BYTES, PAYLOAD_JSON

SCHEMA = "bench_raw"
COLUMNS = "event_id, stream_id, version, type, data, prev_hash, hash"
INSERT = f"INSERT INTO {SCHEMA}.events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
INSERT_UNNEST = (
    f"INSERT INTO {SCHEMA}.events ({COLUMNS}) SELECT * FROM unnest("
    "$1::uuid[], $2::text[], $3::int[], $4::text[], $5::jsonb[], $6::text[], $7::text[])"
)
PARTITIONS = 6

Row = tuple[uuid.UUID, str, int, str, str, str, str]


async def create_table(pool: asyncpg.Pool) -> None:
    await pool.execute(f"""
        DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
        CREATE SCHEMA {SCHEMA};
        CREATE TABLE {SCHEMA}.events (
            id          bigserial PRIMARY KEY,
            event_id    uuid NOT NULL UNIQUE,
            stream_id   text NOT NULL,
            version     int NOT NULL,
            type        text NOT NULL,
            data        jsonb NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            prev_hash   text NOT NULL,
            hash        text NOT NULL,
            UNIQUE (stream_id, version)
        )""")


async def drop_table(pool: asyncpg.Pool) -> None:
    await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _rows(stream_prefix: str, n: int, per_stream: int) -> list[Row]:
    return [
        (uuid.uuid4(), f"{stream_prefix}-{i // per_stream}", i % per_stream + 1,
         EVENT_TYPE, PAYLOAD_JSON, HASH, HASH)
        for i in range(n)
    ]  # fmt: skip


async def insert_single(pool: asyncpg.Pool, writers: int, n: int) -> tuple[int, float]:
    """n single-row INSERTs (autocommit: one statement = one transaction), split over writers."""
    per_writer = [
        _rows(f"single{writers}-w{w}", n // writers, EVENTS_PER_STREAM) for w in range(writers)
    ]

    async def write(rows: list[Row]) -> None:
        async with pool.acquire() as conn:
            for row in rows:
                await conn.execute(INSERT, *row)

    start = time.perf_counter()
    await asyncio.gather(*(write(rows) for rows in per_writer))
    return n // writers * writers, time.perf_counter() - start


async def insert_batches(pool: asyncpg.Pool, n: int, size: int) -> tuple[int, float]:
    """n rows as INSERT … SELECT unnest(arrays), `size` rows (one stream) per transaction."""
    rows = _rows("batch", n, size)
    batches = [[list(c) for c in zip(*rows[i : i + size], strict=True)] for i in range(0, n, size)]
    async with pool.acquire() as conn:
        start = time.perf_counter()
        for columns in batches:
            await conn.execute(INSERT_UNNEST, *columns)
        return n, time.perf_counter() - start


async def copy(pool: asyncpg.Pool, n: int, size: int) -> tuple[int, float]:
    """n rows in one COPY (binary, copy_records_to_table)."""
    rows = _rows("copy", n, size)
    async with pool.acquire() as conn:
        start = time.perf_counter()
        await conn.copy_records_to_table(
            "events", schema_name=SCHEMA, records=rows, columns=COLUMNS.split(", ")
        )
        return n, time.perf_counter() - start


async def read_all(pool: asyncpg.Pool, chunk: int = 1000) -> tuple[int, float]:
    """Every row in id order through a server-side cursor, `chunk` rows per fetch."""
    count = 0
    async with pool.acquire() as conn:
        start = time.perf_counter()
        async with conn.transaction():
            cursor = await conn.cursor(f"SELECT * FROM {SCHEMA}.events ORDER BY id")
            while rows := await cursor.fetch(chunk):
                count += len(rows)
        return count, time.perf_counter() - start


async def produce(bootstrap: str, n: int) -> tuple[int, float]:
    """n keyed records, acks=all, to a fresh 6-partition topic; waits for every delivery."""
    topic = f"bench-{uuid.uuid4().hex[:12]}"
    keys = [f"single-w{i % 64}-{i // 640}".encode() for i in range(n)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        await producer.start()
        await producer.partitions_for(topic)  # metadata before the clock
        start = time.perf_counter()
        deliveries = [await producer.send(topic, PAYLOAD_BYTES, key=key) for key in keys]
        await asyncio.gather(*deliveries)
        return n, time.perf_counter() - start
    finally:
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()


async def path(
    url: str, bootstrap: str, n: int, rate: float, broker_pids: cpu.Pids
) -> tuple[int, float, dict[str, float]]:
    """The way a transfer's event goes, with nothing on top: INSERT (its own transaction)
    → produce (acks=all) → a subscribed consumer → INSERT on another connection, ``n`` items
    offered at ``rate``/s. Returns (items, seconds, CPU seconds per group: this process,
    its PostgreSQL backends, the broker)."""
    topic = f"bench-path-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    pool = await asyncpg.create_pool(url, min_size=4, max_size=4)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    try:
        await create_table(pool)
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        await producer.start()
        await producer.partitions_for(topic)
        await consumer.start()
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        backends = await _backends(pool)
        rows = _rows("path", n, 1)
        done = asyncio.Event()
        received = 0

        async def one(row: Row) -> None:
            async with pool.acquire() as c:
                await c.execute(INSERT, *row)
            await producer.send(topic, PAYLOAD_BYTES, key=row[1].encode())

        async def consume() -> None:
            nonlocal received
            async with pool.acquire() as c:
                while received < n:
                    for records in (await consumer.getmany(timeout_ms=100)).values():
                        for r in records:
                            await c.execute(
                                INSERT, uuid.uuid4(), f"out-{r.key.decode()}", 1, EVENT_TYPE,
                                PAYLOAD_JSON, HASH, HASH,
                            )  # fmt: skip
                            received += 1
            done.set()

        async def offer() -> None:
            sends, start = [], time.perf_counter()
            for i, row in enumerate(rows):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                sends.append(asyncio.create_task(one(row)))
            await asyncio.gather(*sends)
            await done.wait()

        async def own() -> list[int]:
            return [os.getpid()]

        async def pg() -> list[int]:
            return backends

        start = time.perf_counter()
        consuming = asyncio.create_task(consume())
        used = await cpu.measure({"bench": own, "postgres": pg, "broker": broker_pids}, offer())
        await consuming
        return n, time.perf_counter() - start, used
    finally:
        await consumer.stop()
        await producer.stop()
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()
        await drop_table(pool)
        await pool.close()


async def _backends(pool: asyncpg.Pool) -> list[int]:
    """The server processes of every connection of a small pool (all opened now)."""
    conns = [await pool.acquire() for _ in range(pool.get_max_size())]
    pids = [c.get_server_pid() for c in conns]
    for c in conns:
        await pool.release(c)
    return pids
