"""Limits that passed (整改事项, 双报告, 建议书回复): each noticed once on its matter's stream
and noted on the unit, where its 红黄绿 rating and the monthly report count it.

The read models name the candidates; the matter's stream decides (a notice already there is
not written again, and its id is fixed, so a second scheduler cannot write it twice).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from libs.events.contracts import Event
from libs.events.contracts.accountability import OverdueNoted
from libs.events.store import ConcurrencyError, EventStore, Metadata
from libs.kit.commands import Aggregate
from services.accountability.domain.rectification import Context

ACTOR = "service:accountability-rectification"

K = TypeVar("K")


@dataclass(frozen=True)
class Late:
    """How a notice is recorded and counted: its fixed event id, and the unit's item."""

    event_id: UUID
    deadline_id: str
    kind: str
    """The unit's overdue kind (``rules.json`` ``overdue_labels``: 整改, 整改报告, 建议书回复)."""
    due: date


async def each(candidates: Iterable[K], notice: Callable[[K], Awaitable[int]]) -> int:
    """Notice every candidate in its own transaction; one whose stream moved meanwhile is
    left to the next round. How many notices were written."""
    written = 0
    for candidate in candidates:
        try:
            written += await notice(candidate)
        except ConcurrencyError:
            continue
    return written


async def notice_once(
    store: EventStore,
    deps: Any,
    stream: str,
    aggregate: Aggregate[Any],
    decide: Callable[[Any, Context], list[Event]],
    late: Callable[[Any], Late],
    today: date,
) -> int:
    """Decide on the matter whether its limit passed unnoticed; if so, record the notice and
    note it on the unit, in one transaction. 1 if written, else 0."""
    async with store.transaction() as conn:
        records = await store.read_stream(stream, conn=conn)
        state = aggregate.replay([r.event for r in records])
        events = decide(state, Context(ACTOR, store.clock(), today))
        if not events:
            return 0
        notice: Any = events[0]
        what = late(notice)
        meta = Metadata(actor=ACTOR)
        await store.append(stream, events, expected_version=records[-1].version, meta=meta,
                           conn=conn, event_ids=[what.event_id])  # fmt: skip
        zone = ZoneInfo(deps.rectification.timezone)
        noted = OverdueNoted(
            deadline_id=what.deadline_id,
            unit=notice.unit,
            item_kind=what.kind,
            due_at=datetime.combine(what.due + timedelta(days=1), time(), zone),
            noticed_at=notice.noticed_at,
        )
        await note_on_unit(store, conn, deps, meta, notice.unit, noted)
    return 1


async def note_on_unit(
    store: EventStore, conn: Any, deps: Any, meta: Metadata, unit: str, noted: OverdueNoted
) -> None:
    """``noted`` on the unit's stream, once, with the rating change it makes."""
    from services.accountability.handlers import record_on_unit  # handlers import the service

    def make(history: list[Event]) -> list[Event]:
        seen = any(
            isinstance(e, OverdueNoted) and e.deadline_id == noted.deadline_id for e in history
        )
        return [] if seen else [noted]

    await record_on_unit(store, conn, unit, meta, make, noted.noticed_at, deps)
