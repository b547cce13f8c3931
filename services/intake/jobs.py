"""Intake's scheduled work. 时限提醒: forwarding (转办) and acknowledgement (受理告知) limits
that pass.

Each run looks at every open limit whose day has passed (the ``intake_deadlines`` register
keeps them), replays the clue's stream, and appends what ``overdue_notices`` says, with
event ids derived from the deadline: a notice is written at most once however often the
scheduler runs, and every notice missed while the service was down is written on the
first run after it comes back. Overdue limits are escalated to the intake supervisor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.contracts.intake import ForwardingOverdue, ReportAcknowledgementOverdue
from libs.events.store import ConcurrencyError, EventStore, Metadata
from libs.kit.jobs import Job
from services.intake import queries
from services.intake.domain import clue_stream
from services.intake.domain.jurisdiction import overdue_notices, replay
from services.intake.ratelimit import SharedWindow

log = logging.getLogger(__name__)


def notice_id(deadline_id: str) -> UUID:
    """The event id of one overdue notice: the same deadline, the same id."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:intake:deadline:{deadline_id}:overdue")


async def run_once(store: EventStore, today: date, escalate_to: str | None) -> int:
    """Write every overdue notice due by ``today``; returns how many were written."""
    async with store.engine.connect() as conn:
        candidates = await queries.due_for_notice(conn, today)
    written = 0
    for clue_id in candidates:
        try:
            written += await _notice(store, clue_id, today, escalate_to)
        except ConcurrencyError:
            log.info("clue %s moved while noticing its deadlines; next run", clue_id)
    return written


async def _notice(store: EventStore, clue_id: UUID, today: date, escalate_to: str | None) -> int:
    async with store.transaction() as conn:
        history = await store.read_stream(clue_stream(clue_id), conn=conn)
        state = replay([r.event for r in history])
        events = overdue_notices(state, today, store.clock(), escalate_to)
        if not events:
            return 0
        await store.append(
            clue_stream(clue_id),
            events,
            expected_version=state.version,
            meta=Metadata(actor="service:intake-scheduler"),
            conn=conn,
            event_ids=[
                notice_id(e.deadline_id)
                for e in events
                if isinstance(e, ForwardingOverdue | ReportAcknowledgementOverdue)
            ],
        )
    return len(events)


def deadlines(
    store: EventStore, today: Callable[[], date], escalate_to: str | None, interval: float
) -> Job:
    """时限提醒 as a job: at start (after the deadline register caught up, so that a restart
    sees every limit recorded before it went down) and every ``interval`` seconds."""

    async def notices() -> str:
        n = await run_once(store, today(), escalate_to)
        return f"wrote {n} intake deadline notice(s)" if n else ""

    return Job("intake-deadline-scheduler", interval, notices, catch_up=True)


def forget_idle_addresses(limiter: SharedWindow, engine: AsyncEngine) -> Job:
    """Hourly: drop the rate-limit rows of client addresses with no report left in the window."""

    async def forget() -> str:
        n = await limiter.forget_idle(engine)
        return f"forgot {n} idle report address(es)" if n else ""

    return Job("intake-report-rate-forgetter", 3600.0, forget)
