"""The event store on PostgreSQL: append with optimistic concurrency, read, verify.

Commit order and the "no skipped events" rule
---------------------------------------------
``global_position`` comes from an identity sequence when a row is inserted, but
transactions commit in their own order, so a reader that simply follows positions could
pass position 11 while position 10 is still uncommitted, and never see 10. Instead of
serialising every append behind one lock, each event records the id of the transaction
that wrote it (``tx_id``, ``xid8``) and readers:

* read in ``(tx_id, global_position)`` order — the *commit-safe order* — and
* only read events whose ``tx_id`` is below the oldest transaction of this database
  still running (see ``_HORIZON``): those transactions have all ended, so nothing can
  appear later before the reader's cursor.

Every reader (relay, projections, replay) therefore sees every event exactly once in
one total order, and writers on different streams never wait for each other. Within a
stream, order is guaranteed too: an append succeeds only if its transaction id is not
older than the stream's previous append (``streams.last_tx``), so a stream's versions
appear in the commit-safe order in version order.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.contracts import (
    Event,
    EventRegistry,
    holds_no_float,
    registry,
    schema_base_url,
    schema_path,
)
from libs.events.envelope import (
    GENESIS_HASH,
    Envelope,
    canonical_json,
    canonical_json_without_floats,
    chain_hash,
    envelope_hash,
)
from libs.events.wakeup import CHANNEL_PREFIX, Announcer
from libs.kit.db import CONNECTION_BROKEN, driver


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()
"""Pass as ``expected_version`` to append without an optimistic-concurrency check."""

NO_STREAM: Final = 0
"""``expected_version`` for a stream that must not exist yet."""


@dataclass(frozen=True, order=True, slots=True)
class Checkpoint:
    """A place in the commit-safe order: (transaction id, global position)."""

    tx_id: int
    position: int

    def as_params(self) -> dict[str, Any]:
        """Bind parameters for the row comparison used by readers."""
        return {"after_tx": self.tx_id, "after_pos": self.position}


START = Checkpoint(0, 0)


@dataclass(frozen=True)
class Metadata:
    """Who caused the events and in answer to what."""

    actor: str
    correlation_id: str = field(default_factory=lambda: uuid4().hex)  # a W3C trace id
    causation_id: str | None = None


class ConcurrencyError(Exception):
    """The stream is not at the version the command saw (stale ``If-Match``)."""

    def __init__(self, stream_id: str, expected: int | _Any, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        if actual is None:
            reason = "it changed concurrently"
        else:
            reason = f"it is at version {actual}"
        super().__init__(f"stream {stream_id!r}: expected version {expected}, but {reason}")


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event read back from a store: its envelope and where it sits."""

    envelope: Envelope
    checkpoint: Checkpoint
    recorded_at: datetime
    registry: EventRegistry = field(default=registry, repr=False, compare=False)

    @property
    def event(self) -> Event:
        """The event as its current contract (old versions upcast)."""
        e = self.envelope
        return self.registry.decode(e.type, e.typeversion, e.data)

    @property
    def stream_id(self) -> str:
        """Stream the event belongs to."""
        return self.envelope.subject

    @property
    def version(self) -> int:
        """Version of the stream after this event."""
        return self.envelope.streamversion


@dataclass(frozen=True)
class Break:
    """The first thing wrong with a stream, as ``verify`` found it."""

    stream_id: str
    version: int
    reason: str


