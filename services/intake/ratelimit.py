"""A sliding-window limit per key (client address), kept in this process's memory.

Each replica limits on its own; behind N replicas a client gets at most N times the
limit, which is acceptable for a front door against floods (a shared store can replace it).
"""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    """At most ``limit`` events per key in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> float | None:
        """None if allowed (and counted); else seconds until the next one would be."""
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return times[0] + self.window - now
        times.append(now)
        if len(self._seen) > 100_000:  # forget idle keys rather than grow without bound
            self._seen = {k: v for k, v in self._seen.items() if v}
        return None
