"""Projections: read models kept from a service's own store, with a checkpoint.

A projection applies events in commit-safe order; its writes and its checkpoint commit
together, so it never applies an event twice or skips one. ``rebuild`` empties its
tables and replays the store from the start with a progress bar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Executable, Result, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from libs.events.store import START, Checkpoint, EventStore, Recorded
from libs.events.wakeup import Waiter
from libs.kit.db import driver, execute_many

log = logging.getLogger(__name__)

_LOAD = text("SELECT tx_id::text, position FROM projection_checkpoints WHERE name = :n")
_CLAIM = text(
    """INSERT INTO projection_checkpoints (name, tx_id, position) VALUES (:n, CAST('0' AS xid8), 0)
       ON CONFLICT (name) DO NOTHING"""
)
# Replicas of a service may run the same projection: the row lock makes them take turns,
# and the one that waited re-reads the checkpoint the other one moved.
_LOCK = text("SELECT tx_id::text, position FROM projection_checkpoints WHERE name = :n FOR UPDATE")
# Every projection of a runner at once, in one order (replicas taking turns never deadlock).
# At the driver (every step begins with it): $1 the names.
_LOCK_ALL = """SELECT name, tx_id::text, position FROM projection_checkpoints
       WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE"""
# At the driver (every step runs it): $1 names, $2 transaction ids as text, $3 positions.
_SAVE_ALL = """INSERT INTO projection_checkpoints (name, tx_id, position)
       SELECT * FROM unnest($1::text[], $2::text[]::xid8[], $3::bigint[])
       ON CONFLICT (name) DO UPDATE
       SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()"""
_SAVE = text(
    """INSERT INTO projection_checkpoints (name, tx_id, position)
       VALUES (:n, CAST(:tx AS xid8), :pos)
       ON CONFLICT (name) DO UPDATE
       SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()"""
)


_SOON = 0.01
"""Seconds before looking again when a notified event was still below the horizon (doubling
up to the idle interval)."""


class Projection(Protocol):
    """A read model: its name, the tables it owns, and how an event changes them."""

    name: str
    tables: Sequence[str]

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Change the read model for one event (ignore types it does not use).

        A projection may also define ``apply_batch(conn, batch)``; the runner then hands it
        each batch whole (same transaction, same checkpoint), e.g. to load and write its
        rows once per batch instead of once per event.
        """