@dataclass
class VerifyReport:
    """What ``verify`` checked and what it found broken."""

    events: int = 0
    streams: int = 0
    checkpoints: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every chain and checkpoint matched."""
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        """The first broken link, if any."""
        return self.breaks[0] if self.breaks else None


# ``tx_id`` is returned as text (asyncpg has no xid8 codec); ORDER BY must therefore
# name ``events.tx_id``, or PostgreSQL sorts by the text alias ("10000" < "9999").
_COLUMNS = """global_position, tx_id::text AS tx_id, event_id, stream_id, stream_version, type,
    type_version, source, time, data::text AS data, correlation_id, causation_id, actor, prev_hash, hash,
    recorded_at"""

# Hot paths (append, read_all) run on the asyncpg connection under SQLAlchemy's pooled
# one: same pool, same transaction, without the per-statement adapter overhead that
# halved append throughput. Their SQL is therefore in asyncpg's $n form.
_SELECT_STREAM = "SELECT version, last_hash FROM streams WHERE stream_id = $1"
_EXISTING_STREAMS = "SELECT stream_id FROM streams WHERE stream_id = ANY($1::text[])"
# One statement moves the stream head and inserts the events, so an append outside a
# caller's transaction is a single atomic statement (no BEGIN/COMMIT round trips). When
# the head did not move (another writer got there first, or an older transaction would
# append behind a newer one), the head CTE is empty and no event is inserted.
_EVENT_ROWS = """INSERT INTO events (event_id, stream_id, stream_version, type, type_version, source,
                           time, data, correlation_id, causation_id, actor, prev_hash, hash)
       SELECT e.id, $1, e.v, e.t, e.tv, $4, e.tm, e.d::json, $5, $6, $7, e.p, e.h
       FROM head{notified}, unnest($8::uuid[], $9::int[], $10::text[], $11::int[],
                         $12::timestamptz[], $13::text[], $14::text[], $15::text[])
            WITH ORDINALITY AS e(id, v, t, tv, tm, d, p, h, n)
       ORDER BY e.n
       RETURNING global_position, tx_id::text AS tx_id, recorded_at"""
# Most appends carry one event: the same row from scalars, without unnesting arrays and
# sorting them back into order (a tenth less of the statement's time, in a transaction).
_EVENT_ROW = """INSERT INTO events (event_id, stream_id, stream_version, type, type_version, source,
                           time, data, correlation_id, causation_id, actor, prev_hash, hash)
       SELECT $8::uuid, $1, $9::int, $10::text, $11::int, $4, $12::timestamptz,
              $13::text::json, $5, $6, $7, $14::text, $15::text
       FROM head{notified}
       RETURNING global_position, tx_id::text AS tx_id, recorded_at"""
# Readers wake on the store's channel (libs/events/wakeup.py), the writing transaction as
# payload. An append in a caller's transaction notifies in its statement: PostgreSQL
# delivers it at commit and only if it commits, and only when the head moved (``FROM
# head``), so a refused append announces nothing. An append that commits on its own does
# not: its process announces it once committed (``Announcer``), because PostgreSQL
# serialises all notifying commits of the server, WAL flush included.
_NOTIFY = f"""    , notified AS (
           SELECT pg_notify(left('{CHANNEL_PREFIX}' || current_schema(), 63),
                            pg_current_xact_id()::text)
           FROM head)
       """
_NEW_STREAM_HEAD = """WITH head AS (
           INSERT INTO streams (stream_id, version, last_hash, last_tx)
           VALUES ($1, $2, $3, pg_current_xact_id())
           ON CONFLICT (stream_id) DO NOTHING RETURNING 1)
       """
_EXISTING_STREAM_HEAD = """WITH head AS (
           UPDATE streams SET version = $2, last_hash = $3, last_tx = pg_current_xact_id()
           WHERE stream_id = $1 AND version = $16 AND last_hash = $17
             AND last_tx <= pg_current_xact_id()
           RETURNING 1)
       """


def _append_sql(*, new_stream: bool, notifying: bool, one_event: bool) -> str:
    head = _NEW_STREAM_HEAD if new_stream else _EXISTING_STREAM_HEAD
    rows = _EVENT_ROW if one_event else _EVENT_ROWS
    if notifying:
        return head + _NOTIFY + rows.format(notified=", notified")
    return head + rows.format(notified="")


# (new stream, notifying, one event) -> the append's statement
_APPEND = {
    (new, notifying, one): _append_sql(new_stream=new, notifying=notifying, one_event=one)
    for new in (True, False)
    for notifying in (True, False)
    for one in (True, False)
}
# The announcement of appends that committed on their own (up to ``$1``, a transaction id).
# It makes nothing durable, so its commit does not wait for the WAL flush: it holds the
# server's notification lock only for as long as it takes to queue the notification.
_ANNOUNCE = f"""SELECT set_config('synchronous_commit', 'off', true),
           pg_notify(left('{CHANNEL_PREFIX}' || current_schema(), 63), $1)"""
# The horizon: the oldest transaction *of this database* still running (or, when none
# is, the next transaction id). Transactions of other databases cannot write this table,
# so a long one there (a stuck migration next door) does not hold our readers back.
# Running transactions come from the snapshot (64-bit ids); which database each belongs
# to from pg_stat_activity (32-bit ids, visible to every role) and pg_prepared_xacts.
_HORIZON = """SELECT coalesce(
           (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
            WHERE x::text::numeric % 4294967296 IN (
                SELECT backend_xid::text::numeric FROM pg_stat_activity
                WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND backend_xid IS NOT NULL
                UNION ALL
                SELECT transaction::text::numeric FROM pg_prepared_xacts
                WHERE database = current_database())),
           pg_snapshot_xmax(pg_current_snapshot()))::text"""
# pg_stat_activity is cached for the rest of a transaction once read: clear it so a
# reader running inside a longer transaction never decides on a stale list.
_FRESH_ACTIVITY = "SELECT pg_stat_clear_snapshot()"
# A page is read along the commit-order index, never sorted. The planner picks between
# that index scan (stopping after ``limit`` rows) and gathering every event after the
# cursor to sort them, by its estimate of how many there are; for a store it has no
# statistics of yet (one just filled: autovacuum analyses it a minute or more later) that
# estimate is a few thousand whatever the truth, and it sorts. Each page then costs as
# much as all the events after it (86 ms for the first of 24 000 events, 0.7 ms by the
# index), and a relay or replay catching up is quadratic. So the page is planned with
# sorting off (``read_events_after`` below, for itself alone): the index scan is then the
# one plan, cheap whatever the statistics say.
# The page as one statement: the function takes the horizon, then reads the events below it,
# each with a snapshot of its own (a VOLATILE PL/pgSQL function under READ COMMITTED takes
# one per statement), so the horizon still comes first; it clears the transaction's view of
# pg_stat_activity before, and plans its query with sorting off for itself alone (``SET``
# on the function). A reader's page is then one round trip in autocommit, where a
# transaction of its own took four (BEGIN, the horizon, the page, COMMIT); in a caller's
# transaction one, where it took two or three. ``tx_id`` comes back as ``xid8`` (asyncpg
# reads it as an int). Made by every service's migrations (``create_read_events_after``).
READ_EVENTS_AFTER_DDL = f"""CREATE OR REPLACE FUNCTION read_events_after(
        after_tx xid8, after_position bigint, page integer)
    RETURNS TABLE (global_position bigint, tx_id xid8, event_id uuid, stream_id text,
        stream_version integer, type text, type_version integer, source text,
        "time" timestamptz, data text, correlation_id text, causation_id text, actor text,
        prev_hash char(64), hash char(64), recorded_at timestamptz)
    LANGUAGE plpgsql VOLATILE SET enable_sort = off AS $read$
    #variable_conflict use_column
    DECLARE
        horizon xid8;
    BEGIN
        PERFORM pg_stat_clear_snapshot();
        horizon := ({_HORIZON})::xid8;
        RETURN QUERY
            SELECT e.global_position, e.tx_id, e.event_id, e.stream_id, e.stream_version,
                   e.type, e.type_version, e.source, e.time, e.data::text, e.correlation_id,
                   e.causation_id, e.actor, e.prev_hash, e.hash, e.recorded_at
            FROM events e
            WHERE (e.tx_id, e.global_position) > (after_tx, after_position)
              AND e.tx_id < horizon
            ORDER BY e.tx_id, e.global_position
            LIMIT page;
    END
    $read$"""
_READ_EVENTS_AFTER = "SELECT * FROM read_events_after($1, $2, $3)"
_TX_AT = "SELECT tx_id::text FROM events WHERE global_position = $1"
_HIDDEN = """SELECT count(*) FROM events
        WHERE (tx_id, global_position) > ($1::text::xid8, $2) AND tx_id >= $3::text::xid8"""
# The session of the transaction at the horizon (32-bit xids in pg_stat_activity).
_BLOCKER = """SELECT pid, application_name, usename, state, xact_start FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL
          AND backend_xid::text::numeric = $1::text::numeric % 4294967296
          AND datid = (SELECT oid FROM pg_database WHERE datname = current_database())"""
_HEAD = """SELECT tx_id::text, global_position FROM events
       WHERE tx_id < $1::text::xid8
       ORDER BY events.tx_id DESC, events.global_position DESC LIMIT 1"""
_LAST_STORE_CHECKPOINT = text(
    """SELECT tx_id::text AS tx_id, position, event_count, digest
       FROM store_checkpoints ORDER BY id DESC LIMIT 1"""
)
_STORE_CHECKPOINTS = text(
    """SELECT tx_id::text AS tx_id, position, event_count, digest
       FROM store_checkpoints ORDER BY id"""
)
_COUNT_AFTER = text(
    """SELECT count(*) FROM events
       WHERE (tx_id, global_position) > (CAST(:after_tx AS xid8), :after_pos)"""
)


@functools.lru_cache(maxsize=4096)
def _dataschema(base: str, type_name: str, version: int) -> str:
    # ``schema_uri`` once per type, version and base (a read asks for it per event).
    return base + schema_path(type_name, version)


def _row_to_recorded(row: Sequence[Any], reg: EventRegistry, base: str) -> Recorded:
    # ``row``: the values of ``_COLUMNS`` in their order (an asyncpg Record or a SQLAlchemy
    # Row; unpacked, not looked up by name: 0.1 µs rather than 0.8). ``base``: the schema
    # base URL, read once per page. Rows come from our own table, already validated on
    # the way in: skip validation.
    (
        position,
        tx_id,
        event_id,
        stream_id,
        stream_version,
        type_,
        type_version,
        source,
        time,
        data,
        correlation_id,
        causation_id,
        actor,
        prev_hash,
        hash_,
        recorded_at,
    ) = row
    envelope = Envelope.stored(
        {
            "id": event_id,
            "source": source,
            "type": type_,
            "subject": stream_id,
            "time": time,
            "dataschema": _dataschema(base, type_, type_version),
            # decoded when asked for: the relay and most readers never ask
            "encoded_data": data,
            "typeversion": type_version,
            "streamversion": stream_version,
            "correlationid": correlation_id,
            "causationid": causation_id,
            "actor": actor,
            "prevhash": prev_hash,
            "eventhash": hash_,
            "position": position,
        }
    )
    return _recorded(envelope, int(tx_id), position, recorded_at, reg)


_new = object.__new__
_set_tx_id = Checkpoint.__dict__["tx_id"].__set__
_set_position = Checkpoint.__dict__["position"].__set__
_set_envelope = Recorded.__dict__["envelope"].__set__
_set_checkpoint = Recorded.__dict__["checkpoint"].__set__
_set_recorded_at = Recorded.__dict__["recorded_at"].__set__
_set_registry = Recorded.__dict__["registry"].__set__


def _recorded(
    envelope: Envelope, tx_id: int, position: int, recorded_at: datetime, reg: EventRegistry
) -> Recorded:
    """``Recorded(envelope, Checkpoint(tx_id, position), recorded_at, reg)``, its fields
    set through their slots: a frozen dataclass's ``__init__`` sets each through
    ``object.__setattr__``, a fifth of building a read event."""
    checkpoint = _new(Checkpoint)
    _set_tx_id(checkpoint, tx_id)
    _set_position(checkpoint, position)
    recorded = _new(Recorded)
    _set_envelope(recorded, envelope)
    _set_checkpoint(recorded, checkpoint)
    _set_recorded_at(recorded, recorded_at)
    _set_registry(recorded, reg)
    return recorded


@dataclass(frozen=True, slots=True)
class _Staged:
    id: UUID
    version: int
    event: Event
    data: dict[str, Any]
    encoded: str
    prev: str
    hash: str


class _StreamHeads:
    """Remembered stream heads (version, last hash), so an append can skip reading one.

    Only a hint: the append's statement checks the head is still exactly that (version
    *and* hash), and on a miss the store reads the real head and tries once more. So a
    stale entry — another writer, a rolled-back transaction — costs a round trip, never
    a wrong chain.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def get(self, stream_id: str, expected_version: int | _Any) -> tuple[int, str] | None:
        head = self._heads.get(stream_id)
        if head is None or expected_version == NO_STREAM:
            return None
        if expected_version is not ANY and head[0] != expected_version:
            return None
        return head

    def remember(self, stream_id: str, version: int, last_hash: str) -> None:
        self._heads[stream_id] = (version, last_hash)
        self._heads.move_to_end(stream_id)
        if len(self._heads) > self._size:
            self._heads.popitem(last=False)

    def forget(self, stream_id: str) -> None:
        self._heads.pop(stream_id, None)


