"""The holiday calendar the rules read: the platform's (libs/kit/workdays) by default.

Holiday rules (a refuel or a catering invoice on a statutory holiday, a trip to a tourist
place around one, a car used on a day off) ask which days are holidays. The platform
calendar answers for every deployment; a partner's ``holidays`` feed only overrides the
days it names (the view ``calendar_days``). Without the feed the rules still find what
they should.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.kit.workdays import DEFAULT_YEARS, WorkCalendar, calendar_days


async def install(db: AsyncEngine, calendar: WorkCalendar, today: date) -> int:
    """Write the platform calendar's breaks and 调休 days into ``platform_calendar`` (at
    start, replacing what an earlier start wrote); returns the number of days written.
    (Loading the calendar warned already when this year or next has no 调休 data.)"""
    years = sorted({*DEFAULT_YEARS, today.year, today.year + 1})
    rows = [
        {"day": d.day, "name": d.name, "kind": d.kind, "calendar": calendar.version}
        for d in calendar_days(calendar, years)
    ]
    async with db.begin() as conn:
        # Replicas starting together write the same rows: one at a time.
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('platform_calendar'))"))
        await conn.execute(text("DELETE FROM platform_calendar"))
        if rows:
            await conn.execute(
                text(
                    """INSERT INTO platform_calendar (day, name, kind, calendar)
                       VALUES (:day, :name, :kind, :calendar)"""
                ),
                rows,
            )
    return len(rows)
