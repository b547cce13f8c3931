"""Records of a partition fetched together are applied together: one transaction for up to
``records_per_transaction`` of them, their inbox rows claimed in one statement. From the
outside nothing else changes: a transient fault (in a handler, at the commit) is waited out
and never parks anything, a record that can never succeed is parked alone after its
attempts while the others are applied once each, and a runner that dies in the middle of
such a transaction leaves none of it behind for its successor to repeat.

Real PostgreSQL and the real broker; each fault is a real one (a connection the server
terminates, a serialization failure raised at commit by a deferred constraint trigger, a
handler that swallows a failed statement).
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.consumer import Handler
from libs.events.envelope import Envelope
from libs.events.store import ANY, EventStore
from tests.conftest import Schemas
from tests.factories import note
from tests.integration.kafka_support import (
    META,
    header,
    new_topic,
    read_topic,
    running,
    started_producer,
    wait_relay_caught_up,
    wait_until,
)
from tests.integration.test_consumer import notes, recording, rig
from tests.integration.test_consumer_restart import Line, line  # noqa: F401 (the fixture)

TRANSACTIONS = """CREATE TABLE applied_in (
    event_id uuid NOT NULL, tx xid8 NOT NULL DEFAULT pg_current_xact_id())"""


def in_transactions(name: str = "consumer") -> Handler:
    """``recording``, plus the transaction each event was applied in."""
    record = recording(name)

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        await record(conn, envelope)
        await conn.execute(
            text("INSERT INTO applied_in (event_id) VALUES (:i)"), {"i": envelope.id}
        )

    return handle


async def _transactions(engine: AsyncEngine, ids: list[UUID]) -> list[int]:
    """The transaction of each event, numbered 0, 1, ... in the order they were met."""
    async with engine.connect() as conn:
        rows: dict[UUID, str] = dict(
            (await conn.execute(text("SELECT event_id, tx::text FROM applied_in"))).all()
        )
    numbers: dict[str, int] = {}
    return [numbers.setdefault(rows[i], len(numbers)) for i in ids]


async def test_records_of_a_partition_fetched_together_share_transactions_and_move_its_position(
    line: Line,  # noqa: F811
    bootstrap: str,
) -> None:
    """Twelve events of one stream, published before the consumer starts, are one fetch of
    one partition: with five to a transaction they take three, in order, and the last one
    moves the partition's position with its inbox row."""
    await new_topic(bootstrap, line.topic)
    await new_topic(bootstrap, f"{line.topic}.dlq")
    async with line.sink.begin() as conn:
        await conn.execute(text(TRANSACTIONS))
    recorded = await line.source.append(
        "case-together",
        [note("case-together", i) for i in range(1, 13)],
        expected_version=ANY,
        meta=META,
    )
    async with started_producer(bootstrap) as producer:
        relay = line.relay(producer, bootstrap)
        async with running(relay.run):
            await wait_relay_caught_up(relay)
        runner = line.runner(bootstrap, producer)
        runner.handler = in_transactions()
        runner.records_per_transaction = 5
        async with running(runner.run):

            async def applied() -> bool:
                return runner.stats.processed == 12

            await wait_until(applied, "twelve events applied")

    ids = [r.envelope.id for r in recorded]
    transactions = await _transactions(line.sink, ids)
    assert transactions == sorted(transactions), "applied in order, a transaction after another"
    sizes = [transactions.count(t) for t in range(transactions[-1] + 1)]
    # One fetch holds them all (published before the consumer started): 5, 5 and 2. Should
    # the broker hand them over in two fetches, no transaction spans both.
    assert max(sizes) == 5 and len(sizes) <= 4, f"records per transaction: {sizes}"
    assert await line.applied() == (12, 12)
    async with line.sink.connect() as conn:
        (place,) = (
            await conn.execute(text("SELECT tx_id, position FROM consumer_positions"))
        ).all()
    last = recorded[-1].checkpoint
    assert tuple(place) == (last.tx_id, last.position)