async def _horizon(c: asyncpg.Connection, *, shared: bool) -> str:
    if shared:  # the caller's transaction may have read pg_stat_activity already
        await c.execute(_FRESH_ACTIVITY)
    horizon: str = await c.fetchval(_HORIZON)
    return horizon


async def _read_page(c: asyncpg.Connection, after: Checkpoint, limit: int) -> list[asyncpg.Record]:
    """The events after ``after`` below the horizon, in commit-safe order, on ``c`` (in the
    caller's transaction or, outside one, in a statement of its own)."""
    rows: list[asyncpg.Record] = await c.fetch(
        _READ_EVENTS_AFTER, after.tx_id, after.position, limit
    )
    return rows


@dataclass(frozen=True)
class HeldBack:
    """Committed events readers cannot see yet, and the open transaction holding them."""

    events: int
    pid: int
    application: str
    user: str
    state: str
    since: datetime | None

    def __str__(self) -> str:
        age = f" since {self.since.isoformat()}" if self.since else ""
        return (
            f"{self.events} committed event(s) held back by backend pid {self.pid} "
            f"({self.application or '?'}, user {self.user or '?'}, {self.state or '?'}{age})"
        )


Sealer = Callable[[AsyncConnection | None, str, Sequence[Event]], Awaitable[list[Event]]]
"""``(conn, stream_id, events) -> events`` with their free text sealed."""


