"""The consumer runner: one consumer group per service, exactly-once effects via an inbox.

A record whose ``ce_type`` header names a type the service does not handle is counted as
skipped, never as applied, and costs nothing more: it is not decoded, its hash and signature
are not checked and the inbox is not asked about it (most records on a topic are of types
a given subscriber ignores; nothing of them reaches its handler). Every other record is
checked first: one that cannot be decoded (not a Zhengfeng CloudEvent, headers that are not
UTF-8 text or hold a NUL) or whose content no longer matches its event hash is parked at
once. For the rest the handler's writes and an ``inbox`` row (the event id) commit in one
database transaction; only then is the Kafka offset committed. A redelivered event finds
its inbox row and is skipped. Records of a partition fetched together share transactions
(up to ``records_per_transaction``, their inbox rows claimed in one statement); a
transaction of several that fails is rolled back and its records applied one by one, each
exactly as if it had come alone.

A restart costs what is new, not the whole history. With the inbox row, the consumer keeps
its *position* per source partition (``consumer_positions``): the highest place in the
source store's commit order (``ce_txid``, ``ce_position``, which the relay publishes in)
it has applied there. Positions are loaded at start and on every assignment. A record at
or below its partition's position whose id the batch's one inbox look-up found is skipped
as it is — not decoded, no hash or signature checked, no transaction — after a restart,
or after the broker lost its data and the relay published the store again at new offsets.
A record claiming an old place under an id the inbox lacks (a forgery with a new id)
is checked and parked like any other. Only a place whose order signature verifies (and
whose record sits in the partition its key belongs to) moves a position, so a copied
record with a forged place cannot make a consumer skip what it never applied.

Failures are classified (``libs.events.faults``). A transient one — the database or the
broker blinked — is retried without limit with capped backoff while the partition waits,
lag rises and health says degraded: a valid event is never parked for it. A failure that
repeats the same way every time is retried a few times and then parked, whole, in the
``dead_letters`` table and announced on the service's dead-letter topic, so one poison
message never blocks a partition; an operator can replay it (``libs.events.deadletters``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.partitioner import murmur2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events import deadletters
from libs.events.contracts import Event
from libs.events.deadletters import Parked
from libs.events.envelope import Envelope, envelope_hash, from_kafka
from libs.events.faults import failed_earlier_in_transaction, is_transient
from libs.events.signing import Keyring
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.db import driver

log = logging.getLogger(__name__)

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]

_SEEN_ANY = text("SELECT event_id FROM inbox WHERE event_id = ANY(CAST(:ids AS uuid[]))")
# The claims below run at the driver, each the first statement of its transaction, once
# per record applied (``libs.kit.db.driver``: no SQLAlchemy execution, ~0.1 ms of CPU).
_CLAIM = """INSERT INTO inbox (event_id, consumer, type, source) VALUES ($1, $2, $3, $4)
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id"""
"""The inbox row, first in a record's transaction: nothing comes back when the event was
applied already (a racing duplicate waits on the primary key, then finds it so). $1 the
event id, $2 the consumer, $3 the type, $4 the source."""

_POSITIONS = text(
    """SELECT topic, partitions, partition, tx_id, position FROM consumer_positions
       WHERE consumer = :consumer"""
)
_ADVANCE = text(
    """INSERT INTO consumer_positions (consumer, topic, partitions, partition, tx_id, position)
       VALUES (:consumer, :topic, :partitions, :partition, :tx, :pos)
       ON CONFLICT (consumer, topic, partitions, partition) DO UPDATE
       SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()
       WHERE (consumer_positions.tx_id, consumer_positions.position)
           < (excluded.tx_id, excluded.position)"""
)
POSITIONS_DDL = """CREATE TABLE consumer_positions (
    consumer text NOT NULL,
    topic text NOT NULL,
    -- how many partitions the topic had: keys land elsewhere with another count
    partitions integer NOT NULL,
    partition integer NOT NULL,
    tx_id bigint NOT NULL,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partitions, partition)
)"""
"""Per consumer and source partition, the highest place in the source's commit order
applied (migration step ``libs.kit.migrations.keep_consumer_positions``)."""
_MOVED = """INSERT INTO consumer_positions
               (consumer, topic, partitions, partition, tx_id, position)
           SELECT $2::text, ${0}::text, ${1}::integer, ${2}::integer, ${3}::bigint, ${4}::bigint
           FROM claimed {5}
           ON CONFLICT (consumer, topic, partitions, partition) DO UPDATE
           SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()
           WHERE (consumer_positions.tx_id, consumer_positions.position)
               < (excluded.tx_id, excluded.position)"""
_CLAIM_AT = f"""WITH claimed AS ({_CLAIM}), moved AS ({_MOVED.format(5, 6, 7, 8, 9, "")})
       SELECT event_id FROM claimed"""
"""``_CLAIM`` and the position it moves, in one round trip (neither when nothing was
claimed): $5 the topic, $6 its partitions, $7 the partition, $8 and $9 the place."""
_CLAIM_ALL = """INSERT INTO inbox (event_id, consumer, type, source)
           SELECT claim.id, $2::text, claim.type, claim.source
           FROM unnest($1::uuid[], $3::text[], $4::text[]) AS claim (id, type, source)
           ON CONFLICT (event_id) DO NOTHING
           RETURNING event_id, set_config('lock_timeout', $5::text, true)"""
"""The inbox rows of the records a transaction applies together, in one statement: the ids
that come back are new (distinct ids only: a statement may not claim one row twice). The
rest of the transaction waits for a lock ``TOGETHER_LOCK_TIMEOUT`` at most. $1 the event
ids, $2 the consumer, $3 their types, $4 their sources, $5 the lock timeout."""
_CLAIM_ALL_AT = f"""WITH claimed AS ({_CLAIM_ALL}),
       moved AS ({_MOVED.format(6, 7, 8, 9, 10, "WHERE event_id = $11::uuid")})
       SELECT event_id FROM claimed"""
"""``_CLAIM_ALL`` and the position moved by the one record that carries it ($11), when that
record is claimed: $6 the topic, $7 its partitions, $8 the partition, $9 and $10 the place."""
RECORDS_PER_TRANSACTION = 16
"""Records of a partition applied in one transaction at most (see ``ConsumerRunner``)."""
TOGETHER_LOCK_TIMEOUT = "200ms"
"""How long a transaction of several records waits for a lock before it gives up and its
records are applied one by one (each then waits as long as it takes). Two partitions'
transactions that append to the same streams in different orders (accountability's unit
streams: every clue names a few of a few units) deadlock, which the server only finds after
its ``deadlock_timeout`` (1 s): a bench.e2e at 80 transfers/s met two such in
accountability. Waiting on another transaction of several is contention either way: the
records go on in smaller transactions."""
FLUSH_INTERVAL = 1.0
"""Seconds between writes of positions moved by records that were not applied (duplicates,
types not handled, parked): applied ones move it in their own transaction."""

COMMIT_INTERVAL = 1.0
"""Seconds between offset commits while records keep coming. The offset only says where a
restarted member fetches from; what was applied is in the inbox and the positions, so a
record fetched again after a crash is skipped there. Committing after every fetch cost a
request each (a sixth of a consuming service's Kafka client CPU); a member whose partitions
are taken away, or that stops, commits at once."""

Order = tuple[int, int]
"""A place in a source store's commit-safe order: (transaction id, global position)."""
Slot = tuple[str, int, int]
"""(topic, partition count, partition): what a position is kept for."""


@dataclass
class ConsumerStats:
    """Counters the service exports as metrics."""

    processed: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    skipped: int = 0
    """Records of types this consumer does not handle (by their ``ce_type`` header: not
    decoded, not checked, never handed to the handler)."""
    retries: int = 0
    """Tries again after a transient fault."""
    replayed: int = 0
    """Parked records an operator asked to replay and that were applied (or found applied)."""
    known: int = 0
    """Records at or below their partition's position that the inbox holds: skipped
    unchecked (applied before a restart, or published again after the broker lost its
    data), with one inbox look-up per batch and no transaction of their own."""


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.runner.commit()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("%s assigned %s", self.runner.group_id, sorted(str(tp) for tp in assigned))
        # Another member may have moved these partitions on meanwhile.
        await self.runner.load_positions()


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()


def _order_of(record: ConsumerRecord) -> Order | None:
    """The record's place in its source's commit order (``ce_txid``, ``ce_position``), read
    from its headers alone; ``None`` when it carries none (or not as integers)."""
    tx = position = None
    for name, value in record.headers or ():
        if name == "ce_txid":
            tx = value
        elif name == "ce_position":
            position = value
    if tx is None or position is None:
        return None
    try:
        return int(tx), int(position)
    except (TypeError, ValueError):
        return None


def _last_placed(records: list[ConsumerRecord], *, signed: bool) -> ConsumerRecord | None:
    """The last of ``records`` that carries its place (``signed``: and the place's signature)."""
    needed = "ce_ordersignature" if signed else "ce_txid"
    for record in reversed(records):
        if _order_of(record) is not None and any(n == needed for n, _ in record.headers or ()):
            return record
    return None


def _type_of(record: ConsumerRecord) -> str | None:
    """The ``ce_type`` header of a record as ``from_kafka`` reads it (the last one), when it
    is UTF-8 text without a NUL (else ``None``: the record is checked in full)."""
    found = None
    for name, value in record.headers or ():
        if name == "ce_type":
            found = value
    if found is None:
        return None
    try:
        kind: str = found.decode()
    except (UnicodeDecodeError, AttributeError):
        return None
    return None if "\x00" in kind else kind


def _event_id(record: ConsumerRecord) -> str | None:
    """The ``ce_id`` header of a record, when it is a well-formed UUID (else ``None``)."""
    for name, value in record.headers or ():
        if name == "ce_id":
            try:
                return str(UUID(value.decode()))
            except (UnicodeDecodeError, ValueError, AttributeError):
                return None
    return None


def check(parked: Parked, trust: Trust | None = None) -> tuple[Envelope | None, str | None]:
    """The record's envelope (when it decodes) and why it can never be applied (``None``
    when it may be): a record with a reason is parked at once."""
    try:
        envelope = from_kafka(parked.value, parked.headers)
    except Exception as exc:  # every way a record can fail to decode parks it, once
        return None, f"not a Zhengfeng CloudEvent: {exc}"
    try:
        intact = envelope_hash(envelope) == envelope.eventhash
    except Exception as exc:
        return envelope, f"event hash cannot be computed: {exc}"
    if not intact:
        # What arrived is not what was stored: refuse to act on it, keep it for review.
        return envelope, "event hash does not match its content: altered after it was stored"
    if trust is not None:
        why = trust.keyring.refusal(envelope, trust.owners.get(parked.topic))
        if why is not None:
            return envelope, f"not signed by the service that owns the topic: {why}"
    return envelope, None


@dataclass(frozen=True)
class Trust:
    """Whose events a consumer believes: the publishers' public keys, and which service owns
    each topic it reads (an event read from a topic must come from, and be signed by, its
    owner)."""

    keyring: Keyring
    owners: Mapping[str, str]
    """topic → the service that publishes to it."""


@dataclass(frozen=True)
class _Ready:
    """A record that passed its checks and is for the handler: applied with others of its
    partition in one transaction, or alone."""

    record: ConsumerRecord
    parked: Parked
    envelope: Envelope
    mark: tuple[Slot, Order] | None
    """Where it moves its partition's position (``None``: nowhere)."""

    @property
    def id(self) -> str:
        return str(self.envelope.id)


@dataclass(frozen=True)
class _Refused:
    """A record that can never be applied: parked at once."""

    parked: Parked
    envelope: Envelope | None
    why: str


@dataclass(frozen=True)
class _Passed:
    """A record that needs no transaction: a type not handled, or known to be applied."""

    mark: tuple[Slot, Order] | None
    duplicate: bool


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
        handles: Collection[str] | None = None,
        trust: Trust | None = None,
        max_attempts: int = 5,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        on_lag: Callable[[str, int, int], None] | None = None,
        on_outcome: Callable[[str], None] | None = None,
        session_timeout_ms: int = 10000,
        concurrency: int = 2,
        batch_records: int = 2000,
        fetch_wait_ms: int = 500,
        busy_fetch_wait_ms: int = 100,
        busy_seconds: float = 2.0,
        store: EventStore | None = None,
        records_per_transaction: int = RECORDS_PER_TRANSACTION,
    ) -> None:
        self.engine = engine
        self.store = store
        """The service's store, the one its handler appends to: each transaction is then
        the store's unit of work (``EventStore.transaction``), whose appends are announced
        once it committed instead of notifying inside it (a notifying commit waits for
        every other commit of the server through its WAL flush). ``None``: transactions of
        ``engine``, and appends notify in them."""
        self.records_per_transaction = max(records_per_transaction, 1)
        """Ready records of one partition's batch applied in one transaction at most.

        Each transaction costs BEGIN, COMMIT and a WAL flush whatever it holds, so records
        applied together share them: at 16 a record pays a sixteenth of them, and doubling
        the bound would save it only 3 % of one transaction's cost more, while a longer
        transaction costs more in other ways: its first record is committed only with its
        last, it holds one of the ``concurrency`` connections and the rows it locked
        (stream heads) for as long as its records take, and one that fails is done again
        a record at a time.
        At a steady rate a partition's batch is a record or two; under load (a saturated
        machine, a restart catching up) it holds many."""
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self.handler = handler
        self.handles = frozenset(handles) if handles is not None else None
        """The event types the handler takes (``None``: every type is offered to it)."""
        self.trust = trust
        """Signature and source checks (``None``: hash checks only, for tests of other parts)."""
        self.dead_letter_topic = dead_letter_topic
        self.producer = producer
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = ConsumerStats()
        self.fault: str | None = None
        """The transient fault being waited out right now (health says degraded)."""
        self._on_lag = on_lag
        # How long a crashed member keeps its partitions before the group moves them.
        self.session_timeout_ms = session_timeout_ms
        self._on_outcome = on_outcome or (lambda outcome: None)
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._workers: dict[TopicPartition, asyncio.Task[None]] = {}
        self.batch_records = batch_records
        """Records fetched at once at most. A batch costs the same few round trips whatever
        it holds (one inbox look-up, a task, an offset commit): after a restart, when every
        record is known, those are what the consumer spends its time on (200 a batch took a
        whole restart 33 s at 100 000 events, 2000 a few, docs/operations.md)."""
        self.fetch_wait_ms = fetch_wait_ms
        """How long a fetch waits at the broker for a record while none has come for
        ``busy_seconds`` (aiokafka's ``fetch_max_wait_ms``)."""
        self.busy_fetch_wait_ms = busy_fetch_wait_ms
        """The same while records keep coming (one came in the last ``busy_seconds``).

        A broker that answers a waiting fetch as soon as a record arrives (Apache Kafka)
        makes either wait cost nothing in latency. The embedded broker does not: it answers
        when the wait is over, so a record waited about a quarter of it at the median and
        half of it at the 99th percentile (idle machine: p50 127 / p99 253 ms at 500 ms,
        25 / 34 ms at 100 ms, 4 / 9 ms at 10 ms), which was most of the way from intake's
        relay to casework's handler in bench.e2e. Each fetch costs the broker and the
        consumer CPU, so the short wait holds only while there is traffic, and is not
        shorter: 20 ms tripled the broker's CPU per transfer (docs/operations.md)."""
        self.busy_seconds = busy_seconds
        self._records_at = float("-inf")
        self._meeting_applied: set[TopicPartition] = set()
        """Partitions whose last batch held records the inbox already had: the next batch
        is looked up in the inbox at once (a topic read again, whose records are copies)."""
        self._slots = asyncio.Semaphore(concurrency)
        """Records applied at once, over all partitions (each holds a connection)."""
        self.positions: dict[Slot, Order] = {}
        """Per source partition, the highest place applied (or otherwise settled) there."""
        self._saved: dict[Slot, Order] = {}
        """What ``consumer_positions`` holds, as far as this runner knows."""
        self._flushed_at = float("-inf")
        self._committed_at = float("-inf")

    async def commit(self, *, now: bool = True) -> None:
        """Commit the offsets of everything fully processed so far (``now=False``: only when
        the last commit is ``COMMIT_INTERVAL`` old).

        A rebalance can take partitions away while their records are being processed.
        Their offsets are then dropped instead of failing the runner: the new owner
        starts from the last committed offset and its inbox skips what was applied here.
        """
        consumer = self._consumer
        if consumer is None or not self._pending:
            return
        clock = asyncio.get_running_loop().time()
        if not now and clock - self._committed_at < COMMIT_INTERVAL:
            return
        self._committed_at = clock
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
        """Consume until ``stop`` is set, then commit and leave the group cleanly.

        Each partition's records are worked through by a task of their own, in offset order
        (a partition is keyed by stream, so a stream's events stay in order): records
        fetched while the partition's previous ones are still being worked through wait
        behind them, and the partition is paused until they are all done, so that at most
        two fetches of a partition are held at once. At most ``concurrency`` records are
        applied at once.

        A partition is not paused for every batch: with one broker, a partition resumed
        while a fetch of the others is out is fetched again only when that fetch comes back
        (with a record of another partition, or after ``fetch_max_wait_ms``), which kept a
        record that arrived meanwhile waiting 0.2-0.5 s at a few transfers a second."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_records,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(self.session_timeout_ms // 3, 100),
            # Notice partitions added to a topic (or a topic made again with more) soon.
            metadata_max_age_ms=10_000,
            # A record as large as the broker accepts is fetched, never stuck behind the limit.
            max_partition_fetch_bytes=16 * 1024 * 1024,
            # A fetch waits ``fetch_wait_ms`` at the broker when nothing is new, and the
            # shorter ``busy_fetch_wait_ms`` while records keep coming (``_pace_fetches``).
            fetch_max_wait_ms=self.fetch_wait_ms,
        )
        self._consumer = consumer
        await self.load_positions()
        consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                self._pace_fetches(consumer, busy=bool(batches))
                for tp, records in batches.items():
                    before = self._workers.get(tp)
                    if before is not None and not before.done():
                        # These wait behind the partition's previous records: nothing more
                        # from it until its workers are through (the last resumes it).
                        consumer.pause(tp)
                    self._workers[tp] = asyncio.create_task(
                        self._work(consumer, tp, records, stop, before)
                    )
                self._reap()
                await self.commit(now=False)
                await self.save_positions()
        finally:
            try:
                workers = list(self._workers.values())
                await asyncio.gather(*workers, return_exceptions=True)
                self._workers.clear()
                await self.commit()
                await self.save_positions(now=True)
            finally:
                await consumer.stop()
                self._consumer = None

    def _pace_fetches(self, consumer: AIOKafkaConsumer, *, busy: bool) -> None:
        """Let the next fetches wait ``busy_fetch_wait_ms`` at the broker while records keep
        coming, else ``fetch_wait_ms``.

        aiokafka reads the wait from its fetcher each time it makes a fetch request and
        offers no way to change it once started; tests/integration/test_consumer.py checks
        that the fetcher still has it where this sets it.
        """
        now = asyncio.get_running_loop().time()
        if busy:
            self._records_at = now
        wait = (
            self.busy_fetch_wait_ms
            if now - self._records_at < self.busy_seconds
            else self.fetch_wait_ms
        )
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is not None and getattr(fetcher, "_fetch_max_wait_ms", wait) != wait:
            fetcher._fetch_max_wait_ms = wait

    @property
    def fetch_wait(self) -> int | None:
        """The wait the consumer's next fetch asks the broker for (``None``: not running)."""
        fetcher = getattr(self._consumer, "_fetcher", None)
        wait = getattr(fetcher, "_fetch_max_wait_ms", None)
        return int(wait) if wait is not None else None

    def _reap(self) -> None:
        """Forget finished workers; one that crashed crashes the runner (it restarts)."""
        for tp, task in list(self._workers.items()):
            if task.done():
                del self._workers[tp]
                if not task.cancelled() and (exc := task.exception()) is not None:
                    raise exc

    async def _work(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        stop: asyncio.Event,
        before: asyncio.Task[None] | None,
    ) -> None:
        """One partition's records, in order, after those fetched before them (``before``);
        then fetching from it resumes."""
        if before is not None:
            # A crash of the worker before is this one's too (it is no longer among the
            # workers the runner reaps): the runner restarts, and these records are fetched
            # again from the committed offset, never applied past what it left undone.
            await before
        try:
            slot = self._slot(consumer, tp)
            high = self.positions.get(slot) if slot is not None else None
            applied = await self._known_applied(records, high, again=tp in self._meeting_applied)
            duplicates = self.stats.duplicates
            known: set[int] = set()
            if high is not None and applied:
                # At or below the position and in the inbox: a copy of what was applied,
                # skipped unchecked. A record claiming an old place under an id the inbox
                # lacks (a forgery, a type not handled) is checked as any other.
                known = {
                    r.offset
                    for r in records
                    if (o := _order_of(r)) and o <= high and _event_id(r) in applied
                }
            await self.process_batch(records, stop, applied, slot=slot, known=known)
            if self.stats.duplicates > duplicates:
                self._meeting_applied.add(tp)
            else:
                self._meeting_applied.discard(tp)
            self._report_lag(consumer, tp)
        finally:
            # The partition's last worker resumes it (one behind this one still holds it).
            if tp in consumer.assignment() and self._workers.get(tp) is asyncio.current_task():
                consumer.resume(tp)

    def _slot(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> Slot | None:
        partitions = consumer.partitions_for_topic(tp.topic)
        return (tp.topic, len(partitions), tp.partition) if partitions else None

    async def load_positions(self) -> None:
        """Read the positions kept with the inbox (never moving one back); a database that
        does not answer leaves them as they are (the inbox still decides)."""
        try:
            async with self._autocommit.connect() as conn:
                rows = (await conn.execute(_POSITIONS, {"consumer": self.group_id})).all()
        except Exception as exc:
            log.warning("%s: positions not loaded (%r); the inbox decides", self.group_id, exc)
            return
        for topic, partitions, partition, tx, position in rows:
            slot, order = (topic, partitions, partition), (int(tx), int(position))
            self._saved[slot] = max(self._saved.get(slot, order), order)
            self.positions[slot] = max(self.positions.get(slot, order), order)

    async def save_positions(self, *, now: bool = False) -> None:
        """Write the positions moved by records that were not applied (at most every
        ``FLUSH_INTERVAL``); one not written is found in the inbox after a restart."""
        moved = {s: o for s, o in self.positions.items() if self._saved.get(s, (-1, -1)) < o}
        clock = asyncio.get_running_loop().time()
        if not moved or (not now and clock - self._flushed_at < FLUSH_INTERVAL):
            return
        self._flushed_at = clock
        try:
            # One statement for them all (each row moves only forward), in autocommit.
            async with self._autocommit.connect() as conn:
                params = [self._position_params(slot, order) for slot, order in moved.items()]
                await conn.execute(_ADVANCE, params)
        except Exception as exc:
            log.debug("%s: positions not written (%r); next time", self.group_id, exc)
            return
        self._saved.update(moved)

    def _place(self, slot: Slot, order: Order) -> tuple[str, int, int, int, int]:
        """A record's partition and place, as the claims' position arguments."""
        topic, partitions, partition = slot
        return topic, partitions, partition, order[0], order[1]

    def _position_params(self, slot: Slot, order: Order) -> dict[str, Any]:
        topic, partitions, partition = slot
        return {
            "consumer": self.group_id,
            "topic": topic,
            "partitions": partitions,
            "partition": partition,
            "tx": order[0],
            "pos": order[1],
        }

    def _trusted_order(
        self, parked: Parked, envelope: Envelope, slot: Slot | None
    ) -> tuple[Slot, Order] | None:
        """Where ``envelope`` moves its partition's position to, when its place may be
        believed: signed by its publisher, and the record in the partition of its key."""
        if slot is None or envelope.txid is None or envelope.position is None:
            return None
        order = (envelope.txid, envelope.position)
        if order <= self.positions.get(slot, (-1, -1)):
            return None
        if self.trust is not None:
            why = self.trust.keyring.order_refusal(envelope)
            if why is None and (murmur2(parked.key or b"") & 0x7FFFFFFF) % slot[1] != slot[2]:
                why = f"a record of key {parked.key!r} in partition {slot[2]} of {slot[1]}"
            if why is not None:
                log.warning(
                    "%s: %s:%d@%d moves no position: %s",
                    self.group_id,
                    parked.topic,
                    parked.partition,
                    parked.offset,
                    why,
                )
                return None
        return slot, order

    def _settled(self, mark: tuple[Slot, Order] | None, *, saved: bool = False) -> None:
        if mark is None:
            return
        slot, order = mark
        if order > self.positions.get(slot, (-1, -1)):
            self.positions[slot] = order
        if saved and order > self._saved.get(slot, (-1, -1)):
            self._saved[slot] = order

    async def _applied_already(self, records: list[ConsumerRecord]) -> set[str] | None:
        """The event ids of ``records`` the inbox already holds, in one query (a redelivered
        batch is skipped without a transaction per record). ``None`` when it cannot tell:
        each record's own transaction then looks for itself."""
        ids = [i for r in records if not self._ignored(r) and (i := _event_id(r)) is not None]
        if not ids:
            return set()
        try:
            # One statement, in autocommit: no BEGIN and ROLLBACK round trips around it.
            async with self._slots, self._autocommit.connect() as conn:
                rows = await conn.execute(_SEEN_ANY, {"ids": ids})
                return {str(r[0]) for r in rows}
        except Exception as exc:
            log.debug("%s: inbox look-up for a batch failed (%r)", self.group_id, exc)
            return None

    async def _known_applied(
        self, records: list[ConsumerRecord], high: Order | None, *, again: bool = False
    ) -> set[str]:
        """The event ids of ``records`` known to be in the inbox.

        A batch reaching at or below its partition's position ``high`` (after a restart, a
        republish, a rebalance) may hold much that was applied; so may any batch of a
        partition with no position yet, and one that follows a batch that held copies
        (``again``: a topic read again by a group that lost its offsets and positions). Such
        a batch is looked up in the inbox in one query. Otherwise nothing is looked up (an
        empty set): each record's own transaction claims its inbox row first and finds a
        rare duplicate there, which costs less than a look-up per batch when batches are a
        record or two. Without the look-up, 100 000 records met again with no position took
        a transaction each: 60.3–64.4 s against 21.6 s (bench.restart's peer, idle machine)."""
        if (
            not again
            and high is not None
            and not any(
                (o := _order_of(r)) is not None and o <= high and not self._ignored(r)
                for r in records
            )
        ):
            return set()
        return await self._applied_already(records) or set()

    def _ignored(self, record: ConsumerRecord) -> bool:
        """Whether the record's ``ce_type`` header names a type the handler does not take."""
        if self.handles is None:
            return False
        kind = _type_of(record)
        return kind is not None and kind not in self.handles

    def _skip(self, mark: tuple[Slot, Order] | None = None) -> None:
        self.stats.skipped += 1
        self._on_outcome("skipped")
        self._settled(mark)

    def _report_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        if self._on_lag is None or tp not in consumer.assignment():
            return
        highwater = consumer.highwater(tp)
        if highwater is not None:
            self._on_lag(tp.topic, tp.partition, max(highwater - self._pending.get(tp, 0), 0))

    async def process(
        self,
        record: ConsumerRecord,
        stop: asyncio.Event | None = None,
        applied: set[str] | None = None,
        *,
        slot: Slot | None = None,
    ) -> bool:
        """Apply one record exactly once in effect, skip it, or park it (``process_batch``
        of that record alone); ``False`` when ``stop`` was set before it was done with."""
        return await self.process_batch([record], stop, applied, slot=slot)

    async def process_batch(
        self,
        records: list[ConsumerRecord],
        stop: asyncio.Event | None = None,
        applied: set[str] | None = None,
        *,
        slot: Slot | None = None,
        known: Collection[int] = (),
    ) -> bool:
        """Work through one partition's ``records`` in offset order: apply each exactly
        once in effect, skip it, or park it; the offset of each one done is committed next.

        Ready records (checked, of a type handled, not known to be applied) that follow
        one another, with only records that need nothing between them, are applied in one
        transaction, at most ``records_per_transaction`` of them: one statement claims
        their inbox rows (those already there are duplicates), then the handler takes each
        claimed one in order. A record to park, or one that moves the position without
        being applied, first has the ready ones before it committed, so nothing is done
        past a record not done yet. When such a transaction fails it is rolled back and
        its records are applied one by one, each in its own transaction as if alone (a
        transient fault waited out, a record that fails the same way every time parked
        after ``max_attempts``, the handler's failure inside the transaction counted as
        that record's first); the others are applied once each all the same.

        ``applied``: event ids known to be in the inbox (a batch's look-up, and those
        applied since): skipped as duplicates without a transaction. ``known``: offsets of
        records known to be applied before the partition's position, skipped unchecked.
        ``slot``: the records' partition, when their places in the source's order may move
        its position: the last new record with a (signed) place moves it, and is checked
        whatever its type, since its place counts only when its signature verifies.
        ``False`` when ``stop`` was set before all were done with: those not done are not
        committed and are delivered again."""
        applied = set() if applied is None else applied
        fresh = [r for r in records if r.offset not in known]
        # The last new record with a signed place may move the position past all before
        # it (the relay signs the place of its batches' last record per partition).
        mark = _last_placed(fresh, signed=self.trust is not None) if slot else None
        ready: list[_Ready] = []
        last: ConsumerRecord | None = None

        async def flush() -> bool:
            """Apply the ready records; then every record up to ``last`` is done."""
            nonlocal ready
            if ready:
                together, ready = ready, []
                if not await self._apply_together(together, stop, applied):
                    return False
            if last is not None:
                self._through(last)
            return True

        for record in records:
            if stop is not None and stop.is_set():
                return False  # the rest, ready ones included, is fetched again later
            if record.offset in known:
                self.stats.known += 1
                self._on_outcome("known")
            else:
                step = self._prepare(record, applied, slot if record is mark else None)
                if isinstance(step, _Ready):
                    if len(ready) >= self.records_per_transaction and not await flush():
                        return False
                    ready.append(step)
                elif isinstance(step, _Refused):
                    if not await flush() or not await self._park(
                        step.parked, step.envelope, step.why, attempts=1, stop=stop
                    ):
                        return False
                else:
                    if step.mark is not None and not await flush():
                        return False  # the position moves only past what is done
                    if step.duplicate:
                        self._count(False)
                        self._settled(step.mark)
                    else:
                        self._skip(step.mark)
            last = record
            if not ready:
                self._through(record)
        return await flush()

    def _through(self, record: ConsumerRecord) -> None:
        """``record`` and every record of its partition before it are done with."""
        self._pending[TopicPartition(record.topic, record.partition)] = record.offset + 1

    def _prepare(
        self, record: ConsumerRecord, applied: Collection[str], slot: Slot | None
    ) -> _Ready | _Refused | _Passed:
        """What ``record`` needs, found without the database: its checks (decoded, hash,
        signature), its type, whether it is known to be applied, and where it moves the
        position of its partition (``slot``: it may)."""
        if slot is None and self._ignored(record):
            return _Passed(None, duplicate=False)
        parked = Parked.of(record)
        envelope, refused = check(parked, self.trust)
        if refused is not None or envelope is None:
            return _Refused(parked, envelope, refused or "no envelope")
        mark = self._trusted_order(parked, envelope, slot)
        if self.handles is not None and envelope.type not in self.handles:
            return _Passed(mark, duplicate=False)
        if str(envelope.id) in applied:
            return _Passed(mark, duplicate=True)
        return _Ready(record, parked, envelope, mark)

    async def _apply_together(
        self, items: list[_Ready], stop: asyncio.Event | None, applied: set[str]
    ) -> bool:
        """Apply ``items`` (in order) in one transaction; should it fail, one by one.
        ``False`` when ``stop`` was set before all were done with."""
        if len(items) == 1:
            return await self._deliver_one(items[0], stop, applied)
        at = [-1]
        try:
            async with self._slots:
                taken, claimed = await self._apply_many(items, at)
        except Exception as exc:
            failure = exc
        else:
            self._recovered()
            for item, took in zip(items, taken, strict=True):
                self._count(took)
                self._settled(item.mark, saved=item.id in claimed)
                applied.add(item.id)  # a copy later in the batch is a duplicate
            return True
        # Outside the handler of ``failure``: what fails next must not be chained to it (a
        # transient fault in its chain would make a poison record look transient).
        return await self._one_by_one(items, stop, applied, failure, at[0])

    async def _apply_many(self, items: list[_Ready], at: list[int]) -> tuple[list[bool], set[str]]:
        """Claim the inbox rows of ``items`` in one statement and run the handler on each
        claimed one, in one transaction; per item, whether it was applied (else the inbox
        had it, or an earlier item of the same id took it), and the ids claimed. ``at[0]``
        is the index of the item whose handler is running (-1 outside them)."""
        first = {item.id: item.envelope for item in reversed(items)}
        ids = list(dict.fromkeys(item.id for item in items))
        args: list[Any] = [
            ids,
            self.group_id,
            [first[i].type for i in ids],
            [first[i].source for i in ids],
            TOGETHER_LOCK_TIMEOUT,
        ]
        marked = next((item for item in items if item.mark is not None), None)
        taken: list[bool] = []
        async with self._begin() as conn:
            c = await driver(conn)
            if marked is None or marked.mark is None:
                rows = await c.fetch(_CLAIM_ALL, *args)
            else:
                args += [*self._place(*marked.mark), marked.id]
                rows = await c.fetch(_CLAIM_ALL_AT, *args)
            claimed = {str(row[0]) for row in rows}
            left = set(claimed)
            for i, item in enumerate(items):
                if item.id not in left:
                    taken.append(False)
                    continue
                left.discard(item.id)
                at[0] = i
                await self.handler(conn, item.envelope)
                at[0] = -1
                taken.append(True)
        return taken, claimed

    async def _one_by_one(
        self,
        items: list[_Ready],
        stop: asyncio.Event | None,
        applied: set[str],
        exc: Exception,
        at: int,
    ) -> bool:
        """After ``items``' transaction failed with ``exc`` (in the handler of item ``at``,
        or -1: claiming or committing), apply them one by one, each as if alone."""
        log.info(
            "%s: %d records applied together failed (%s); applying them one by one",
            self.group_id,
            len(items),
            exc,
        )
        if at < 0 or failed_earlier_in_transaction(exc):
            at = -1
            if is_transient(exc):  # nobody's in particular: waited out once, before them all
                self._waiting_out(exc, None)
                if not await _pause(self.backoff, stop):
                    return False
        for i, item in enumerate(items):
            if item.id in applied:  # a copy of one applied just before
                self._count(False)
                self._settled(item.mark)
            elif not await self._deliver_one(item, stop, applied, exc if i == at else None):
                return False
            self._through(item.record)
        return True

    async def _deliver_one(
        self,
        item: _Ready,
        stop: asyncio.Event | None,
        applied: set[str],
        failed: Exception | None = None,
    ) -> bool:
        done = await self._deliver(item.parked, item.envelope, stop, mark=item.mark, failed=failed)
        if done:
            applied.add(item.id)  # a second copy later in the batch is a duplicate
        return done

    async def _deliver(
        self,
        parked: Parked,
        envelope: Envelope,
        stop: asyncio.Event | None,
        *,
        mark: tuple[Slot, Order] | None = None,
        failed: Exception | None = None,
    ) -> bool:
        """Apply one record in its own transaction until it is applied (or found applied),
        waiting out transient faults and parking it after ``max_attempts`` other failures.
        ``failed``: how its first try (in a transaction with others) already failed."""
        failures = 0
        delay = self.backoff
        while True:
            exc, failed = failed, None
            if exc is None:
                try:
                    async with self._slots:
                        applied = await self._apply(envelope, mark=mark)
                except Exception as raised:
                    exc = raised
                else:
                    self._recovered()
                    self._count(applied)
                    self._settled(mark, saved=applied)
                    return True
            if is_transient(exc):
                self._waiting_out(exc, envelope)
            else:
                failures += 1
                if failures >= self.max_attempts:
                    error = _error_text(exc)
                    parked_now = await self._park(
                        parked, envelope, error, attempts=failures, stop=stop
                    )
                    if parked_now:
                        self._settled(mark)
                    return parked_now
                log.warning(
                    "%s: %s %s failed (attempt %d/%d): %s",
                    self.group_id,
                    envelope.type,
                    envelope.id,
                    failures,
                    self.max_attempts,
                    exc,
                )
            if not await _pause(delay, stop):
                return False
            delay = min(delay * 2, self.max_backoff)

    def _count(self, applied: bool) -> None:
        if applied:
            self.stats.processed += 1
            self._on_outcome("applied")
        else:
            self.stats.duplicates += 1
            self._on_outcome("duplicate")

    def _waiting_out(self, exc: BaseException, envelope: Envelope | None) -> None:
        """A transient fault: wait and try again, for as long as it takes."""
        self.stats.retries += 1
        self._on_outcome("retry")
        if self.fault is None:
            log.warning(
                "%s: transient fault, retrying until it passes (%s %s): %s",
                self.group_id,
                envelope.type if envelope else "record",
                envelope.id if envelope else "",
                exc,
            )
        self.fault = _error_text(exc)

    def _recovered(self) -> None:
        if self.fault is not None:
            log.info("%s: recovered from %s", self.group_id, self.fault)
            self.fault = None

    async def _apply(
        self,
        envelope: Envelope,
        *,
        mark: tuple[Slot, Order] | None = None,
    ) -> bool:
        """Apply ``envelope`` with its inbox row in one transaction; ``False`` when the inbox
        held it already (a duplicate: nothing is written)."""
        row = [envelope.id, self.group_id, envelope.type, envelope.source]
        async with self._begin() as conn:
            # The inbox row first: one statement both looks and remembers. The position
            # moves with it (or neither does), and all of it rolls back if the handler fails.
            c = await driver(conn)
            if mark is None:
                claimed = await c.fetchrow(_CLAIM, *row)
            else:
                claimed = await c.fetchrow(_CLAIM_AT, *row, *self._place(*mark))
            if claimed is None:
                return False
            await self.handler(conn, envelope)
        return True

    def _begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction to apply records in: the store's unit of work when there is one."""
        return self.store.transaction() if self.store is not None else self.engine.begin()

    async def _park(
        self,
        parked: Parked,
        envelope: Envelope | None,
        error: str,
        *,
        attempts: int,
        stop: asyncio.Event | None,
    ) -> bool:
        """Keep the record whole in ``dead_letters``, then announce it on the dead-letter
        topic; a transient fault on the way is waited out like any other."""

        async def keep() -> None:
            async with self.engine.begin() as conn:
                await deadletters.record_parked(
                    conn,
                    parked,
                    consumer=self.group_id,
                    envelope=envelope,
                    error=error,
                    attempts=attempts,
                )

        async def announce() -> None:
            value, headers = deadletters.announcement(parked, self.group_id, error, attempts)
            await self.producer.send_and_wait(
                self.dead_letter_topic, value=value, key=parked.key, headers=headers
            )

        for step in (keep, announce):
            if not await self._until_done(step, stop):
                return False
        self.stats.dead_letters += 1
        self._on_outcome("dead_letter")
        log.error(
            "%s: parked %s:%d@%d on %s after %d attempt(s): %s",
            self.group_id,
            parked.topic,
            parked.partition,
            parked.offset,
            self.dead_letter_topic,
            attempts,
            error,
        )
        return True

    async def _until_done(
        self, step: Callable[[], Awaitable[None]], stop: asyncio.Event | None
    ) -> bool:
        delay = self.backoff
        while True:
            try:
                await step()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self._waiting_out(exc, None)
                if not await _pause(delay, stop):
                    return False
                delay = min(delay * 2, self.max_backoff)
                continue
            self._recovered()
            return True

    async def redrive(self) -> int:
        """Replay the parked records an operator asked for; how many were settled.

        Each goes through the same checks and the same inbox as a delivered record, so a
        replay applies an event at most once. A transient fault leaves the request for the
        next round; any other failure keeps the record parked with the new error."""
        async with self.engine.connect() as conn:
            waiting = await deadletters.requested(conn, self.group_id)
        settled = 0
        for item in waiting:
            outcome, error = await self._replay_one(item.parked)
            if outcome is None:
                break  # a transient fault: try the rest at the next round
            async with self.engine.begin() as conn:
                await deadletters.settle(conn, item.id, outcome, error)
            if outcome != "failed":
                self.stats.replayed += 1
                self._on_outcome("replayed")
            settled += 1
        return settled

    async def _replay_one(self, parked: Parked) -> tuple[str | None, str | None]:
        envelope, refused = check(parked, self.trust)
        if refused is not None or envelope is None:
            return "failed", refused or "no envelope"
        if self.handles is not None and envelope.type not in self.handles:
            return "failed", f"{self.group_id} does not handle events of type {envelope.type}"
        try:
            applied = await self._apply(envelope)
        except Exception as exc:
            if is_transient(exc):
                return None, None
            return "failed", _error_text(exc)
        return ("applied" if applied else "duplicate"), None


async def _pause(delay: float, stop: asyncio.Event | None) -> bool:
    """Wait ``delay`` seconds; ``False`` when ``stop`` was set meanwhile."""
    if stop is None:
        await asyncio.sleep(delay)
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
    return not stop.is_set()


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
