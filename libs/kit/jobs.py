"""Scheduled work of a service: one stop-aware loop for every job.

A job is a round of work run every ``interval`` seconds until the service stops (deadline
notices, re-rating, rule sweeps, store checkpoints). A failed round is logged and tried
again at the next tick; stopping never waits out an interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One kind of scheduled work of a service."""

    name: str
    interval: float
    """Seconds between rounds."""
    work: Callable[[], Awaitable[object]]
    """One round; what it returns is logged when truthy (e.g. how many notices it wrote)."""
    at_start: bool = True
    """Run a first round at once (catching up after a restart), or wait an interval first."""
    catch_up: bool = False
    """Bring the service's read models up to date before each round."""


async def run(
    job: Job, stop: asyncio.Event, catch_up: Callable[[], Awaitable[object]] | None = None
) -> None:
    """Run ``job`` every ``job.interval`` seconds until ``stop`` is set."""
    first = job.at_start
    while not stop.is_set():
        if not first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=job.interval)
            if stop.is_set():
                return
        first = False
        try:
            if job.catch_up and catch_up is not None:
                await catch_up()
            done = await job.work()
            if done:
                log.info("%s: %s", job.name, done)
        except Exception:
            log.exception("%s failed; will try again in %.0fs", job.name, job.interval)
