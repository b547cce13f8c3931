"""The consumer runner: one consumer group per service, exactly-once effects via an inbox.

Records are checked first: one that is not a Zhengfeng CloudEvent, or whose content no
longer matches its event hash, is parked at once. For every other record the handler's writes and an ``inbox`` row (the event id) commit in one
database transaction; only then is the Kafka offset committed. A redelivered event finds
its inbox row and is skipped. A handler that keeps failing is retried with exponential
backoff and then parked on the service's dead-letter topic, with the error in headers,
so one poison message never blocks a partition.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.contracts import Event
from libs.events.envelope import Envelope, EnvelopeError, envelope_hash, from_kafka
from libs.events.store import ANY, EventStore, Metadata

log = logging.getLogger(__name__)

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]

_SEEN = text("SELECT 1 FROM inbox WHERE event_id = :id")
_REMEMBER = text(
    "INSERT INTO inbox (event_id, consumer, type, source) VALUES (:id, :consumer, :type, :source)"
)
_PARK = text(
    """INSERT INTO dead_letters (consumer, topic, partition, "offset", event_id, error, attempts)
       VALUES (:consumer, :topic, :partition, :offset, :event_id, :error, :attempts)"""
)


@dataclass
class ConsumerStats:
    """Counters the service exports as metrics."""

    processed: int = 0
    duplicates: int = 0
    dead_letters: int = 0


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.runner.commit()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("%s assigned %s", self.runner.group_id, sorted(str(tp) for tp in assigned))


class ConsumerRunner:
    """Runs one handler over some topics in one consumer group."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        bootstrap: str,
        group_id: str,
        topics: list[str],
        handler: Handler,
        dead_letter_topic: str,
        producer: AIOKafkaProducer,
        max_attempts: int = 5,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        on_lag: Callable[[str, int, int], None] | None = None,
        on_outcome: Callable[[str], None] | None = None,
        session_timeout_ms: int = 10000,
    ) -> None:
        self.engine = engine
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self.handler = handler
        self.dead_letter_topic = dead_letter_topic
        self.producer = producer
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = ConsumerStats()
        self._on_lag = on_lag
        # How long a crashed member keeps its partitions before the group moves them.
        self.session_timeout_ms = session_timeout_ms
        self._on_outcome = on_outcome or (lambda outcome: None)
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    async def commit(self) -> None:
        """Commit the offsets of everything fully processed so far.

        A rebalance can take partitions away while their records are being processed.
        Their offsets are then dropped instead of failing the runner: the new owner
        starts from the last committed offset and its inbox skips what was applied here.
        """
        consumer = self._consumer
        if consumer is None or not self._pending:
            return
        pending, self._pending = self._pending, {}
        owned = consumer.assignment()
        offsets = {tp: offset for tp, offset in pending.items() if tp in owned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "%s: offsets not committed, the group rebalanced (%s); "
                "their records will be redelivered and skipped by the inbox",
                self.group_id,
                exc,
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then commit and leave the group cleanly."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=200,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(self.session_timeout_ms // 3, 100),
            # Notice partitions added to a topic (or a topic made again with more) soon.
            metadata_max_age_ms=10_000,
        )
        self._consumer = consumer
        consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                for tp, records in batches.items():
                    if stop.is_set():
                        break  # the rest is fetched again after a restart
                    for record in records:
                        await self.process(record)
                        self._pending[tp] = record.offset + 1
                        if stop.is_set():
                            break
                    self._report_lag(consumer, tp)
                await self.commit()
        finally:
            try:
                await self.commit()
            finally:
                await consumer.stop()
                self._consumer = None

    def _report_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        if self._on_lag is None:
            return
        highwater = consumer.highwater(tp)
        if highwater is not None:
            self._on_lag(tp.topic, tp.partition, max(highwater - self._pending.get(tp, 0), 0))

    async def process(self, record: ConsumerRecord) -> None:
        """Apply one record exactly once in effect, or park it on the dead-letter topic."""
        try:
            envelope = from_kafka(record.value, record.headers)
        except EnvelopeError as exc:
            await self._park(record, None, f"not a Zhengfeng CloudEvent: {exc}", attempts=1)
            return
        if envelope_hash(envelope) != envelope.eventhash:
            # What arrived is not what was stored: refuse to act on it, keep it for review.
            await self._park(
                record,
                envelope,
                "event hash does not match its content: altered after it was stored",
                attempts=1,
            )
            return
        delay = self.backoff
        for attempt in range(1, self.max_attempts + 1):
            try:
                applied = await self._apply(envelope)
            except Exception as exc:
                if attempt == self.max_attempts:
                    error = "".join(traceback.format_exception_only(exc)).strip()
                    await self._park(record, envelope, error, attempts=attempt)
                    return
                log.warning(
                    "%s: %s %s failed (attempt %d/%d): %s",
                    self.group_id,
                    envelope.type,
                    envelope.id,
                    attempt,
                    self.max_attempts,
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            if applied:
                self.stats.processed += 1
                self._on_outcome("applied")
            else:
                self.stats.duplicates += 1
                self._on_outcome("duplicate")
            return

    async def _apply(self, envelope: Envelope) -> bool:
        async with self.engine.begin() as conn:
            if (await conn.execute(_SEEN, {"id": envelope.id})).first() is not None:
                return False
            # The handler writes first so that its appends take the transaction id;
            # the inbox row last, so a racing duplicate fails on its primary key.
            await self.handler(conn, envelope)
            await conn.execute(
                _REMEMBER,
                {
                    "id": envelope.id,
                    "consumer": self.group_id,
                    "type": envelope.type,
                    "source": envelope.source,
                },
            )
        return True

    async def _park(
        self,
        record: ConsumerRecord,
        envelope: Envelope | None,
        error: str,
        *,
        attempts: int,
    ) -> None:
        headers = [
            *record.headers,
            ("x-error", error.encode()[:4000]),
            ("x-attempts", str(attempts).encode()),
            ("x-consumer-group", self.group_id.encode()),
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
        ]
        await self.producer.send_and_wait(
            self.dead_letter_topic, value=record.value, key=record.key, headers=headers
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                _PARK,
                {
                    "consumer": self.group_id,
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "event_id": str(envelope.id) if envelope else None,
                    "error": error,
                    "attempts": attempts,
                },
            )
        self.stats.dead_letters += 1
        self._on_outcome("dead_letter")
        log.error(
            "%s: parked %s:%d@%d on %s after %d attempt(s): %s",
            self.group_id,
            record.topic,
            record.partition,
            record.offset,
            self.dead_letter_topic,
            attempts,
            error,
        )


def caused_by(envelope: Envelope, actor: str) -> Metadata:
    """The metadata of what a handler records because of ``envelope``: same correlation,
    caused by that event, recorded by ``actor``."""
    return Metadata(
        actor=actor, correlation_id=envelope.correlationid, causation_id=str(envelope.id)
    )


def appending_handler(
    store: EventStore,
    contract: type[Event],
    decide: Callable[[Any], dict[str, list[Event]]],
    *,
    actor: str,
) -> Handler:
    """A handler that turns one event type into appends on this service's streams.

    ``decide`` is the service's pure function from the incoming event to the events it
    records, per stream; other event types are ignored. Appends join the consumer's
    transaction, so they commit with the inbox row or not at all.
    """

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.type != contract.type_name:
            return
        incoming = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
        meta = caused_by(envelope, actor)
        for stream_id, events in decide(incoming).items():
            await store.append(stream_id, events, expected_version=ANY, meta=meta, conn=conn)

    return handle
