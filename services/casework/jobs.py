"""Casework's scheduled work. 时限提醒: the deadline scheduler — approaching and overdue notices, escalation.

Each run looks at every matter whose next notice day has come (the register keeps it),
replays the matter's stream, and appends what ``notice_deadlines`` says with event ids
derived from the deadline, so a notice is written at most once however often the
scheduler runs, and every notice missed while the service was down is written on the
first run after it comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from libs.events.contracts.casework import DeadlineApproaching, DeadlineOverdue
from libs.events.store import ConcurrencyError, EventStore, Metadata
from libs.kit.jobs import Job
from services.casework import queries
from services.casework.domain import Rules, clue_stream, notice_deadlines
from services.casework.service import load

log = logging.getLogger(__name__)


def notice_id(deadline_id: str, stage: str) -> UUID:
    """The event id of one notice: the same deadline and stage, the same id."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:casework:deadline:{deadline_id}:{stage}")


async def run_once(store: EventStore, rules: Rules, today: date) -> int:
    """Write every notice due by ``today``; returns how many were written."""
    async with store.engine.connect() as conn:
        candidates = await queries.due_for_notice(conn, today)
    written = 0
    for case_id in candidates:
        try:
            written += await _notice(store, rules, case_id, today)
        except ConcurrencyError:
            log.info("case %s moved while noticing its deadlines; next run", case_id)
    return written


async def _notice(store: EventStore, rules: Rules, case_id: UUID, today: date) -> int:
    async with store.transaction() as conn:
        state, _ = await load(store, case_id, conn=conn)
        events = notice_deadlines(state, today, rules, store.clock())
        if not events:
            return 0
        ids = [
            notice_id(e.deadline_id, "overdue" if isinstance(e, DeadlineOverdue) else "approaching")
            for e in events
            if isinstance(e, DeadlineOverdue | DeadlineApproaching)
        ]
        await store.append(
            clue_stream(case_id),
            events,
            expected_version=state.version,
            meta=Metadata(actor="service:casework-scheduler"),
            conn=conn,
            event_ids=ids,
        )
    return len(events)


def deadlines(store: EventStore, rules: Rules, today: Callable[[], date], interval: float) -> Job:
    """时限提醒 as a job: at start (after the register caught up) and every ``interval`` s."""

    async def notices() -> str:
        n = await run_once(store, rules, today())
        return f"wrote {n} deadline notice(s)" if n else ""

    return Job("deadline-scheduler", interval, notices, catch_up=True)
