"""Wake a store's readers when events commit: LISTEN/NOTIFY, the poll kept as a fallback.

Every append is announced on its store's channel (``channel_of(schema)``) with the writing
transaction's id as payload. An append in a caller's transaction notifies in it: PostgreSQL
delivers the notification when, and only if, that transaction commits. An append that
commits on its own, or in a unit of work the store opened (``EventStore.transaction``), is
announced by its process once it committed (``Announcer``: one announcement for the
appends of a few milliseconds). A service keeps one listening
connection (``Wakeup``), and each reader (relay, projections) holds a ``Waiter`` that is
set by every notification.

A notification can arrive while the event is still below the reader's horizon (an older
transaction of the database is still open and notifies nothing when it ends, e.g. a read
model's write). ``Waiter.behind`` says so: the highest notified transaction is past the
reader's cursor, so it looks again soon instead of waiting for the next notification.

The listening connection can drop (server restart, ``pg_terminate_backend``): the
listener reconnects with backoff and wakes every reader once it listens again, since what
committed meanwhile was announced to nobody. Readers also look every ``fallback`` seconds
whatever they heard, so a lost notification delays an event, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "zf_events."


def channel_of(schema: str) -> str:
    """The notification channel of the store in ``schema`` (cut, as the server cuts it, to
    the 63 bytes a channel name may have)."""
    return (CHANNEL_PREFIX + schema)[:63]


class Announcer:
    """Announces appends after their commit, coalesced (those that commit on their own or
    in ``EventStore.transaction``).

    Such an append does not notify in its statement: PostgreSQL serialises the commits of
    all notifying transactions of the server behind one lock held through the commit's
    WAL flush, so concurrent appends could not share a flush. Instead ``committed`` is
    called once the append's commit returned; the announcement goes out at once when
    none did for ``interval`` seconds, else at the end of that interval, one for every
    append committed meanwhile (the highest transaction id as payload). It is sent in a
    transaction of its own that need not be durable (``send``), so the lock is held only
    to queue it. Every commit is thus announced after it, within ``interval`` and a round
    trip; if the process dies first or the send fails, readers' fallback poll finds it.
    """

    def __init__(self, send: Callable[[int], Awaitable[None]], interval: float = 0.005) -> None:
        self._send = send
        self.interval = interval
        self._pending = 0  # the highest committed transaction not announced yet
        self._last = float("-inf")  # when the last announcement went out (loop time)
        self._task: asyncio.Task[None] | None = None

    def committed(self, tx_id: int) -> None:
        """An append of transaction ``tx_id`` committed: announce it."""
        self._pending = max(self._pending, tx_id)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="announce appends")

    async def settled(self) -> None:
        """Until every append committed so far is announced (or its send failed)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            wait = self._last + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            tx_id, self._pending = self._pending, 0
            self._last = loop.time()
            try:
                await self._send(tx_id)
            except Exception as exc:  # readers' fallback poll finds the events anyway
                log.warning("announcing transaction %d failed: %s", tx_id, exc)


class Waiter:
    """One reader's wake-up flag: set by every notification of its store."""

    def __init__(self, wakeup: Wakeup | None = None) -> None:
        self._wakeup = wakeup
        self._event = asyncio.Event()

    def set(self) -> None:
        """Wake the reader (a notification, a reconnect)."""
        self._event.set()

    def clear(self) -> None:
        """Call before reading: a notification during the read then wakes the next wait."""
        self._event.clear()

    def behind(self, cursor_tx: int) -> bool:
        """A notified transaction is past ``cursor_tx``: its events exist but were not
        readable yet (held below the horizon), so look again soon."""
        return self._wakeup is not None and self._wakeup.notified > cursor_tx

    async def wait(self, timeout: float, stop: asyncio.Event | None = None) -> bool:
        """Until woken, ``stop`` is set, or ``timeout`` seconds; ``True`` when woken."""
        if self._event.is_set():
            # Woken while the reader read (a live relay, most batches): no tasks to make,
            # wait on and cancel.
            return True
        waits = [asyncio.ensure_future(self._event.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return self._event.is_set()


class Wakeup:
    """The listening connection of one store (one per service process)."""

    def __init__(self, engine: AsyncEngine, schema: str, *, check_interval: float = 10.0) -> None:
        self.engine = engine
        self.channel = channel_of(schema)
        self.check_interval = check_interval
        """Seconds between checks that the listening connection still answers."""
        self.notified = 0
        """The highest transaction id notified so far."""
        self.listening = asyncio.Event()
        """Set while the connection listens (cleared when it drops)."""
        self.backend_pid: int | None = None
        """The server process of the listening connection (what an operator would end)."""
        self.reconnects = 0
        self._waiters: list[Waiter] = []

    def waiter(self) -> Waiter:
        """A new reader's flag."""
        w = Waiter(self)
        self._waiters.append(w)
        return w

    def _notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.notified = max(self.notified, int(payload))
        self._wake_all()

    def _wake_all(self) -> None:
        for w in self._waiters:
            w.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set, reconnecting whenever the connection drops."""
        backoff = 0.2
        while not stop.is_set():
            try:
                async with self.engine.connect() as conn:
                    try:
                        await self._listen(conn, stop)
                        backoff = 0.2
                    finally:
                        self.listening.clear()
                        self.backend_pid = None
                        # The session is gone or shutting down: never back in the pool.
                        with contextlib.suppress(Exception):
                            await conn.invalidate()
            except Exception as exc:
                if stop.is_set():
                    return
                log.warning(
                    "listening on %s failed (%s); reconnecting in %.1fs", self.channel, exc, backoff
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)

    async def _listen(self, conn: AsyncConnection, stop: asyncio.Event) -> None:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        raw = await auto.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        lost = asyncio.Event()
        driver.add_termination_listener(lambda _c: lost.set())
        await driver.add_listener(self.channel, self._notify)
        self.backend_pid = driver.get_server_pid()
        if self.reconnects:
            log.info("listening on %s again", self.channel)
        self.reconnects += 1
        self.listening.set()
        # Whatever committed while nobody listened was announced to nobody: look now.
        self._wake_all()
        while not stop.is_set():
            waits = [asyncio.ensure_future(lost.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(
                    waits, timeout=self.check_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for w in waits:
                    w.cancel()
            if stop.is_set():
                return
            if lost.is_set() or driver.is_closed():
                raise ConnectionError("the listening connection was closed")
            # A connection can die without a word (a dropped network path): ask it.
            await asyncio.wait_for(driver.fetchval("SELECT 1"), timeout=self.check_interval)