async def test_a_record_failing_among_several_is_parked_alone_and_the_others_applied_once(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        events = await notes(store, "case-poison-among", 6)
        poison = events[2]
        attempts: list[UUID] = []
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            await record(conn, envelope)  # written, then rolled back with its failure
            if envelope.id == poison.id:
                attempts.append(envelope.id)
                raise RuntimeError("cannot handle note 3")

        await r.publish(events)
        runner = r.runner(handler, max_attempts=3, backoff=0.01)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.processed == 5 and runner.stats.dead_letters == 1

            await wait_until(settled, "five applied and one parked")

        async with r.engine.connect() as conn:
            versions = (
                (await conn.execute(text("SELECT version FROM applied ORDER BY applied_at")))
                .scalars()
                .all()
            )
        assert versions == [1, 2, 4, 5, 6], "each other event applied once, in order"
        assert len(attempts) == 3, "its try among the others counts as its first attempt"
        (dead,) = await read_topic(bootstrap, r.dead_letter_topic)
        assert header(dead, "ce_id") == str(poison.id)
        assert header(dead, "x-attempts") == "3"
        assert await r.count("SELECT count(*) FROM inbox") == 5
        assert await r.count("SELECT count(*) FROM inbox WHERE event_id = :i", i=poison.id) == 0


async def test_a_connection_dropped_among_several_is_waited_out_and_parks_nothing(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        events = await notes(store, "case-blink-among", 6)
        unlucky = events[3]
        kills: list[UUID] = []
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            await record(conn, envelope)
            if envelope.id == unlucky.id and len(kills) < 3:
                kills.append(envelope.id)
                await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

        await r.publish(events)
        # One attempt only: a transient fault counted as a failure would park at once.
        runner = r.runner(handler, max_attempts=1, backoff=0.01, max_backoff=0.05)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.processed == 6

            await wait_until(settled, "all six applied after the connection blinks")

        assert len(kills) == 3 and runner.stats.retries >= 3
        assert runner.stats.dead_letters == 0, "a valid event was parked for a transient fault"
        assert runner.fault is None
        assert await r.count("SELECT count(*) FROM applied") == 6
        assert await r.count("SELECT count(DISTINCT event_id) FROM applied") == 6
        assert await r.count("SELECT count(*) FROM inbox") == 6


async def test_a_serialization_failure_at_the_commit_of_several_is_waited_out(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    """The commit itself fails (a deferred trigger raises a serialization failure, as a
    serializable transaction's commit can): nobody's handler failed, nothing is parked."""
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        async with r.engine.begin() as conn:
            # A sequence, not a table: what counts the failures is not rolled back with them.
            await conn.execute(text("CREATE SEQUENCE commits_failed"))
            await conn.execute(
                text(
                    """CREATE FUNCTION fail_some_commits() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF nextval('commits_failed') <= 2 THEN
                            RAISE EXCEPTION 'could not serialize access'
                                USING ERRCODE = 'serialization_failure';
                        END IF;
                        RETURN NULL;
                    END $$"""
                )
            )
            await conn.execute(
                text(
                    """CREATE CONSTRAINT TRIGGER fail_some_commits AFTER INSERT ON applied
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                    EXECUTE FUNCTION fail_some_commits()"""
                )
            )
        events = await notes(store, "case-commit-fails", 5)
        await r.publish(events)
        runner = r.runner(recording(), max_attempts=1, backoff=0.01, max_backoff=0.05)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.processed == 5

            await wait_until(settled, "all five applied after their commits failed")

        assert runner.stats.dead_letters == 0, "a valid event was parked for a transient fault"
        assert runner.stats.retries >= 2
        assert await r.count("SELECT count(*) FROM applied") == 5
        assert await r.count("SELECT count(DISTINCT event_id) FROM applied") == 5
        assert await r.count("SELECT count(*) FROM inbox") == 5


class Crash(BaseException):
    """The process dying: nothing catches it, nothing after it runs."""


async def test_a_runner_dying_inside_a_transaction_of_several_leaves_none_of_it(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        events = await notes(store, "case-crash-among", 8)
        record_first = recording("first")

        async def dies_at_the_fifth(conn: AsyncConnection, envelope: Envelope) -> None:
            await record_first(conn, envelope)
            if envelope.id == events[4].id:
                raise Crash

        await r.publish(events)
        first = r.runner(dies_at_the_fifth)
        stop = asyncio.Event()
        died = asyncio.create_task(first.run(stop))
        try:
            await asyncio.wait_for(asyncio.shield(died), timeout=30)
        except Crash:
            pass
        assert died.done() and isinstance(died.exception(), Crash)
        # What it committed before the transaction it died in (nothing, when the eight came
        # in one fetch) is all there is of it: none of the fifth's transaction.
        committed = first.stats.processed
        assert committed < 5
        assert await r.count("SELECT count(*) FROM applied") == committed
        assert await r.count("SELECT count(*) FROM inbox") == committed

        second = r.runner(recording("second"))
        async with running(second.run):

            async def all_applied() -> bool:
                return await r.count("SELECT count(*) FROM applied") == 8

            await wait_until(all_applied, "its successor to apply all eight")

        assert second.stats.processed == 8 - committed
        assert await r.count("SELECT count(DISTINCT event_id) FROM applied") == 8
        assert await r.count("SELECT count(*) FROM inbox") == 8


async def test_a_record_after_one_that_swallowed_a_failed_statement_is_not_charged_for_it(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    """A handler that catches a failed statement and goes on leaves the transaction failed:
    the next record's first statement is refused for it. That refusal is not the next
    record's failure (with one attempt, it would park it)."""
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        first, careless, after = await notes(store, "case-swallowed", 3)
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            if envelope.id == careless.id:
                try:
                    await conn.execute(text("SELECT 1 / 0"))
                except DBAPIError:
                    pass  # the transaction is failed from here on
                return
            await record(conn, envelope)

        await r.publish([first, careless, after])
        runner = r.runner(handler, max_attempts=1, backoff=0.01)
        async with running(runner.run):

            async def settled() -> bool:
                s = runner.stats
                return s.processed + s.dead_letters == 3

            await wait_until(settled, "the three records dealt with")

        assert await r.count("SELECT count(*) FROM applied WHERE event_id = :i", i=after.id) == 1
        assert await r.count("SELECT count(*) FROM applied WHERE event_id = :i", i=first.id) == 1
        parked = await r.count(
            "SELECT count(*) FROM dead_letters WHERE event_id = :i", i=str(after.id)
        )
        assert parked == 0, "the record after the careless one was parked for its failure"


async def test_a_transaction_of_several_waiting_on_a_lock_gives_way_to_one_by_one(
    schemas: Schemas, store: EventStore, bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two transactions of several that take the same rows in different orders deadlock,
    and the server finds that only after a second: a transaction of several waits for a
    lock ``TOGETHER_LOCK_TIMEOUT`` at most, then its records go one by one (each waiting as
    long as it takes), applied once each and none parked."""
    caplog.set_level(logging.INFO, logger="libs.events.consumer")
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        async with r.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE contended (id int PRIMARY KEY, n int NOT NULL)"))
            await conn.execute(text("INSERT INTO contended VALUES (1, 0)"))
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            await record(conn, envelope)
            await conn.execute(text("UPDATE contended SET n = n + 1 WHERE id = 1"))

        events = await notes(store, "case-contended", 12)
        await r.publish(events)
        runner = r.runner(handler, backoff=0.01, max_backoff=0.05)
        async with r.engine.connect() as blocker:
            await blocker.begin()
            await blocker.execute(text("SELECT n FROM contended WHERE id = 1 FOR UPDATE"))
            async with running(runner.run):
                try:

                    async def gave_way() -> bool:
                        return any(
                            "one by one" in m and "lock timeout" in m for m in caplog.messages
                        )

                    await wait_until(gave_way, "the transaction of several to stop waiting")
                finally:
                    await blocker.rollback()

                async def settled() -> bool:
                    return runner.stats.processed == len(events)

                await wait_until(settled, "every record applied once the lock is let go")

        assert runner.stats.dead_letters == 0
        assert await r.count("SELECT count(DISTINCT event_id) FROM applied") == len(events)
        assert await r.count("SELECT count(*) FROM applied") == len(events)
        assert await r.count("SELECT n FROM contended") == len(events)
