"""CPU time of a set of processes over a window, from /proc (Linux): a figure a busy
machine cannot inflate the way it inflates wall-clock times.

A ``Meter`` samples every ``interval`` seconds the processes each group names (service
process trees, the PostgreSQL backends of some connections, the broker's tree) and sums,
per group, the CPU each of their threads used inside the window: a thread present at the
start counts from its CPU then, one that appears later from zero. A thread that ends
between two samples loses what it used since the last one (pools keep their connections
and workers, so that is rare).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Pids = Callable[[], Awaitable[Iterable[int]]]


def available() -> bool:
    """Whether /proc can be read (Linux)."""
    return Path("/proc/self/stat").exists()


def thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds each thread of a process has used, by thread id (empty: it is gone).

    The time each ran, to the nanosecond, from its ``schedstat``: user and system time in
    ``stat`` are counted in clock ticks (10 ms), each given whole to whichever process ran
    when it fell, fair over many seconds but not for a PostgreSQL backend that ran a few
    milliseconds of a second-long workload. Thread by thread, so that a thread that ends
    (a pool's worker) takes with it only what it used since the last sample, as a process
    does. Where ``schedstat`` is missing, the process's ticks from ``stat``, under its id.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    used: dict[int, float] = {}
    for task in tasks:
        try:
            used[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile (or has no schedstat: ticks below)
    if used:
        return used
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return {}
    # The command name may hold spaces and parentheses: fields start after the last ")".
    fields = stat.rsplit(")", 1)[1].split()
    return {pid: (int(fields[11]) + int(fields[12])) / TICKS}


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


class Meter:
    """CPU seconds used by named groups of processes between ``start`` and ``stop``."""

    def __init__(self, groups: dict[str, Pids], interval: float = 0.25) -> None:
        self.groups = groups
        self.interval = interval
        self._first: dict[str, dict[int, float]] = {g: {} for g in groups}
        self._last: dict[str, dict[int, float]] = {g: {} for g in groups}
        self._task: asyncio.Task[None] | None = None
        self._started = False

    async def _sample(self) -> None:
        for group, pids in self.groups.items():
            first, last = self._first[group], self._last[group]
            for pid in await pids():
                for thread, used in thread_seconds(pid).items():
                    if thread not in first:
                        first[thread] = used if not self._started else 0.0
                    last[thread] = used
        self._started = True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._sample()

    async def start(self) -> None:
        """Take the starting sample and keep sampling."""
        await self._sample()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Take the last sample; CPU seconds per group inside the window."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._sample()
        return {
            g: sum(self._last[g][p] - self._first[g][p] for p in self._last[g]) for g in self.groups
        }


async def measure(groups: dict[str, Pids], work: Awaitable[object]) -> dict[str, float]:
    """CPU seconds per group while ``work`` runs."""
    meter = Meter(groups)
    await meter.start()
    try:
        await work
    finally:
        used = await meter.stop()
    return used
