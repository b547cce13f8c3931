"""The project's own event store under the bench: libs.events.store.EventStore and the relay.

The runner (bench/__main__.py) calls these in this order, timing each call itself
with time.perf_counter() (so all preparation happens in `setup`):

    ctx = await setup(database_url, bootstrap)
    await append_single(ctx, 0, N)                                   # 1 writer
    await asyncio.gather(*(append_single(ctx, w, N // 8) for w in range(1, 9)))  # 8 writers
    await append_batch(ctx, n_batches, 100)
    count = await read_all(ctx)
    count = await relay(ctx)
    await teardown(ctx)                                              # always, in `finally`

The store lives in its own schema (`bench_zf`), created by the analysis service's real
migrations and dropped at teardown; the relay publishes to a fresh 6-partition topic.
Once set up, the garbage collector is set as a started service sets it (``libs.kit.heap``).
"""

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import EVENTS_PER_STREAM, PAYLOAD, WRITERS
from libs.events import kafka
from libs.events.contracts import Event, registry
from libs.events.relay import Relay
from libs.events.store import NO_STREAM, START, EventStore, Metadata
from libs.kit import heap
from libs.kit.db import make_engine
from libs.kit.migrations import upgrade_async

SCHEMA = "bench_zf"
SOURCE = "/zhengfeng/bench"
ACTOR = "bench"
READ_PAGE = 1000  # same chunk as the raw read-all ceiling
RELAY_BATCH = 500


class BenchSubject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    unit: str
    position: str


@registry.register
class BenchClueNoted(Event):
    """The bench payload (bench.common.PAYLOAD, ~300 bytes of JSON) as a real contract."""

    type_name = "zhengfeng.bench.clue_noted"
    version = 1

    reference: str
    source: str
    subject: BenchSubject
    categories: list[str]
    narrative: str
    received_at: datetime


@dataclass
class Context:
    database_url: str
    engine: AsyncEngine
    store: EventStore
    event: BenchClueNoted
    bootstrap: str | None = None
    topic: str | None = None
    producer: AIOKafkaProducer | None = None
    versions: dict[str, int] = field(default_factory=dict)
    batches: int = 0  # batch streams created so far (each batch gets a new one)


async def _drop_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))


async def setup(database_url: str, bootstrap: str | None) -> Context:
    """A fresh `bench_zf` schema migrated like the analysis service's, a warm pool of
    WRITERS connections and, with a broker, a fresh topic and a started producer."""
    engine = make_engine(database_url, SCHEMA, pool_size=WRITERS, app="zhengfeng-bench")
    ctx = Context(
        database_url=database_url,
        engine=engine,
        store=EventStore(engine, source=SOURCE),
        event=BenchClueNoted.model_validate(PAYLOAD),
    )
    try:
        await _drop_schema(engine)
        await upgrade_async(database_url, "analysis", SCHEMA)

        async def touch() -> None:  # open WRITERS connections before the clock
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.05)

        await asyncio.gather(*(touch() for _ in range(WRITERS)))
        if bootstrap:
            ctx.bootstrap = bootstrap
            ctx.topic = f"zhengfeng.bench.{uuid.uuid4().hex[:12]}"
            await kafka.ensure_topics(bootstrap, [ctx.topic])
            ctx.producer = kafka.producer(bootstrap)
            await ctx.producer.start()
            await ctx.producer.partitions_for(ctx.topic)  # metadata before the clock
    except BaseException:
        await teardown(ctx)
        raise
    heap.settle()  # as a service does once started (libs/kit/service.py)
    return ctx


async def append_single(ctx: Context, writer: int, n: int) -> None:
    """`n` appends of one event each to `clue-{writer}-{k}` (EVENTS_PER_STREAM per stream),
    each with the stream's expected version (optimistic concurrency, not ANY)."""
    store, event, versions = ctx.store, ctx.event, ctx.versions
    for i in range(n):
        stream_id = f"clue-{writer}-{i // EVENTS_PER_STREAM}"
        expected = versions.get(stream_id, NO_STREAM)
        recorded = await store.append(
            stream_id, [event], expected_version=expected, meta=Metadata(actor=ACTOR)
        )
        versions[stream_id] = recorded[-1].version


async def append_batch(ctx: Context, n_batches: int, size: int) -> None:
    """`n_batches` appends of `size` events, each to a new stream (versions 1..size)."""
    events = [ctx.event] * size
    for _ in range(n_batches):
        stream_id, ctx.batches = f"batch-{ctx.batches}", ctx.batches + 1
        await ctx.store.append(
            stream_id, events, expected_version=NO_STREAM, meta=Metadata(actor=ACTOR)
        )


async def read_all(ctx: Context) -> int:
    """Page through the whole store in commit-safe order, decoded to envelopes."""
    count, after = 0, START
    while page := await ctx.store.read_all(after, limit=READ_PAGE):
        count += len(page)
        after = page[-1].checkpoint
    return count


async def relay(ctx: Context) -> int:
    """The real relay (cursor in the database, key = stream id, acks=all) until drained."""
    if ctx.producer is None or ctx.topic is None or ctx.bootstrap is None:
        raise NotImplementedError("no broker")
    relay = Relay(
        ctx.store, ctx.producer, ctx.topic, bootstrap=ctx.bootstrap, batch_size=RELAY_BATCH
    )
    count = 0
    while sent := await relay.publish_batch():
        count += sent
    return count


async def teardown(ctx: Context) -> None:
    """Stop the producer, delete the topic, drop the schema, dispose of the pool."""
    heap.restore()
    try:
        if ctx.producer is not None:
            await ctx.producer.stop()
        if ctx.bootstrap and ctx.topic:
            admin = AIOKafkaAdminClient(bootstrap_servers=ctx.bootstrap)
            await admin.start()
            try:
                await admin.delete_topics([ctx.topic])
            finally:
                await admin.close()
    finally:
        try:
            await _drop_schema(ctx.engine)
        finally:
            await ctx.engine.dispose()
