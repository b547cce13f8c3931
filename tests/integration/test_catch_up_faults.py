"""A reader that follows the store by position recovers by itself when the database ends its
sessions (issue 21): a failover, a restart the pool slept through, an operator's
``pg_terminate_backend``.

The projection runner is killed under — its session ended while a batch is applied, and
every idle pooled session with it — several times while it works through a backlog. It
must carry on from its checkpoint with nobody's help and end with every event applied
exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.projections import ProjectionRunner, checkpoint_of
from libs.events.store import ANY, EventStore, Recorded
from libs.kit.db import make_engine
from tests.factories import note
from tests.integration.kafka_support import META, running, wait_until
from tests.integration.test_dead_connections import terminate_backends

STREAMS = 40
PER_STREAM = 5
KILLED_AT = (2, 5, 9)
"""The batches (counted from 1) during which every session of the reader is ended."""


class Applied:
    """A read model of one row per event applied; a second application adds a second row."""

    name = "applied"
    tables: Sequence[str] = ("applied",)

    def __init__(self, database_url: str, application: str) -> None:
        self.database_url = database_url
        self.application = application
        self.batches = 0
        self.killed: list[int] = []

    async def apply_batch(self, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
        if not batch:
            return
        await conn.execute(
            text("INSERT INTO applied (event_id) SELECT unnest(CAST(:ids AS uuid[]))"),
            {"ids": [str(r.envelope.id) for r in batch]},
        )
        self.batches += 1
        if self.batches in KILLED_AT:
            # Mid-batch: this transaction's session and every idle pooled one are ended.
            self.killed += await terminate_backends(self.database_url, self.application)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        await self.apply_batch(conn, [recorded])


READER = "zhengfeng-reader"


async def test_a_projection_whose_sessions_are_ended_mid_catch_up_converges_by_itself(
    database_url: str, store: EventStore
) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE applied (event_id uuid NOT NULL)"))
    for s in range(STREAMS):
        stream = f"note-{s}"
        events = [note(stream, i) for i in range(PER_STREAM)]
        await store.append(stream, events, expected_version=ANY, meta=META)
    total = STREAMS * PER_STREAM
    async with store.engine.connect() as conn:
        schema = str((await conn.execute(text("SELECT current_schema()"))).scalar_one())
    # The reader's sessions carry a name of their own: only they are ended, not the test's.
    engine = make_engine(database_url, schema, pool_size=3, app=READER)
    projection = Applied(database_url, f"{READER}-{schema}")
    runner = ProjectionRunner(EventStore(engine, source=store.source), [projection], batch_size=10)

    async def caught_up() -> bool:
        async with store.engine.connect() as conn:
            return await checkpoint_of(conn, projection.name) == await store.head()

    try:
        async with running(runner.run):
            await wait_until(caught_up, "the projection to catch up after its sessions were ended")
    finally:
        await engine.dispose()

    assert len(projection.killed) >= len(KILLED_AT), "fewer sessions ended than planned"
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT event_id FROM applied"))).scalars().all()
        stored = (await conn.execute(text("SELECT event_id FROM events"))).scalars().all()
    applied: list[UUID] = list(rows)
    assert len(applied) == total, "an event applied twice, or one skipped"
    assert set(applied) == set(stored)
