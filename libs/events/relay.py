"""The relay: publishes a store to Kafka in commit-safe order, resuming from its cursor.

The store is the outbox. The relay reads a batch after its cursor, publishes it (key =
stream id, CloudEvents binary mode), waits for every acknowledgement, and only then
moves its cursor in the same database. A crash anywhere in between republishes the
batch: delivery is at-least-once and consumers' inboxes drop the repeats.

Any number of replicas may run a relay for the same store; one leads. The leader holds
a PostgreSQL advisory lock (keyed by schema and relay name) on a connection of its own
for as long as it publishes; the others stand by and try for the lock now and then. A
leader that dies loses its connection and with it the lock, and a standby resumes from
the cursor.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata
from opentelemetry.trace import Tracer
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import kafka_record
from libs.events.kafka import end_offsets, end_offsets_total, ensure_topics
from libs.events.signing import Signer
from libs.events.store import START, Checkpoint, EventStore, HeldBack, Recorded
from libs.events.wakeup import Waiter
from libs.kit import tracing

log = logging.getLogger(__name__)

# The cursor is read and moved once per batch, on the store's asyncpg connection
# (``EventStore._driver``, as the store's own hot paths): a quarter of a SQLAlchemy
# connection's CPU, and reading it is one round trip rather than three. Moving it keeps
# its own transaction: a relay that dies while the statement waits (on a lock) must leave
# the cursor where it was.
_LOAD = "SELECT tx_id::text, position FROM relay_cursors WHERE name = $1"
_SAVE = text(
    """INSERT INTO relay_cursors (name, tx_id, position) VALUES (:n, CAST(:tx AS xid8), :pos)
       ON CONFLICT (name) DO UPDATE
       SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()"""
)
# Fencing: a relay that lost its leadership while paused (and published one batch on
# waking) never moves the cursor back behind what the new leader recorded.
_ADVANCE = """INSERT INTO relay_cursors (name, tx_id, position) VALUES ($1, $2::text::xid8, $3)
       ON CONFLICT (name) DO UPDATE
       SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()
       WHERE (relay_cursors.tx_id, relay_cursors.position) < (excluded.tx_id, excluded.position)"""


_TRY_LEAD = text("SELECT pg_try_advisory_lock(hashtext(current_schema() || :n))")
_STILL_CONNECTED = text("SELECT 1")
_LEASE = text("SELECT set_config('idle_session_timeout', :ms, false)")
_SOON = 0.01
"""Seconds before looking again when a notified event was still below the horizon (doubling
up to the idle interval)."""
_SHIP_AFTER = 0.005
"""Seconds of signing and encoding after which what is ready is handed to the producer (its
linger): the broker stores it while the rest of the batch is made."""
LOCK_LOOK_INTERVAL = 0.2
"""Seconds a leader goes on publishing batch after batch before it asks its lock session
again whether it still holds the lock. Asking before every batch was a round trip (through
SQLAlchemy) per batch: at a live rate, where each batch holds an event or two, a fifth of
the relay's CPU. A leader that was paused (the case the lease is for) was silent longer
than this, so it asks before publishing again, as before."""
LAG_COUNT_INTERVAL = 5.0
"""Seconds between exact counts of unpublished events while a backlog drains."""


class Relay:
    """Moves events from one store to one topic."""

    def __init__(
        self,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        bootstrap: str,
        name: str = "kafka",
        batch_size: int = 500,
        backlog_batch_size: int = 1000,
        idle_interval: float = 0.1,
        standby_interval: float = 1.0,
        on_published: Callable[[int, int], None] | None = None,
        partitions: int = 6,
        wipe_check_interval: float = 2.0,
        wipe_check_max_interval: float = 30.0,
        signer: Signer | None = None,
        lease: float = 8.0,
        on_held_back: Callable[[float], None] | None = None,
        held_back_warning: float = 5.0,
        waiter: Waiter | None = None,
        tracer: Tracer = tracing.NO_OP,
    ) -> None:
        self.store = store
        self.tracer = tracer
        """Spans for publishes (libs/kit/tracing.py): the no-op tracer unless configured."""
        self.producer = producer
        self.topic = topic
        self.bootstrap = bootstrap
        self.name = name
        self.batch_size = batch_size
        """Events per batch while live (a few at a time: each is sent as soon as it commits)."""
        self.backlog_batch_size = max(backlog_batch_size, batch_size)
        """Events per batch at most while a backlog drains (after a restart, the whole store):
        full batches grow it (``_next_limit``: never so large that a batch outlasts the
        lease), a batch that is not full brings it back to ``batch_size``. Fewer, larger batches pay the per-batch costs
        (the metadata look, one order signature per partition, waiting for the last
        acknowledgement, the cursor's write) fewer times; only a batch in flight is ever
        sent twice, so this bounds what a crash repeats. Not larger: a batch of 5 000 cost
        the relay 2.8 µs more CPU per event than one of 1 000 (18.4-19.6 against 15.4-16.6
        µs unsigned, draining 20 000 events as leader; the garbage collector scans the
        batch's objects while it is alive, 11-12 times against once, and they no longer fit
        the caches) and drained no faster."""
        self._limit = batch_size
        self.idle_interval = idle_interval
        """Seconds between looks at an idle store; with a ``waiter``, only the fallback."""
        self.waiter = waiter
        """Woken when the store commits events (libs/events/wakeup.py)."""
        self._soon = _SOON
        self.standby_interval = standby_interval
        self._on_published = on_published
        self._lag_counted_at = float("-inf")
        self._behind = 0
        self._reset_requested = False
        self.partitions = partitions
        self.wipe_check_interval = wipe_check_interval
        """Seconds between looks, while idle, at whether the broker kept what was published;
        each look that finds it kept doubles the wait, up to ``wipe_check_max_interval``
        (each look starts a client of the broker: an idle platform should not pay for one
        every two seconds). Publishing again starts over at ``wipe_check_interval``."""
        self.wipe_check_max_interval = max(wipe_check_max_interval, wipe_check_interval)
        self._wipe_wait = wipe_check_interval
        self.signer = signer
        self.lease = lease
        self._on_held_back = on_held_back
        self.held_back_warning = held_back_warning
        """Seconds committed events may wait behind an open transaction before it is said."""
        self.held_back: HeldBack | None = None
        """What holds the relay back now (an open transaction of the database), if anything."""
        self._held_since: float | None = None
        self._held_checked_at = float("-inf")
        self._warned_pid: int | None = None
        """Seconds a leader may go without a word on its lock session before the server ends
        that session and a standby takes over (a paused or frozen leader cannot hold on)."""
        """Signs what is published (consumers of the platform apply only signed events)."""
        self._checked_at = float("-inf")
        # The offset last acknowledged per partition (of a record batch's first record):
        # one that goes back means the broker lost the topic.
        self._offsets: dict[int, int] = {}
        self._topic_seen_on: tuple[object, ...] = ()
        """The producer's broker connections when the topic was last seen there: while they
        are the same, still open, the broker has not restarted (and lost the topic) since."""
        self._at = START
        """The cursor as last read or moved by this relay."""
        self._leading = False
        self._looked_at = float("-inf")
        """When the lock session last answered (``time.monotonic()``)."""
        self._lock_session: asyncpg.Connection | None = None
        """While leading, the lock session's driver connection (autocommit: each statement
        is its own transaction)."""
        self._held: Checkpoint | None = None
        """While leading, the cursor as this relay moved it: only the leader moves it, so
        each batch need not read it back (a leader that lost its lock stops leading; a
        replica starting after a broker wipe may reset it, and the leader, publishing to the
        same wiped broker, finds that out itself and resets too)."""
        self._next: tuple[Checkpoint, int, asyncio.Task[list[Recorded]]] | None = None
        """While leading and behind, the read of the batch after the one in flight (from
        where it ends, as many): the database works on it while this one is signed, sent
        and acknowledged. Taken only by a batch starting there, and only when full."""

    async def cursor(self) -> Checkpoint:
        """Where the relay will resume."""
        async with self.store._driver(None) as c:
            row = await c.fetchrow(_LOAD, self.name)
        return Checkpoint(int(row[0]), row[1]) if row else START

    async def reset(self, to: Checkpoint = START) -> None:
        """Republish from ``to`` (after the broker lost its data)."""
        self._held = None
        self._topic_seen_on = ()
        self._drop_next()
        async with self.store.engine.begin() as c:
            await c.execute(_SAVE, {"n": self.name, "tx": to.tx_id, "pos": to.position})

    async def reset_if_broker_was_wiped(self) -> bool:
        """If the topic is empty while the cursor says events were published, start over.

        Offsets in Kafka only grow, so an empty topic with a non-zero cursor means the
        broker lost its data (the embedded broker keeps nothing across restarts).
        """
        cursor = await self.cursor()
        if cursor == START:
            return False
        total = await end_offsets_total(self.bootstrap, self.topic)
        if total:
            return False
        log.warning(
            "topic %s is empty but relay cursor is at %s: republishing the store",
            self.topic,
            cursor.position,
        )
        await self.reset()
        return True

    async def publish_batch(self, limit: int | None = None) -> int:
        """Publish the next batch (``limit`` events at most, else ``batch_size``) and move
        the cursor; returns how many were sent."""
        limit = limit or self.batch_size
        cursor = self._held if self._held is not None else await self.cursor()
        self._at = cursor
        if self._leading:
            self._held = cursor
        batch = await self._read(cursor, limit)
        if not batch:
            return 0
        if self._leading and len(batch) == limit:
            # Behind: read the next batch while this one is published (read only; the
            # cursor still moves only after the acknowledgements).
            after = batch[-1].checkpoint
            task = asyncio.create_task(self.store.read_all(after, limit=limit))
            self._next = (after, limit, task)
        if not await self._topic_exists():
            # The broker lost the topic (an embedded broker that restarted). Make it
            # before producing: records sent to a topic that is not made again leave it
            # half there. What was published before may never have been consumed, so
            # publish the whole store again; consumers' inboxes drop the repeats.
            log.warning("topic %s is gone: making it and republishing the store", self.topic)
            await ensure_topics(self.bootstrap, [self.topic], self.partitions)
            await self.producer.client.force_metadata_update()
            self._offsets.clear()
            await self.reset()
            return 0
        spans = []
        # Each event's place in the commit-safe order travels with it: consumers keep the
        # highest they applied per partition and skip what is below it after a restart.
        # The place of the last event of each partition is signed: a consumer moves its
        # position only to a signed place (one signature more per partition and batch).
        # Each record goes to the partition the producer's default partitioner would pick
        # for its key, counting the topic's partitions as the producer does (the relay
        # names it, see ``_Outgoing``); the last event of each is the one whose place is
        # signed.
        count = len(await self.producer.partitions_for(self.topic))
        partitions = [_partition_of(r.envelope.subject, count) for r in batch]
        signed_places = set({p: i for i, p in enumerate(partitions)}.values())
        outgoing = _Outgoing(self.producer, self.topic)
        loop = asyncio.get_running_loop()
        shipped_at = loop.time()
        signer = self.signer
        key_id = signer.key_id if signer is not None else None
        signature = order = None
        for i, recorded in enumerate(batch):
            # The record of the event placed at its transaction and signed, made from the
            # stored envelope (``kafka_record``: no copy of it per event).
            envelope, txid = recorded.envelope, recorded.checkpoint.tx_id
            if signer is not None:
                signature = signer.signature(envelope.eventhash)
                order = None
                if i in signed_places and (position := envelope.position) is not None:
                    order = signer.order_signature(envelope.eventhash, txid, position)
            if (span := tracing.start_publish_span(self.tracer, envelope, self.topic)) is not None:
                spans.append(span)
            key, value, headers = kafka_record(envelope, txid, key_id, signature, order)
            outgoing.add(partitions[i], key, value, headers)
            if loop.time() - shipped_at >= _SHIP_AFTER:
                # Ship what is ready while the rest is signed: the broker works on it
                # meanwhile (each partition keeps its order in the producer).
                await outgoing.ship()
                await asyncio.sleep(0)
                shipped_at = loop.time()
        await outgoing.ship()
        try:
            acknowledged = await asyncio.gather(*outgoing.deliveries)
        finally:
            for span in spans:
                span.end()
        if self._offsets_went_back(acknowledged):
            # Offsets only grow: the broker lost the topic (an embedded broker that
            # restarted). What was published before may never have been consumed, so
            # publish the whole store again; consumers' inboxes drop the repeats.
            log.warning(
                "topic %s restarted at lower offsets: broker lost its data; republishing the store",
                self.topic,
            )
            await self.reset()
            return len(batch)
        last = batch[-1].checkpoint
        # One statement (it only moves the cursor forward): no BEGIN and COMMIT around it.
        # A leader says it on its lock session: no connection taken from the pool and
        # given back (155 -> 60 µs of CPU, a tenth of a live batch's), and the session
        # heard from (a cursor moves only while it holds the lock).
        if (session := self._lock_session) is not None:
            await session.execute(_ADVANCE, self.name, str(last.tx_id), last.position)
            self._looked_at = time.monotonic()
        else:
            async with self.store._driver(None) as c:
                await c.execute(_ADVANCE, self.name, str(last.tx_id), last.position)
        self._at = last
        if self._leading:
            self._held = last
        if self._on_published is not None:
            # Counting what is left scans it: count at most every few seconds. In between,
            # a batch that was not full read everything readable: nothing is left.
            now = asyncio.get_running_loop().time()
            if now - self._lag_counted_at >= LAG_COUNT_INTERVAL:
                self._lag_counted_at = now
                self._behind = await self.store.count_after(last)
            elif len(batch) < limit:
                self._behind = 0
            else:
                self._behind = max(self._behind - len(batch), 0)
            self._on_published(len(batch), self._behind)
        return len(batch)

    async def _read(self, cursor: Checkpoint, limit: int) -> list[Recorded]:
        """The batch after ``cursor``: the one read ahead if it starts there and is full (one
        that is not may have missed what committed since, and the wake-up for it: read
        again), else a fresh read."""
        ahead, self._next = self._next, None
        if ahead is not None:
            after, size, task = ahead
            if after == cursor and size == limit:
                batch = await task
                if len(batch) == limit:
                    return batch
            else:
                _discard(task)
        return await self.store.read_all(cursor, limit=limit)

    def _drop_next(self) -> None:
        if self._next is not None:
            _discard(self._next[2])
            self._next = None

    async def _topic_exists(self) -> bool:
        # A broker that lost the topic restarted (the embedded one keeps topics in memory),
        # and a restart closes every connection to it. So the broker is asked (a metadata
        # request for every topic, which was 1.8 % of casework's CPU at 20 transfers/s when
        # asked for every batch) only when the producer's connections are not the ones it
        # had when the topic was last seen there, or one of them is closed.
        seen_on = self._topic_seen_on
        if seen_on and _same_connections(seen_on, _connections(self.producer)):
            return True
        cluster = await self.producer.client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(self.topic)
        if partitions:
            # Made again with as many partitions, so that keys land where they did.
            self.partitions = len(partitions)
        exists = self.topic in cluster.topics()
        self._topic_seen_on = _connections(self.producer) if exists else ()
        return exists

    def _offsets_went_back(self, acknowledged: Sequence[RecordMetadata]) -> bool:
        went_back = False
        for md in acknowledged:
            previous = self._offsets.get(md.partition, -1)
            if md.offset <= previous:
                went_back = True
            self._offsets[md.partition] = md.offset
        if went_back:
            self._offsets.clear()
        return went_back

    async def _check_broker_kept_its_data(self) -> None:
        # An idle relay hears of a wiped broker from no acknowledgement: now and then, look
        # whether a partition it published to is empty again (offsets only grow).
        now = asyncio.get_running_loop().time()
        if not self._offsets or now - self._checked_at < self._wipe_wait:
            return
        self._checked_at = now
        waited, self._wipe_wait = self._wipe_wait, self.wipe_check_interval  # a failed look
        ends = await end_offsets(self.bootstrap, self.topic)
        if ends is None or any(ends.get(p, 0) == 0 for p in self._offsets):
            self.broker_lost_data()
            return
        self._wipe_wait = min(waited * 2, self.wipe_check_max_interval)

    def broker_lost_data(self) -> None:
        """Ask the relay to publish the whole store again, from its own loop (so that no
        batch in flight moves the cursor past the reset)."""
        self._reset_requested = True

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set while leading; stand by while another relay leads.

        Backs off on broker or database errors. ``publish_batch`` itself takes no lock:
        call it directly only where no other relay of this store runs.
        """
        backoff = 0.5
        while not stop.is_set():
            try:
                async with self.store.engine.connect() as conn:
                    lock = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    leads: bool | None = None
                    try:
                        leads = bool(await lock.scalar(_TRY_LEAD, {"n": self.name}))
                        if leads:
                            # The lease: the server ends this session (and so releases the
                            # lock) when it stays silent that long; _lead speaks often.
                            await self._take_lease(lock)
                            log.info("relay %s -> %s leads", self.name, self.topic)
                            await self._lead(lock, stop)
                    finally:
                        if leads is not False:
                            # Held the lock (or cannot tell): close the session, which
                            # releases it; back in the pool it would keep the lock.
                            await conn.invalidate()
                backoff = 0.5
            except Exception:
                log.exception(
                    "relay %s -> %s: leadership connection failed; retrying in %.1fs",
                    self.name,
                    self.topic,
                    backoff,
                )
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            await _sleep_or_stop(stop, self.standby_interval)

    async def _lead(self, lock: AsyncConnection, stop: asyncio.Event) -> None:
        self._leading, self._held = True, None
        self._looked_at = float("-inf")
        try:
            self._lock_session = await _session_of(lock)
            await self._leading_loop(lock, stop)
        finally:
            self._leading, self._held, self._lock_session = False, None, None
            self._drop_next()

    async def _leading_loop(self, lock: AsyncConnection, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            # Leadership lasts as long as the session holding the lock: if it is gone,
            # a standby may already lead, so stop publishing (the error says why). Asked
            # when it was last heard from over LOCK_LOOK_INTERVAL ago.
            if time.monotonic() - self._looked_at >= LOCK_LOOK_INTERVAL:
                await self._look_at_lock(lock)
            if self.waiter is not None:
                self.waiter.clear()  # before reading: what commits meanwhile wakes the wait
            try:
                if self._reset_requested:
                    self._reset_requested = False
                    self._offsets.clear()
                    log.warning(
                        "relay %s: broker lost its data; republishing the store", self.topic
                    )
                    await self.reset()
                limit = self._limit
                began = time.monotonic()
                sent = await self.publish_batch(limit)
                self._limit = self._next_limit(limit, sent, time.monotonic() - began)
                backoff = 0.5
            except Exception:
                log.exception(
                    "relay %s -> %s failed; retrying in %.1fs", self.name, self.topic, backoff
                )
                self._held = None  # the cursor may or may not have moved: read it again
                self._limit = self.batch_size
                sent = 0
                await self._hold(lock, stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent < limit:
                if sent == 0:
                    try:
                        await self._check_broker_kept_its_data()
                        await self._check_held_back()
                    except Exception as exc:  # unreachable: the next publish will say so
                        log.debug("relay %s: broker check failed: %r", self.topic, exc)
                else:
                    self._not_held()
                    self._wipe_wait = self.wipe_check_interval  # busy again: look soon once idle
                await self._hold(lock, stop, self._idle(), wake=True)

    def _next_limit(self, limit: int, sent: int, took: float) -> int:
        """The next batch's size: ``batch_size`` when caught up (the batch was not full);
        behind, twice as large while a batch takes under an eighth of the lease (so the
        next takes about a quarter), half as large when one takes over a third of it (the
        lock session is silent while a batch is published: a batch must never outlast the
        lease)."""
        if sent < limit:
            return self.batch_size
        if took < self.lease / 8:
            return min(limit * 2, self.backlog_batch_size)
        if took > self.lease / 3:
            return max(limit // 2, self.batch_size)
        return limit

    def _idle(self) -> float:
        """How long to wait before the next look at a store that had nothing more."""
        if self.waiter is None:
            return self.idle_interval
        if self.waiter.behind(self._at.tx_id):
            # Notified, but still below the horizon: whatever holds it ends soon and may
            # notify nothing (a read model's write), so look again shortly.
            wait, self._soon = self._soon, min(self._soon * 2, self.idle_interval)
            return wait
        self._soon = _SOON
        return self.idle_interval

    async def _check_held_back(self) -> None:
        """Say so (log naming the backend, metric) when committed events wait behind an open
        transaction of the database longer than ``held_back_warning`` seconds."""
        now = time.monotonic()
        if now - self._held_checked_at < min(self.held_back_warning / 2, 2.0):
            return
        self._held_checked_at = now
        held = await self.store.held_back(await self.cursor())
        if held is None:
            self._not_held()
            return
        self.held_back = held
        if self._held_since is None:
            self._held_since = now
        waited = now - self._held_since
        if self._on_held_back is not None:
            self._on_held_back(waited)
        if waited >= self.held_back_warning and self._warned_pid != held.pid:
            self._warned_pid = held.pid
            log.warning(
                "relay %s -> %s held back %.0f s: %s; end that transaction "
                "(pg_terminate_backend(%d)) or wait for idle_in_transaction_session_timeout",
                self.name,
                self.topic,
                waited,
                held,
                held.pid,
            )

    def _not_held(self) -> None:
        if self._held_since is not None:
            log.info("relay %s -> %s no longer held back", self.name, self.topic)
        self.held_back, self._held_since, self._warned_pid = None, None, None
        if self._on_held_back is not None:
            self._on_held_back(0.0)

    async def _take_lease(self, lock: AsyncConnection) -> None:
        try:
            await lock.execute(_LEASE, {"ms": f"{int(self.lease * 1000)}ms"})
        except DBAPIError as exc:  # PostgreSQL before 14 has no idle_session_timeout
            log.warning(
                "relay %s: no lease on leadership (%s); a paused leader keeps it", self.name, exc
            )

    async def _hold(
        self, lock: AsyncConnection, stop: asyncio.Event, seconds: float, *, wake: bool = False
    ) -> None:
        """Wait ``seconds`` as leader (with ``wake``, less when the store commits events),
        speaking on the lock session well within the lease."""
        step = max(min(self.lease / 3, 1.0), 0.05)
        deadline = asyncio.get_running_loop().time() + seconds
        while not stop.is_set():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            if wake and self.waiter is not None:
                if await self.waiter.wait(min(step, left), stop):
                    return
            else:
                await _sleep_or_stop(stop, min(step, left))
            if left > step:
                await self._look_at_lock(lock)

    async def _look_at_lock(self, lock: AsyncConnection) -> None:
        """Speak on the lock session (within the lease); raises when it is gone."""
        await lock.execute(_STILL_CONNECTED)
        self._looked_at = time.monotonic()


class _Outgoing:
    """A batch's records, built into one record batch per partition and handed to the
    producer whole (``send_batch``), not record by record through ``send`` (a future, a
    metadata look and a partitioner call each), and with no linger on the last ones: a
    record batch handed over closed is sent at once. With the partition worked out once per
    stream, the relay's CPU per event fell by about half.

    The relay names each record's partition itself: the one the producer's default
    partitioner would pick for the key (``_partition_of``), as before.
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.deliveries: list[asyncio.Future[RecordMetadata]] = []
        """One per record batch handed over: its first record's metadata once stored."""
        self._open: dict[int, BatchBuilder] = {}
        self._full: list[tuple[int, BatchBuilder]] = []
        """Batches that filled up, to hand over before the open ones."""

    def add(
        self, partition: int, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        """Add a record to its partition's batch (a full one waits for ``ship``, ahead of
        the partition's next)."""
        builder = self._open.get(partition)
        if builder is None:
            builder = self._open[partition] = self.producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            self._full.append((partition, builder))
            builder = self._open[partition] = self.producer.create_batch()
            # The first record always fits, however large (the broker judges its size).
            builder.append(timestamp=None, key=key, value=value, headers=headers)

    async def ship(self) -> None:
        """Hand every batch to the producer, each partition's in the order made."""
        full, self._full = self._full, []
        open_, self._open = self._open, {}
        for partition, builder in (*full, *open_.items()):
            await self._send(partition, builder)

    async def _send(self, partition: int, builder: BatchBuilder) -> None:
        builder.close()  # closed: sent without waiting for more
        self.deliveries.append(
            await self.producer.send_batch(builder, self.topic, partition=partition)
        )


async def _session_of(lock: AsyncConnection) -> asyncpg.Connection | None:
    """The driver connection under the lock session (``None`` when it is not asyncpg's)."""
    raw = await lock.get_raw_connection()
    driver = raw.driver_connection
    return driver if isinstance(driver, asyncpg.Connection) else None


def _connections(producer: AIOKafkaProducer) -> tuple[object, ...]:
    """The producer's open broker connections (none when any of them is closed)."""
    # aiokafka keeps them in its client's ``_conns``; a test fails if that changes.
    conns = getattr(producer.client, "_conns", None)
    live = tuple(conns.values()) if isinstance(conns, dict) else ()
    return live if all(c.connected() for c in live) else ()


def _same_connections(before: tuple[object, ...], now: tuple[object, ...]) -> bool:
    # ``before`` holds the connections it names, so none of their ids went to a new one.
    return bool(now) and {id(c) for c in before} == {id(c) for c in now}


def _discard(task: asyncio.Task[list[Recorded]]) -> None:
    """Forget a read ahead (its failure, if it failed, with it)."""
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.cancel()
        task.add_done_callback(lambda t: t.cancelled() or t.exception())


def _partition_of(key: str, partitions: int) -> int:
    """The partition the producer's default partitioner gives a key."""
    return _hash_of(key) % max(partitions, 1)


@functools.lru_cache(maxsize=65536)
def _hash_of(key: str) -> int:
    # murmur2 in pure Python is ~10 µs a key; a stream's events share their key.
    return int(murmur2(key.encode()) & 0x7FFFFFFF)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
