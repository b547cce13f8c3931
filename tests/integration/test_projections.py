"""Projections follow their store with a checkpoint and can be rebuilt from zero."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from libs.events.projections import ProjectionRunner, checkpoint_of
from libs.events.store import ANY, EventStore, Metadata
from services.casework.domain import clue_stream, register_clue
from services.casework.projections import ClueLedgerProjection
from tests.conftest import Schemas
from tests.factories import clue_received

META = Metadata(actor="service:casework")


async def _ledger(store: EventStore) -> list[tuple[str, str]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT clue_number, status FROM clue_ledger ORDER BY clue_number")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _register(store: EventStore, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        received = clue_received(number=f"XS-2026-{i:06d}")
        await store.append(
            clue_stream(received.clue_id),
            register_clue([], received),
            expected_version=ANY,
            meta=META,
        )


async def test_projection_catches_up_and_resumes_from_its_checkpoint(schemas: Schemas) -> None:
    store = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    runner = ProjectionRunner(store, [ClueLedgerProjection()], batch_size=2)
    await _register(store, 3)

    assert await runner.catch_up() == 3
    await _register(store, 2, start=4)
    assert await runner.catch_up() == 2
    assert await runner.catch_up() == 0

    assert [n for n, _ in await _ledger(store)] == [f"XS-2026-{i:06d}" for i in range(1, 6)]
    assert {s for _, s in await _ledger(store)} == {"pending_disposal"}
    async with store.engine.connect() as conn:
        assert await checkpoint_of(conn, "clue_ledger") == await store.head()


async def test_rebuild_from_zero_gives_the_same_read_model(schemas: Schemas) -> None:
    store = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    runner = ProjectionRunner(store, [ClueLedgerProjection()])
    await _register(store, 7)
    await runner.catch_up()
    before = await _ledger(store)
    async with store.engine.begin() as conn:  # a read model damaged by hand
        await conn.execute(text("DELETE FROM clue_ledger WHERE clue_number = 'XS-2026-000003'"))

    replayed = await runner.rebuild(ClueLedgerProjection(), progress=False)

    assert replayed == 7
    assert await _ledger(store) == before


async def test_two_replicas_running_one_projection_apply_each_event_once(schemas: Schemas) -> None:
    store = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    await _register(store, 30)

    class Counting(ClueLedgerProjection):
        applied = 0

        async def apply(self, conn, recorded):  # type: ignore[no-untyped-def]
            Counting.applied += 1
            await super().apply(conn, recorded)

    replicas = [ProjectionRunner(store, [Counting()], batch_size=3) for _ in range(2)]
    await asyncio.gather(*(r.catch_up() for r in replicas))

    assert Counting.applied == 30
    assert len(await _ledger(store)) == 30
