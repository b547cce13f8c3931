"""The event store: append, concurrency, reads, immutability, tamper evidence."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from pydantic import ConfigDict
from sqlalchemy import Integer, bindparam, text
from sqlalchemy.exc import DBAPIError

from libs.events.contracts import Event, EventRegistry
from libs.events.contracts.intake import ClueReceived
from libs.events.store import ANY, NO_STREAM, START, ConcurrencyError, EventStore, Metadata
from libs.kit.db import IDLE_IN_TRANSACTION_TIMEOUT, _sent, driver, execute_many, make_engine
from tests.factories import NoteTaken, clue_received, note

META = Metadata(actor="operator:clerk-1", correlation_id="corr-1")


async def test_appended_events_read_back_with_versions_positions_and_metadata(
    store: EventStore,
) -> None:
    recorded = await store.append(
        "case-1", [note("a"), note("b")], expected_version=NO_STREAM, meta=META
    )
    assert [r.version for r in recorded] == [1, 2]

    events = await store.read_stream("case-1")
    assert [e.event for e in events] == [note("a"), note("b")]
    assert [e.envelope.streamversion for e in events] == [1, 2]
    assert events[0].envelope.actor == "operator:clerk-1"
    assert events[0].envelope.correlationid == "corr-1"
    assert events[1].envelope.prevhash == events[0].envelope.eventhash
    assert events[0].checkpoint < events[1].checkpoint
    assert await store.stream_version("case-1") == 2


async def test_stale_expected_version_is_a_conflict_naming_the_current_version(
    store: EventStore,
) -> None:
    await store.append("case-1", [note("a")], expected_version=NO_STREAM, meta=META)

    with pytest.raises(ConcurrencyError) as err:
        await store.append("case-1", [note("b")], expected_version=NO_STREAM, meta=META)

    assert err.value.actual == 1
    assert "expected version 0" in str(err.value)
    assert await store.stream_version("case-1") == 1


async def test_two_writers_at_the_same_version_only_one_wins(store: EventStore) -> None:
    await store.append("case-1", [note("a")], expected_version=NO_STREAM, meta=META)

    results = await asyncio.gather(
        *(store.append("case-1", [note(f"w{i}")], expected_version=1, meta=META) for i in range(6)),
        return_exceptions=True,
    )

    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1
    assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, BaseException))
    assert [r.version for r in await store.read_stream("case-1")] == [1, 2]


async def test_stream_can_be_read_up_to_a_version_or_as_of_a_time(store: EventStore) -> None:
    clock = iter(
        [
            store.clock() - timedelta(days=3),
            store.clock() - timedelta(days=2),
            store.clock() - timedelta(days=1),
        ]
    )
    store.clock = lambda: next(clock)
    for i in range(3):
        await store.append("case-1", [note(str(i))], expected_version=ANY, meta=META)
    events = await store.read_stream("case-1")

    assert [e.version for e in await store.read_stream("case-1", up_to_version=2)] == [1, 2]
    as_of = events[1].envelope.time + timedelta(hours=1)
    assert [e.version for e in await store.read_stream("case-1", as_of=as_of)] == [1, 2]


async def test_read_all_returns_every_event_once_in_commit_order(store: EventStore) -> None:
    for i in range(5):
        await store.append(f"s-{i % 2}", [note(str(i))], expected_version=ANY, meta=META)

    first = await store.read_all(START, limit=3)
    rest = await store.read_all(first[-1].checkpoint, limit=10)

    texts = [r.event.text for r in first + rest]  # type: ignore[attr-defined]
    assert texts == ["0", "1", "2", "3", "4"]
    assert await store.head() == rest[-1].checkpoint
    assert await store.count_after(first[-1].checkpoint) == 2


async def test_a_read_inside_a_callers_transaction_leaves_its_planner_settings_alone(
    store: EventStore,
) -> None:
    # A page is planned with sorting off (so it is read along the commit-order index
    # whatever the statistics say); the rest of a projection's transaction is not.
    for i in range(3):
        await store.append(f"s-{i}", [note(str(i))], expected_version=NO_STREAM, meta=META)

    for setting in ("on", "off"):
        async with store.engine.begin() as conn:
            await conn.execute(text(f"SET LOCAL enable_sort = {setting}"))
            page = await store.read_all(START, limit=2, conn=conn)
            rest = await store.read_all(page[-1].checkpoint, conn=conn)

            assert [r.event.text for r in page + rest] == ["0", "1", "2"]  # type: ignore[attr-defined]
            assert (await conn.execute(text("SHOW enable_sort"))).scalar_one() == setting


async def test_a_page_is_read_in_one_round_trip(
    store: EventStore,
) -> None:
    # ``read_events_after`` takes the horizon and reads the page in one statement: no
    # BEGIN and COMMIT of its own, no separate horizon, no planner setting put back.
    for i in range(3):
        await store.append(f"s-{i}", [note(str(i))], expected_version=NO_STREAM, meta=META)
    async with store.engine.begin() as conn:
        c = await driver(conn)
        before = _sent(c)
        page = await store.read_all(START, limit=2, conn=conn)
        assert before is not None and _sent(c) == before + 1
    assert [r.event.text for r in page] == ["0", "1"]  # type: ignore[attr-defined]
    rest = await store.read_all(page[-1].checkpoint)  # alone: a statement of its own
    assert [r.event.text for r in rest] == ["2"]  # type: ignore[attr-defined]


async def test_the_driver_begins_the_callers_transaction_with_one_round_trip_and_it_stays_one(
    store: EventStore,
) -> None:
    # ``driver`` before any statement begins SQLAlchemy's transaction with its BEGIN alone;
    # SQLAlchemy then commits or rolls back what ran at the driver as its own transaction.
    insert = "INSERT INTO projection_checkpoints (name, tx_id, position) VALUES ($1, '0', 0)"
    for name, fails in (("kept", False), ("rolled-back", True)):
        with contextlib.suppress(RuntimeError):
            async with store.engine.begin() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                before = _sent(raw)
                c = await driver(conn)
                assert c is raw and c.is_in_transaction()
                assert before is not None and _sent(c) == before + 1
                await c.execute(insert, name)
                await conn.execute(text("SELECT 1"))  # SQLAlchemy's statements join it
                if fails:
                    raise RuntimeError
    async with store.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM projection_checkpoints"))).scalars()
        assert list(names) == ["kept"]


async def test_writes_sent_at_the_driver_land_as_sqlalchemy_would_write_them(
    store: EventStore,
) -> None:
    # ``execute_many`` sends a text statement's rows at the driver in its ``$n`` form: a
    # parameter used twice, names in any order; a typed parameter goes through SQLAlchemy.
    plain = text(
        """INSERT INTO projection_checkpoints (name, tx_id, position)
           VALUES (:n, CAST(CAST(:tx AS text) AS xid8), :p)
           ON CONFLICT (name) DO UPDATE SET position = excluded.position + :p"""
    )
    typed = text(
        "INSERT INTO projection_checkpoints (name, tx_id, position) VALUES (:n, '0', :p)"
    ).bindparams(bindparam("p", type_=Integer))
    async with store.engine.begin() as conn:
        rows_in = [
            {"p": 7, "n": "a", "tx": "5"},
            {"tx": "6", "n": "b", "p": 9},
            {"n": "a", "tx": "1", "p": 1},
        ]
        await execute_many(conn, plain, rows_in)
        await execute_many(conn, typed, [{"n": "c", "p": 3}])
        rows = (
            await conn.execute(
                text("SELECT name, tx_id::text, position FROM projection_checkpoints ORDER BY name")
            )
        ).all()
    assert [tuple(r) for r in rows] == [("a", "5", 2), ("b", "6", 9), ("c", "0", 3)]


async def test_a_read_hands_its_connection_back_with_no_transaction_open(
    store: EventStore,
) -> None:
    await store.append("s-1", [note("a")], expected_version=NO_STREAM, meta=META)

    for _ in range(3):
        assert len(await store.read_all(START)) == 1
        async with store.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None and not driver.is_in_transaction()
            assert (await conn.execute(text("SHOW enable_sort"))).scalar_one() == "on"


async def test_unregistered_event_types_are_refused_before_anything_is_written(
    store: EventStore,
) -> None:
    class Stray(NoteTaken):
        type_name = "zhengfeng.test.stray"

    with pytest.raises(ValueError, match="not registered"):
        await store.append("case-1", [Stray(text="x")], expected_version=ANY, meta=META)
    assert await store.read_stream("case-1") == []


@pytest.mark.parametrize(
    "statement",
    [
        'UPDATE events SET data = \'{"text": "changed"}\'',
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_the_database_refuses_to_change_or_remove_events(
    store: EventStore, statement: str
) -> None:
    await store.append("case-1", [note("a")], expected_version=NO_STREAM, meta=META)

    with pytest.raises(DBAPIError, match="events are immutable"):
        async with store.engine.begin() as conn:
            await conn.execute(text(statement))

    assert [e.event.text for e in await store.read_stream("case-1")] == ["a"]  # type: ignore[attr-defined]


async def test_verify_passes_on_an_untouched_store(store: EventStore) -> None:
    for i in range(4):
        await store.append(
            f"s-{i % 2}", [note(str(i)), note(str(i))], expected_version=ANY, meta=META
        )
    assert await store.write_checkpoint() is not None

    report = await store.verify()

    assert report.ok, report.breaks
    assert (report.events, report.streams, report.checkpoints) == (8, 2, 1)


async def test_verify_while_services_keep_appending_reports_no_false_break(
    store: EventStore,
) -> None:
    # verify reads the stream heads and the events; a writer appending in between must
    # not look like a head that no longer matches its last event.
    stop, under_way = asyncio.Event(), asyncio.Event()

    async def keep_appending() -> None:
        i = 0
        while not stop.is_set():
            await store.append(f"busy-{i % 3}", [note(str(i))], expected_version=ANY, meta=META)
            i += 1
            if i >= 5:
                under_way.set()

    writers = [asyncio.create_task(keep_appending()) for _ in range(2)]
    try:
        # The writers are under way (their first connections take a moment) before verify
        # runs, so that every verify below has writers appending beside it.
        await asyncio.wait_for(under_way.wait(), timeout=30)
        reports = [await store.verify() for _ in range(15)]
    finally:
        stop.set()
        await asyncio.gather(*writers, return_exceptions=True)

    assert all(r.ok for r in reports), [r.breaks for r in reports if not r.ok][:1]
    assert reports[-1].events > reports[0].events  # the writers were writing all along


async def _tamper(store: EventStore, sql: str) -> None:
    # What a DBA with superuser rights could do: bypass the immutability trigger.
    async with store.engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(sql))


async def test_verify_names_the_stream_and_version_whose_data_was_edited_by_hand(
    store: EventStore,
) -> None:
    for i in range(3):
        await store.append("case-7", [note(str(i))], expected_version=ANY, meta=META)
    await store.append("case-8", [note("other")], expected_version=ANY, meta=META)

    await _tamper(
        store,
        """UPDATE events SET data = jsonb_set(data::jsonb, '{text}', '"forged"')
           WHERE stream_id = 'case-7' AND stream_version = 2""",
    )
    report = await store.verify()

    assert not report.ok
    assert report.first_break is not None
    assert (report.first_break.stream_id, report.first_break.version) == ("case-7", 2)
    assert "hash" in report.first_break.reason
    assert [b.stream_id for b in report.breaks] == ["case-7"]


async def test_verify_notices_a_deleted_event_and_a_changed_store_checkpoint(
    store: EventStore,
) -> None:
    for i in range(3):
        await store.append("case-9", [note(str(i))], expected_version=ANY, meta=META)
    await store.write_checkpoint()

    await _tamper(store, "DELETE FROM events WHERE stream_id = 'case-9' AND stream_version = 3")
    report = await store.verify()

    reasons = {(b.stream_id, b.version): b.reason for b in report.breaks}
    assert ("case-9", 3) in reasons
    assert any(b.stream_id == "<store>" for b in report.breaks)


async def test_old_event_versions_are_upcast_when_read(store: EventStore) -> None:
    # Write a v1 ClueReceived through a registry that only knows v1, then read with today's.
    old = EventRegistry()

    @old.register
    class V1(Event):
        model_config = ConfigDict(extra="allow", frozen=True)
        type_name = ClueReceived.type_name
        version = 1

    current = clue_received()
    v1_data = current.model_dump(mode="json", exclude={"source_kind", "source_department"})
    v1_data["department"] = "tax"
    legacy = EventStore(store.engine, source=store.source, event_registry=old)
    await legacy.append("clue-x", [V1(**v1_data)], expected_version=NO_STREAM, meta=META)

    (recorded,) = await store.read_stream("clue-x")
    event = recorded.event

    assert isinstance(event, ClueReceived)
    assert event.source_kind == "partner_transfer"
    assert event.source_department == "tax"
    assert recorded.envelope.typeversion == 1
    assert (await store.verify()).ok


async def test_store_checkpoints_chain_onto_each_other_and_cover_only_new_events(
    store: EventStore,
) -> None:
    await store.append("case-1", [note("a"), note("b")], expected_version=ANY, meta=META)
    first = await store.write_checkpoint()
    assert await store.write_checkpoint() is None  # nothing new since
    await store.append("case-2", [note("c")], expected_version=ANY, meta=META)
    second = await store.write_checkpoint()

    assert first is not None and second is not None
    assert (first[1], second[1]) == (2, 3)
    assert first[2] != second[2]
    report = await store.verify()
    assert report.ok and report.checkpoints == 2


async def test_verify_checks_the_stored_text_so_numbers_of_any_form_pass(store: EventStore) -> None:
    from libs.events.contracts import registry

    @registry.register
    class AmountMeasured(Event):
        type_name = "zhengfeng.test.amount_measured"
        value: float
        count: int

    await store.append(
        "m-1",
        [AmountMeasured(value=v, count=10**20) for v in (1e20, 0.1 + 0.2, -0.0, 1e-7, 12.50)],
        expected_version=NO_STREAM,
        meta=META,
    )

    assert (await store.verify()).ok
    assert [e.event.value for e in await store.read_stream("m-1")] == [
        1e20,
        0.1 + 0.2,
        -0.0,
        1e-7,
        12.5,
    ]  # type: ignore[attr-defined]


async def test_appends_stay_chained_when_another_writer_or_a_rollback_moved_the_stream(
    store: EventStore,
) -> None:
    other = EventStore(store.engine, source=store.source)  # another process, in effect
    await store.append("case-1", [note("1")], expected_version=NO_STREAM, meta=META)
    await other.append("case-1", [note("2")], expected_version=1, meta=META)
    # What ``store`` remembers of the stream (version 1) is now out of date.
    await store.append("case-1", [note("3")], expected_version=ANY, meta=META)
    with pytest.raises(ConcurrencyError):
        await store.append("case-1", [note("x")], expected_version=2, meta=META)

    async with store.engine.connect() as conn:
        tx = await conn.begin()
        await store.append(
            "case-1", [note("rolled back")], expected_version=3, meta=META, conn=conn
        )
        await tx.rollback()
    # Version 4 now exists with other content than the rolled-back one ``store`` saw.
    await other.append("case-1", [note("4")], expected_version=3, meta=META)
    await store.append("case-1", [note("5")], expected_version=ANY, meta=META)

    events = await store.read_stream("case-1")
    assert [e.event.text for e in events] == ["1", "2", "3", "4", "5"]  # type: ignore[attr-defined]
    assert (await store.verify()).ok


async def test_a_transaction_left_open_by_a_service_is_ended_by_the_server(
    database_url: str,
) -> None:
    """The commit horizon cannot pass an open transaction: every connection a service makes
    asks the server to end one that sits idle too long."""
    engine = make_engine(database_url, "public", pool_size=1)
    try:
        async with engine.connect() as conn:
            setting = (
                await conn.execute(text("SHOW idle_in_transaction_session_timeout"))
            ).scalar()
    finally:
        await engine.dispose()
    assert setting == IDLE_IN_TRANSACTION_TIMEOUT == "30s"