class EventStore:
    """One service's event store (its tables live in the engine's ``search_path``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        source: str,
        event_registry: EventRegistry = registry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_append: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self._heads = _StreamHeads()
        self.source = source
        self.registry = event_registry
        self.clock = clock
        self._on_append = on_append
        self._announcer = Announcer(self._announce)
        # Connections of ``transaction`` blocks -> the transaction id their appends wrote.
        self._announced_at_commit: dict[AsyncConnection, int] = {}
        self.sealer: Sealer | None = None
        """Seals events' free text with the matter's key before they are hashed and written
        (``libs/events/sealing.py``; set by the service's composition root)."""

    @asynccontextmanager
    async def _tx(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        if conn is not None:
            yield conn
        else:
            async with self.engine.begin() as own:
                yield own

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction for a unit of work (a command's) whose appends are announced once
        it commits, as appends on their own are, rather than notifying inside it: a
        notifying commit holds up every other one of the server until its flush is done.
        Nothing is announced when the block raises (the transaction is rolled back)."""
        async with self.engine.begin() as conn:
            self._announced_at_commit[conn] = 0
            try:
                yield conn
            finally:
                tx_id = self._announced_at_commit.pop(conn)
        if tx_id:
            self._announcer.committed(tx_id)

    @asynccontextmanager
    async def _driver(self, conn: AsyncConnection | None) -> AsyncIterator[asyncpg.Connection]:
        """The asyncpg connection to run hot-path SQL on.

        With ``conn``, the caller's (its transaction begun first, since SQLAlchemy begins
        lazily: a write must not slip in ahead of it). Without, one of the pool's, taken
        as the pool's raw connection (its checkout checks run as for any other), not as
        a SQLAlchemy ``Connection``: that costs four times the CPU to take and give back,
        on every append. Nothing begins a transaction on it, so each statement is its own.
        """
        if conn is not None:
            yield await driver(conn)
            return
        pooled = await self.engine.raw_connection()
        try:
            own: asyncpg.Connection = pooled.driver_connection
            yield own
        except BaseException as exc:
            # SQLAlchemy never saw this statement fail: a connection that died under it
            # (or a read's transaction that could not be ended, as when cancelled twice)
            # goes back to the pool unless invalidated here.
            broken = isinstance(exc, CONNECTION_BROKEN)
            if broken or own.is_closed() or own.is_in_transaction():
                pooled.invalidate(exc if isinstance(exc, Exception) else None)
            raise
        finally:
            pooled.close()  # back to the pool (or, invalidated, gone)

    async def _announce(self, tx_id: int) -> None:
        async with self._driver(None) as c:
            await c.execute(_ANNOUNCE, str(tx_id))

    async def announced(self) -> None:
        """Until the appends committed so far are announced to the store's readers."""
        await self._announcer.settled()

    def _stage(
        self,
        stream_id: str,
        events: Sequence[Event],
        head: tuple[int, str] | None,
        meta: Metadata,
        now: datetime,
        event_ids: Sequence[UUID] | None,
    ) -> tuple[list[_Staged], list[Any]]:
        """Number, encode and hash-chain events onto ``head``; the append's arguments
        (``_EVENT_ROW``'s scalars for one event, ``_EVENT_ROWS``' arrays for several)."""
        current, prev = head if head else (0, GENESIS_HASH)
        ids = list(event_ids) if event_ids else [uuid4() for _ in events]
        staged: list[_Staged] = []
        for i, event in enumerate(events):
            data = event.model_dump(mode="json")
            encoded = (
                canonical_json_without_floats(data)
                if holds_no_float(type(event))
                else canonical_json(data)
            )
            digest = chain_hash(
                prev_hash=prev,
                event_id=ids[i],
                source=self.source,
                type=event.type_name,
                type_version=event.version,
                stream_id=stream_id,
                stream_version=current + i + 1,
                time=now,
                data=data,
                correlation_id=meta.correlation_id,
                causation_id=meta.causation_id,
                actor=meta.actor,
                encoded_data=encoded,
            )
            staged.append(_Staged(ids[i], current + i + 1, event, data, encoded, prev, digest))
            prev = digest
        args: list[Any] = [
            stream_id,
            current + len(events),
            prev,
            self.source,
            meta.correlation_id,
            meta.causation_id,
            meta.actor,
        ]
        if len(staged) == 1:
            (st,) = staged
            args += [st.id, st.version, st.event.type_name, st.event.version, now]
            args += [st.encoded, st.prev, st.hash]
            return staged, args
        args += [
            [st.id for st in staged],
            [st.version for st in staged],
            [st.event.type_name for st in staged],
            [st.event.version for st in staged],
            [now] * len(staged),
            [st.encoded for st in staged],
            [st.prev for st in staged],
            [st.hash for st in staged],
        ]
        return staged, args

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        *,
        expected_version: int | _Any,
        meta: Metadata,
        conn: AsyncConnection | None = None,
        event_ids: Sequence[UUID] | None = None,
    ) -> list[Recorded]:
        """Append events to a stream if it is at ``expected_version`` (or ``ANY``).

        With ``conn`` the append joins the caller's transaction (a consumer's inbox row,
        an idempotency record); otherwise it commits on its own. Raises
        ``ConcurrencyError`` when the stream moved.
        """
        if not events:
            return []
        for event in events:
            if not self.registry.knows(event.type_name):
                raise ValueError(f"event type {event.type_name!r} is not registered")
        if self.sealer is not None:
            events = await self.sealer(conn, stream_id, events)
        async with self._driver(conn) as c:
            hint = self._heads.get(stream_id, expected_version)
            while True:
                if expected_version == NO_STREAM:
                    head = None  # a new stream: nothing to read, the insert checks it is new
                elif hint is not None:
                    head = hint
                else:
                    row = await c.fetchrow(_SELECT_STREAM, stream_id)
                    head = (row["version"], row["last_hash"]) if row else None
                    current = head[0] if head else 0
                    if expected_version is not ANY and expected_version != current:
                        raise ConcurrencyError(stream_id, expected_version, current)
                now = self.clock()
                staged, args = self._stage(stream_id, events, head, meta, now, event_ids)
                notifying = conn is not None and conn not in self._announced_at_commit
                sql = _APPEND[head is None, notifying, len(staged) == 1]
                if head is None:
                    positions = await c.fetch(sql, *args)
                else:
                    positions = await c.fetch(sql, *args, *head)
                if positions:
                    break
                if hint is not None:  # the remembered head was stale: read it and retry
                    self._heads.forget(stream_id)
                    hint = None
                    continue
                current = head[0] if head else 0
                moved = await c.fetchrow(_SELECT_STREAM, stream_id)
                actual = moved["version"] if moved else None
                raise ConcurrencyError(
                    stream_id, expected_version, None if actual == current else actual
                )
        self._heads.remember(stream_id, staged[-1].version, staged[-1].hash)
        tx_id = int(positions[0]["tx_id"])
        if conn is None:  # committed: tell the readers
            self._announcer.committed(tx_id)
        elif conn in self._announced_at_commit:  # ``transaction`` tells them once committed
            self._announced_at_commit[conn] = tx_id
        # else the statement notified: PostgreSQL tells them if the caller's commits
        # Built as a read builds them (``Envelope.stored``, ``_recorded``): the event was
        # validated and encoded above, and a dataclass's ``__init__`` costs more than both.
        reg, base = self.registry, schema_base_url()
        recorded = [
            _recorded(
                Envelope.stored(
                    {
                        "id": st.id,
                        "source": self.source,
                        "type": st.event.type_name,
                        "subject": stream_id,
                        "time": now,
                        "dataschema": _dataschema(base, st.event.type_name, st.event.version),
                        "typeversion": st.event.version,
                        "streamversion": st.version,
                        "correlationid": meta.correlation_id,
                        "causationid": meta.causation_id,
                        "actor": meta.actor,
                        "prevhash": st.prev,
                        "eventhash": st.hash,
                        "position": pos["global_position"],
                        "encoded_data": st.encoded,
                    },
                    st.data,
                ),
                tx_id,
                pos["global_position"],
                pos["recorded_at"],
                reg,
            )
            for st, pos in zip(staged, positions, strict=True)
        ]
        if self._on_append is not None:
            self._on_append(len(recorded))
        return recorded

    async def read_stream(
        self,
        stream_id: str,
        *,
        up_to_version: int | None = None,
        as_of: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> list[Recorded]:
        """A stream's events in version order; cut at a version or a point in time."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream_id = :s"
        params: dict[str, Any] = {"s": stream_id}
        if up_to_version is not None:
            sql += " AND stream_version <= :v"
            params["v"] = up_to_version
        if as_of is not None:
            sql += " AND time <= :t"
            params["t"] = as_of
        sql += " ORDER BY stream_version"
        async with self._tx(conn) as c:
            rows = (await c.execute(text(sql), params)).all()
        base, reg = schema_base_url(), self.registry
        recorded = [_row_to_recorded(r, reg, base) for r in rows]
        if recorded and up_to_version is None and as_of is None:
            last = recorded[-1].envelope
            self._heads.remember(stream_id, last.streamversion, last.eventhash)
        return recorded

    async def stream_version(self, stream_id: str, conn: AsyncConnection | None = None) -> int:
        """Current version of a stream (0 when it does not exist)."""
        async with self._driver(conn) as c:
            row = await c.fetchrow(_SELECT_STREAM, stream_id)
        return int(row["version"]) if row else 0

    async def existing(
        self, stream_ids: Sequence[str], conn: AsyncConnection | None = None
    ) -> set[str]:
        """Which of these streams exist (one round trip for many)."""
        if not stream_ids:
            return set()
        async with self._driver(conn) as c:
            rows = await c.fetch(_EXISTING_STREAMS, list(stream_ids))
        return {r["stream_id"] for r in rows}

    async def read_all(
        self,
        after: Checkpoint = START,
        *,
        limit: int = 1000,
        conn: AsyncConnection | None = None,
    ) -> list[Recorded]:
        """The next events after ``after`` in commit-safe order; never skips one.

        With ``conn``, in the caller's transaction (its planner settings and its view of
        pg_stat_activity left as they were); else in one statement of its own
        (``read_events_after``: one round trip)."""
        async with self._driver(conn) as c:
            rows = await _read_page(c, after, limit)
        base, reg = schema_base_url(), self.registry
        return [_row_to_recorded(r, reg, base) for r in rows]

    async def held_back(self, after: Checkpoint) -> HeldBack | None:
        """Events after ``after`` already committed but not yet readable, because an older
        transaction of the database is still open — and that transaction's session."""
        async with self._driver(None) as c:
            horizon = await _horizon(c, shared=False)
            hidden = await c.fetchval(_HIDDEN, str(after.tx_id), after.position, horizon)
            if not hidden:
                return None
            row = await c.fetchrow(_BLOCKER, horizon)
        if row is None:  # it ended meanwhile
            return None
        return HeldBack(
            events=int(hidden),
            pid=row["pid"],
            application=row["application_name"] or "",
            user=row["usename"] or "",
            state=row["state"] or "",
            since=row["xact_start"],
        )

    async def checkpoint_at(
        self, position: int, conn: AsyncConnection | None = None
    ) -> Checkpoint | None:
        """The commit-safe checkpoint of the event at a global position (``None``: no such
        event). ``START`` for position 0, so a position alone can serve as a cursor."""
        if position == 0:
            return START
        async with self._driver(conn) as c:
            tx = await c.fetchval(_TX_AT, position)
        return Checkpoint(int(tx), position) if tx is not None else None

    async def head(self, conn: AsyncConnection | None = None) -> Checkpoint:
        """The last readable checkpoint (``START`` for an empty store)."""
        async with self._driver(conn) as c:
            row = await c.fetchrow(_HEAD, await _horizon(c, shared=conn is not None))
        return Checkpoint(int(row[0]), row[1]) if row else START

    async def count_after(self, after: Checkpoint, conn: AsyncConnection | None = None) -> int:
        """How many events lie after a checkpoint (lag, progress bars)."""
        async with self._tx(conn) as c:
            return int((await c.execute(_COUNT_AFTER, after.as_params())).scalar_one())

    async def write_checkpoint(self) -> tuple[Checkpoint, int, str] | None:
        """Record a whole-store checkpoint: a digest over every event hash up to the head.

        Each checkpoint continues the previous one's digest over the events after it, so
        writing one reads only the new events, and the sequence of checkpoints commits to
        the whole store in commit-safe order. Returns ``None`` when nothing is new.
        """
        async with self.engine.begin() as c:
            await c.execute(text("LOCK TABLE store_checkpoints IN EXCLUSIVE MODE"))
            last = (await c.execute(_LAST_STORE_CHECKPOINT)).first()
            after = Checkpoint(int(last.tx_id), last.position) if last else START
            head = await self.head(c)
            if head <= after:
                return None
            prev_digest, prev_count = (last.digest, last.event_count) if last else (GENESIS_HASH, 0)
            count, digest = await self._digest_range(c, after, head, prev_digest)
            total = prev_count + count
            await c.execute(
                text(
                    """INSERT INTO store_checkpoints (tx_id, position, event_count, digest)
                       VALUES (CAST(:tx AS xid8), :pos, :n, :d)"""
                ),
                {"tx": head.tx_id, "pos": head.position, "n": total, "d": digest},
            )
        return head, total, digest

    async def _digest_range(
        self, c: AsyncConnection, after: Checkpoint, until: Checkpoint, prev_digest: str
    ) -> tuple[int, str]:
        digest = hashlib.sha256(prev_digest.encode())
        count = 0
        result = await c.stream(
            text(
                """SELECT hash FROM events
                   WHERE (tx_id, global_position) > (CAST(:after_tx AS xid8), :after_pos)
                     AND (tx_id, global_position) <= (CAST(:tx AS xid8), :pos)
                   ORDER BY events.tx_id, events.global_position"""
            ),
            {**after.as_params(), "tx": until.tx_id, "pos": until.position},
        )
        async for (h,) in result:
            digest.update(h.encode())
            count += 1
        return count, digest.hexdigest()

    async def verify(self) -> VerifyReport:
        """Recompute every stream's hash chain and every store checkpoint.

        Names the first broken link of each stream (a changed event, a missing or
        reordered version, a stream head that no longer matches its last event).
        """
        report = VerifyReport()
        # One snapshot for the heads, the events and the checkpoints: services keep
        # appending while verify runs, and a head read before an append with the events
        # read after it would look like a broken link.
        consistent = self.engine.execution_options(isolation_level="REPEATABLE READ")
        async with consistent.connect() as c:
            heads = {
                r.stream_id: (r.version, r.last_hash)
                for r in (
                    await c.execute(text("SELECT stream_id, version, last_hash FROM streams"))
                )
            }
            result = await c.stream(
                text(f"SELECT {_COLUMNS} FROM events ORDER BY stream_id, stream_version")
            )
            base = schema_base_url()
            current = ""
            expected_prev = GENESIS_HASH
            expected_version = 1
            broken: set[str] = set()
            seen: dict[str, tuple[int, str]] = {}
            async for row in result:
                report.events += 1
                if row.stream_id != current:
                    current, expected_prev, expected_version = row.stream_id, GENESIS_HASH, 1
                    report.streams += 1
                seen[current] = (row.stream_version, row.hash)
                if current in broken:
                    continue
                envelope = _row_to_recorded(row, self.registry, base).envelope
                reason = None
                if row.stream_version != expected_version:
                    reason = f"version {expected_version} is missing (found {row.stream_version})"
                elif row.prev_hash != expected_prev:
                    reason = "previous-hash link does not match the event before it"
                elif envelope_hash(envelope) != row.hash:
                    reason = "content does not match its hash (event data or metadata changed)"
                if reason:
                    broken.add(current)
                    report.breaks.append(Break(current, row.stream_version, reason))
                expected_prev, expected_version = row.hash, row.stream_version + 1
            for stream_id, (version, last_hash) in heads.items():
                if stream_id in broken:
                    continue
                got = seen.get(stream_id)
                if got is None or got[0] != version or got[1] != last_hash:
                    last = got[0] if got else 0
                    report.breaks.append(
                        Break(
                            stream_id,
                            last + 1,
                            f"stream head says version {version}; events end at {last}",
                        )
                    )
            after, prev_digest, prev_count = START, GENESIS_HASH, 0
            for cp in (await c.execute(_STORE_CHECKPOINTS)).all():
                report.checkpoints += 1
                until = Checkpoint(int(cp.tx_id), cp.position)
                count, digest = await self._digest_range(c, after, until, prev_digest)
                if (prev_count + count, digest) != (cp.event_count, cp.digest):
                    report.breaks.append(
                        Break(
                            "<store>",
                            cp.position,
                            f"store checkpoint at position {cp.position} no longer matches "
                            f"({prev_count + count} events now, {cp.event_count} then)",
                        )
                    )
                    break
                after, prev_digest, prev_count = until, cp.digest, cp.event_count
        return report
