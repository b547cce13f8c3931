"""Projections follow their store with a checkpoint and can be rebuilt from zero."""

from __future__ import annotations

import asyncio
from datetime import date
from itertools import zip_longest
from typing import Any
from uuid import uuid4

from sqlalchemy import Row, text

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueMerged, ClueSplit
from libs.events.projections import ProjectionRunner, checkpoint_of
from libs.events.store import ANY, START, EventStore, Metadata
from services.casework.domain import clue_stream, note_repeat, note_split, register_clue, replay
from services.casework.projections import ClueLedgerProjection
from tests.conftest import Schemas
from tests.factories import clue_received
from tests.unit.casework.factories import CHECKLIST, SUBJECT, at, registered, step

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

        async def apply_batch(self, conn, batch):  # type: ignore[no-untyped-def]
            Counting.applied += len(batch)
            await super().apply_batch(conn, batch)

    replicas = [ProjectionRunner(store, [Counting()], batch_size=3) for _ in range(2)]
    await asyncio.gather(*(r.catch_up() for r in replicas))

    assert Counting.applied == 30
    assert len(await _ledger(store)) == 30


def _lifecycles() -> list[tuple[str, list[list[Event]]]]:
    """Clues at every stage, each as the appends its commands made (oldest first)."""
    d = date(2026, 3, 2)
    plans: list[list[tuple[str, dict[str, object]]]] = [
        [],  # registered, waiting for a disposal opinion
        [("dispose", {"method": "talk_or_inquiry"}), ("record_reply", {})],
        [("dispose", {"method": "talk_or_inquiry"}), ("record_reply", {}),
         ("evaluate_reply", {"outcome": "escalate"})],
        [("dispose", {"method": "preliminary_verification"}),
         ("conclude_verification", {"outcome": "propose_filing"}),
         ("file_case", {"case_number": "AJ-2026-1", "subject": SUBJECT,
                        "misconduct_date": date(2025, 12, 31)}),
         ("start_investigation", {}), ("answer_checklist", {"answers": CHECKLIST}),
         ("transfer_for_review", {}),
         ("review_opinion", {"form": 2, "measures": ["serious_warning"], "facts": "收受礼金"}),
         ("decide", {"form": 2, "measures": ["serious_warning"]})],
    ]  # fmt: skip
    clues = []
    for i in range(12):
        state, history = registered(received=d)
        appends = [history]
        repeat_id = uuid4()
        if i % 3 == 1:  # a repeat report (重复件) raises the count and the priority …
            merged = ClueMerged(
                clue_id=state.case_id, repeat_id=repeat_id, repeat_count=1,
                source_kind="hotline", merged_at=at(d), priority="high",
            )  # fmt: skip
            appends.append(note_repeat(state, merged, at(d)))
            state = replay([e for a in appends for e in a])
        for day, (name, fields) in enumerate(plans[i % len(plans)], start=1):
            history = [e for a in appends for e in a]
            state, history = step(state, history, name, date(2026, 3, 2 + day), **fields)
            appends.append(history[sum(map(len, appends)) :])
            if i % 6 == 1 and day == 1:  # … and is split off again after the disposal
                split = ClueSplit(
                    clue_id=state.case_id, repeat_id=repeat_id, new_clue_id=uuid4(),
                    new_clue_number="XS-2026-999999", repeat_count=0, reason="不是同一事项",
                    split_by="user:clerk", split_at=at(d), priority="normal",
                )  # fmt: skip
                appends.append(note_split(state, split, at(d)))
                state = replay([e for a in appends for e in a])
        clues.append((clue_stream(state.case_id), appends))
    return clues


async def _rows(store: EventStore) -> list[Row[Any]]:
    async with store.engine.connect() as conn:
        return list(await conn.execute(text("SELECT * FROM clue_ledger ORDER BY clue_id")))


async def test_clue_ledger_rebuilt_in_batches_equals_the_ledger_kept_live(schemas: Schemas) -> None:
    """Commands on twelve clues interleave in the store; the live ledger applies them as they
    come (one event, then a few at a time), the rebuild applies the whole store in big batches
    where a clue's registration and its later transitions share a batch."""
    store = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    one_by_one = ProjectionRunner(store, [ClueLedgerProjection()], batch_size=1)
    a_few = ProjectionRunner(store, [ClueLedgerProjection()], batch_size=3)
    clues = _lifecycles()
    streams = [stream for stream, _ in clues]
    for round_no, appends in enumerate(zip_longest(*(a for _, a in clues))):
        for stream, events in zip(streams, appends, strict=True):
            if events:
                await store.append(stream, events, expected_version=ANY, meta=META)
        await (one_by_one if round_no % 2 else a_few).catch_up()
    live = await _rows(store)

    rebuilt = await ProjectionRunner(store, [ClueLedgerProjection()]).rebuild(
        ClueLedgerProjection(), progress=False
    )

    assert rebuilt == await store.count_after(START) > 12
    assert await _rows(store) == live
    final = {stream: replay([e for a in appends for e in a]) for stream, appends in clues}
    assert {f"clue-{r[0]}": r[2] for r in live} == {s: f.status.value for s, f in final.items()}
    assert len({f.status for f in final.values()}) == 4
    repeats = [(r.repeat_count, r.priority) for r in live if r.repeat_count]
    assert repeats == [(1, "high")] * 2  # four had a repeat report; two were split off again
