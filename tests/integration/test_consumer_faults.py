"""A transient fault is waited out, never parked; a record that can never succeed is parked
whole, once, and the rest flows; an operator can replay what was parked.

Real PostgreSQL and the real broker: the transient faults are real (the handler's own
database connection is terminated by the server), the bad records are real records.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import deadletters
from libs.events.envelope import Envelope, to_kafka
from libs.events.store import EventStore
from tests.conftest import Schemas
from tests.integration.kafka_support import (
    header,
    read_topic,
    running,
    started_producer,
    wait_until,
)
from tests.integration.test_consumer import notes, recording, rig


async def test_a_dropped_database_connection_is_retried_until_it_passes_and_never_parked(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        events = await notes(store, "case-blink", 3)
        unlucky = events[1]
        record = recording()
        kills: list[UUID] = []

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            # The server drops this connection mid-transaction, seven times in a row: more
            # than max_attempts, which is for failures that repeat the same way forever.
            if envelope.id == unlucky.id and len(kills) < 7:
                kills.append(envelope.id)
                await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            await record(conn, envelope)

        await r.publish(events)
        runner = r.runner(handler, max_attempts=2, backoff=0.01, max_backoff=0.05)
        faults_seen: list[str] = []
        async with running(runner.run):

            async def settled() -> bool:
                if runner.fault is not None:
                    faults_seen.append(runner.fault)
                return runner.stats.processed == 3

            await wait_until(settled, "all three events applied after the connection blinks")

        assert len(kills) == 7
        assert runner.stats.dead_letters == 0, "a valid event was parked for a transient fault"
        assert runner.stats.retries >= 7
        assert runner.fault is None, "health says recovered once the event went through"
        assert await r.count("SELECT count(*) FROM dead_letters") == 0
        assert await r.count("SELECT count(*) FROM applied") == 3
        assert await r.count("SELECT count(*) FROM inbox WHERE event_id = :i", i=unlucky.id) == 1


async def test_undecodable_headers_are_parked_once_and_later_records_still_flow(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        first, second, after = await notes(store, "case-garbage", 3)
        record = recording()
        key, value, headers = to_kafka(first)
        not_utf8 = [(n, b"\xff\xfe\xc0" if n == "ce_type" else v) for n, v in headers]
        with_nul = [(n, v + b"\x00" if n == "ce_source" else v) for n, v in headers]
        await producer.send_and_wait(r.topic, key=key, value=value, headers=not_utf8)
        await producer.send_and_wait(r.topic, key=key, value=value, headers=with_nul)
        await r.publish([second, after])
        runner = r.runner(record, max_attempts=5, backoff=10.0)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.dead_letters == 2 and runner.stats.processed == 2

            await wait_until(settled, "two garbage records parked, two events applied")

        dead = await read_topic(bootstrap, r.dead_letter_topic)
        assert len(dead) == 2, "each bad record is parked exactly once"
        assert "not UTF-8" in (header(dead[0], "x-error") or "")
        assert "NUL" in (header(dead[1], "x-error") or "")
        async with r.engine.connect() as conn:
            kept = (
                await conn.execute(text("SELECT record_value, record_headers FROM dead_letters"))
            ).all()
        assert [row.record_value for row in kept] == [value, value], "kept byte for byte"
        assert dict(deadletters.decode_headers(kept[0].record_headers))["ce_type"] == (
            b"\xff\xfe\xc0"
        )


async def test_a_record_too_large_to_republish_is_parked_by_what_fits(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        (big, after) = await notes(store, "case-big", 2)
        key, _, headers = to_kafka(big)
        # 1.5 MB of data under the headers of a real event: its hash cannot match.
        huge = ('{"text": "' + "x" * 1_500_000 + '", "n": 1}').encode()
        big_writer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20)
        await big_writer.start()
        try:
            await big_writer.send_and_wait(r.topic, key=key, value=huge, headers=headers)
        finally:
            await big_writer.stop()
        await r.publish([after])
        runner = r.runner(recording(), max_attempts=5, backoff=10.0)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.dead_letters == 1 and runner.stats.processed == 1

            await wait_until(settled, "the oversized record parked and the next one applied")

        (dead,) = await read_topic(bootstrap, r.dead_letter_topic)
        assert dead.value is None, "the announcement carries no 1.5 MB value"
        assert header(dead, "x-value-sha256") == hashlib.sha256(huge).hexdigest()
        assert header(dead, "x-value-bytes") == str(len(huge))
        assert "event hash does not match" in (header(dead, "x-error") or "")
        async with r.engine.connect() as conn:
            kept = (await conn.execute(text("SELECT record_value FROM dead_letters"))).scalar_one()
        assert kept == huge, "the table keeps the whole value for a replay"


async def test_an_event_of_a_type_the_consumer_does_not_handle_is_skipped_not_applied(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        events = await notes(store, "case-unknown", 2)
        calls: list[UUID] = []

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            calls.append(envelope.id)

        await r.publish(events)
        runner = r.runner(handler, handles={"zhengfeng.casework.something_else.v1"})
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.skipped == 2

            await wait_until(settled, "both events skipped")

        assert calls == [] and runner.stats.processed == 0
        assert await r.count("SELECT count(*) FROM inbox") == 0, "skipped is not applied"


async def test_a_record_of_a_type_not_handled_is_skipped_by_its_header_without_a_check(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    """Most records on a topic are of types a subscriber ignores: their ``ce_type`` header
    is enough to skip them (nothing of them reaches the handler, so nothing of them is
    decoded or verified); what the handler takes is still checked and applied once."""
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        ignored, taken = await notes(store, "case-ignored", 2)
        key, _, headers = to_kafka(ignored)
        # Altered after it was stored (its hash cannot match) and of a type not handled; no
        # place in the order, so it is never the record that moves a position.
        other_type = [
            (n, b"zhengfeng.casework.something_else.v1" if n == "ce_type" else v)
            for n, v in headers
            if n not in ("ce_txid", "ce_position")
        ]
        await producer.send_and_wait(r.topic, key=key, value=b'{"x": 1}', headers=other_type)
        await r.publish([taken])
        seen: list[UUID] = []
        record = recording()

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            seen.append(envelope.id)
            await record(conn, envelope)

        runner = r.runner(handler, handles={taken.type})
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.skipped == 1 and runner.stats.processed == 1

            await wait_until(settled, "the ignored record skipped, the taken one applied")

        assert seen == [taken.id]
        assert runner.stats.dead_letters == 0, "a type not handled is not this consumer's to park"
        assert await r.count("SELECT count(*) FROM inbox") == 1
        assert await r.count("SELECT count(*) FROM dead_letters") == 0


async def test_a_parked_event_is_replayed_on_request_once_the_cause_is_fixed(
    schemas: Schemas, store: EventStore, bootstrap: str
) -> None:
    async with started_producer(bootstrap) as producer:
        r = await rig(schemas, bootstrap, producer)
        poison, fine = await notes(store, "case-replay", 2)
        record = recording()
        broken = {"yes": True}

        async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
            if envelope.id == poison.id and broken["yes"]:
                raise RuntimeError("a bug in the handler")
            await record(conn, envelope)

        await r.publish([poison, fine])
        runner = r.runner(handler, max_attempts=2, backoff=0.01)
        async with running(runner.run):

            async def settled() -> bool:
                return runner.stats.dead_letters == 1 and runner.stats.processed == 1

            await wait_until(settled, "the poison event parked")

        async with r.engine.begin() as conn:
            (row_id,) = await deadletters.ask_replay(conn)
        assert await runner.redrive() == 1, "still broken: the replay fails and says why"
        async with r.engine.connect() as conn:
            (state,) = (await deadletters.outcomes(conn, [row_id])).values()
        assert state["replay_outcome"] == "failed" and state["resolved_at"] is None
        assert "a bug in the handler" in state["error"]

        broken["yes"] = False  # the fix is deployed
        async with r.engine.begin() as conn:
            assert await deadletters.ask_replay(conn) == [row_id]
        assert await runner.redrive() == 1
        async with r.engine.begin() as conn:
            (state,) = (await deadletters.outcomes(conn, [row_id])).values()
            assert await deadletters.ask_replay(conn) == [], "nothing left to replay"
        assert state["replay_outcome"] == "applied" and state["resolved_at"] is not None
        assert await r.count("SELECT count(*) FROM applied WHERE event_id = :i", i=poison.id) == 1
        assert await runner.redrive() == 0, "a second replay finds nothing to do"
        assert runner.stats.replayed == 1