class Writes:
    """A projection's statements over a batch, in order, in as few round trips as the order
    allows: a run of writes of one statement goes once with all its rows (the driver's
    executemany), and a read first sends the writes before it."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._statement: Executable | None = None
        self._rows: list[dict[str, Any]] = []

    async def write(self, statement: Executable, params: dict[str, Any]) -> None:
        """Write, when the next read (or ``flush``) comes, after the writes before it."""
        if statement is not self._statement:
            await self.flush()
            self._statement = statement
        self._rows.append(params)

    async def read(self, statement: Executable, params: dict[str, Any]) -> Result[Any]:
        """Run a statement whose answer the projection needs, after the writes before it."""
        await self.flush()
        return await self.conn.execute(statement, params)

    async def flush(self) -> None:
        """Send the writes not sent yet (at the driver when the statement is plain text)."""
        if self._statement is not None and self._rows:
            if isinstance(self._statement, TextClause):
                await execute_many(self.conn, self._statement, self._rows)
            else:
                await self.conn.execute(self._statement, self._rows)
        self._statement, self._rows = None, []


async def checkpoint_of(conn: AsyncConnection, name: str) -> Checkpoint:
    """Where a projection has got to."""
    row = (await conn.execute(_LOAD, {"n": name})).first()
    return Checkpoint(int(row[0]), row[1]) if row else START


async def _apply(projection: Projection, conn: AsyncConnection, batch: list[Recorded]) -> None:
    """Hand ``batch`` to the projection: whole, where it has ``apply_batch``, else an event
    at a time."""
    apply_batch = getattr(projection, "apply_batch", None)
    if apply_batch is not None:
        await apply_batch(conn, batch)
    else:
        for recorded in batch:
            await projection.apply(conn, recorded)


class ProjectionRunner:
    """Keeps projections up to date with their store."""

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        idle_interval: float = 0.1,
        waiter: Waiter | None = None,
    ) -> None:
        self.store = store
        self.projections = list(projections)
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        """Seconds between looks at an idle store; with a ``waiter``, only the fallback."""
        self.waiter = waiter
        """Woken when the store commits events (libs/events/wakeup.py)."""
        self._at: dict[str, Checkpoint] = {}
        self._soon = _SOON

    async def step(self, projection: Projection) -> int:
        """Apply the next batch to one projection; returns how many events it read."""
        async with self.store.engine.begin() as conn:
            row = (await conn.execute(_LOCK, {"n": projection.name})).first()
            if row is None:  # its first step: the row is made once, then only locked
                await conn.execute(_CLAIM, {"n": projection.name})
                row = (await conn.execute(_LOCK, {"n": projection.name})).one()
            cursor = Checkpoint(int(row[0]), row[1])
            batch = await self.store.read_all(cursor, limit=self.batch_size, conn=conn)
            await _apply(projection, conn, batch)
            if batch:
                cursor = batch[-1].checkpoint
                await conn.execute(
                    _SAVE, {"n": projection.name, "tx": cursor.tx_id, "pos": cursor.position}
                )
        self._at[projection.name] = cursor
        return len(batch)

    async def step_all(self) -> tuple[int, int]:
        """Apply the next batch to every projection in one transaction: the events after the
        checkpoint furthest behind, each projection taking those after its own. Returns
        (events read, events applied summed over the projections)."""
        if not self.projections:
            return 0, 0
        names = sorted(p.name for p in self.projections)
        async with self.store.engine.begin() as conn:
            c = await driver(conn)  # begins the transaction: BEGIN alone
            rows = await c.fetch(_LOCK_ALL, names)
            if len(rows) < len(names):  # a projection's first step: its row is made once
                for name in names:
                    await conn.execute(_CLAIM, {"n": name})
                rows = await c.fetch(_LOCK_ALL, names)
            at = {name: Checkpoint(int(tx), position) for name, tx, position in rows}
            batch = await self.store.read_all(min(at.values()), limit=self.batch_size, conn=conn)
            applied = 0
            saved: dict[str, Checkpoint] = {}
            for projection in self.projections:
                # The batch runs on from the lowest checkpoint in commit-safe order, so the
                # events after this projection's own are the next ones it has not applied.
                cursor = at[projection.name]
                mine = [r for r in batch if r.checkpoint > cursor]
                if not mine:
                    continue
                await _apply(projection, conn, mine)
                saved[projection.name] = mine[-1].checkpoint
                applied += len(mine)
            if saved:
                await c.execute(
                    _SAVE_ALL,
                    list(saved),
                    [str(cp.tx_id) for cp in saved.values()],
                    [cp.position for cp in saved.values()],
                )
        self._at.update(at | saved)
        return len(batch), applied

    async def catch_up(self) -> int:
        """Apply everything readable now to every projection; returns events applied
        (summed over the projections).

        All the projections step together, in one transaction per batch (lock their
        checkpoints, read, apply, save: six round trips besides their writes, not six per
        projection). A batch shorter than the limit read everything readable: no step
        more to find nothing; what commits meanwhile wakes the runner again."""
        total = 0
        while True:
            read, applied = await self.step_all()
            total += applied
            if read < self.batch_size:
                return total

    async def catch_up_to(
        self, checkpoint: Checkpoint, *, timeout: float = 30.0, poll: float = 0.05
    ) -> bool:
        """Apply until every projection has passed ``checkpoint`` (the caller's last append,
        committed): read-your-writes for a reader of the read models.

        The commit-safe order may hold the caller's events back while an older transaction
        is still open; this waits for it, up to ``timeout``. False when it ran out first.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await self.catch_up()
            async with self.store.engine.connect() as conn:
                behind = [
                    p for p in self.projections if await checkpoint_of(conn, p.name) < checkpoint
                ]
            if not behind:
                return True
            if asyncio.get_running_loop().time() >= deadline:
                log.warning(
                    "%s not caught up to %s after %.0fs",
                    ", ".join(p.name for p in behind),
                    checkpoint,
                    timeout,
                )
                return False
            await asyncio.sleep(poll)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the store until ``stop`` is set."""
        while not stop.is_set():
            if self.waiter is not None:
                self.waiter.clear()  # before reading: what commits meanwhile wakes the wait
            try:
                moved = await self.catch_up()
            except Exception:
                log.exception("projection runner failed; retrying")
                await _sleep_or_stop(stop, 1.0)
                continue
            if self.waiter is None:
                if not moved:
                    await _sleep_or_stop(stop, self.idle_interval)
                continue
            await self.waiter.wait(self._idle(), stop)

    def _idle(self) -> float:
        """How long to wait for a notification before looking at the store anyway."""
        assert self.waiter is not None
        oldest = min((at.tx_id for at in self._at.values()), default=0)
        if self.waiter.behind(oldest):
            # Notified, but still below the horizon: whatever holds it ends soon and may
            # notify nothing (a read model's write), so look again shortly.
            wait, self._soon = self._soon, min(self._soon * 2, self.idle_interval)
            return wait
        self._soon = _SOON
        return self.idle_interval

    async def rebuild(self, projection: Projection, *, progress: bool = True) -> int:
        """Empty a projection's tables and replay the whole store into it."""
        async with self.store.engine.begin() as conn:
            for table in projection.tables:
                await conn.execute(text(f'TRUNCATE "{table}"'))
            await conn.execute(_SAVE, {"n": projection.name, "tx": 0, "pos": 0})
        total = await self.store.count_after(START)
        done = 0
        if not progress:
            while n := await self.step(projection):
                done += n
            return done
        from rich.progress import Progress

        with Progress() as bar:
            task = bar.add_task(f"rebuilding {projection.name}", total=total)
            while n := await self.step(projection):
                done += n
                bar.update(task, completed=done)
        return done


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
