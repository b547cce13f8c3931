"""CPU time of a set of processes over a window, from /proc (Linux): a figure a busy
machine cannot inflate the way it inflates wall-clock times.

A ``Meter`` samples every ``interval`` seconds the processes each group names (service
process trees, the PostgreSQL backends of some connections, the broker's tree) and sums,
per group, the CPU each used inside the window: a process present at the start counts from
its CPU then, one that appears later from zero. A process that ends between two samples
loses what it used since the last one (pools keep their connections, so that is rare).
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


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used (``None``: it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


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
                used = cpu_seconds(pid)
                if used is None:
                    continue
                if pid not in first:
                    first[pid] = used if not self._started else 0.0
                last[pid] = used
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
