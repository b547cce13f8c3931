"""The public reports' rate limit: a sliding window per client address, kept in PostgreSQL
so that every replica of intake counts against the same window.

Each address has one row holding the times of its reports within the window. Admitting a
report is one upsert that drops the times that fell out of the window, and appends now only
while fewer than ``limit`` remain; the row lock it takes orders concurrent replicas, and
PostgreSQL's clock is the only clock, so replicas with skewed clocks still agree. The
address itself is never stored: rows are keyed by its keyed hash (the vault's blind index).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_ADMIT = text(
    """
    INSERT INTO report_rate AS r (address_key, hits)
    VALUES (:key, ARRAY[clock_timestamp()])
    ON CONFLICT (address_key) DO UPDATE
       SET hits = ARRAY(SELECT h FROM unnest(r.hits) AS h
                         WHERE h > clock_timestamp() - make_interval(secs => :seconds) ORDER BY h)
                  || clock_timestamp()
     WHERE (SELECT count(*) FROM unnest(r.hits) AS h
             WHERE h > clock_timestamp() - make_interval(secs => :seconds)) < :limit
    RETURNING 1
    """
)
_WAIT = text(
    """
    SELECT extract(epoch FROM min(h) + make_interval(secs => :seconds) - clock_timestamp())
      FROM report_rate, unnest(hits) AS h
     WHERE address_key = :key AND h > clock_timestamp() - make_interval(secs => :seconds)
    """
)
_FORGET_IDLE = text(
    """
    DELETE FROM report_rate
     WHERE NOT EXISTS (SELECT 1 FROM unnest(hits) AS h WHERE h > clock_timestamp() - make_interval(secs => :seconds))
    """
)


class SharedWindow:
    """At most ``limit`` admissions per key in any ``window`` seconds, across replicas."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window

    async def allow(self, engine: AsyncEngine, key: str) -> float | None:
        """None if admitted (and counted); else the seconds until one more would be."""
        params = {"key": key, "seconds": self.window, "limit": self.limit}
        async with engine.begin() as conn:
            if (await conn.execute(_ADMIT, params)).first() is not None:
                return None
            wait = (await conn.execute(_WAIT, params)).scalar()
        return max(float(wait or 0.0), 1.0)

    async def forget_idle(self, engine: AsyncEngine) -> int:
        """Drop the rows of addresses with nothing left in the window; how many."""
        async with engine.begin() as conn:
            result = await conn.execute(_FORGET_IDLE, {"seconds": self.window})
        return result.rowcount
