"""A command the client did not pin to a version is re-run when its stream moved under it.

Services append to a stream from more than one place: an operator's command, and the
service's own consumer or scheduler noting something on the same stream. A command read at
version N whose append finds the stream at N+1 raised ``ConcurrencyError`` (409). When the
client sent ``If-Match`` that is the right answer — they decided on what they saw. Without
it the client asked for the command on whatever the stream is now, so the whole unit of work
(its own transaction: read, decide, append) simply runs again on the new state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from libs.events.store import ConcurrencyError

T = TypeVar("T")

log = logging.getLogger(__name__)


async def rerun_on_conflict(
    work: Callable[[], Awaitable[T]], *, pinned: bool, attempts: int = 5
) -> T:
    """Run ``work`` (one whole transaction); if the stream moved and the client did not pin a
    version (``pinned`` — an ``If-Match`` was sent), run it again, at most ``attempts`` times."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except ConcurrencyError as moved:
            if pinned or attempt == attempts:
                raise
            log.info("%s moved under an unpinned command; running it again", moved.stream_id)
    raise AssertionError("unreachable")
