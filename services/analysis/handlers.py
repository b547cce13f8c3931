"""What analysis does with other services' events.

- intake's ``ClueReceived``: its subjects join the subject index.
- casework's ``ClueRegistered`` for a clue made from an alert (source kind
  ``analysis_alert``, source reference = the alert id): the alert remembers its clue
  (``AlertLinkedToClue``).
- casework's ``CaseFiled``: every alert whose clue became the case links to it
  (``AlertLinkedToCase``), so the board shows which alerts became cases.
- intake's ``HotlineOrderReceived`` / ``HotlineOrderUpdated``: 12345 orders arriving as
  events join the ``hotline_orders`` feed table beside the batches (the periodic sweep
  runs the hotline rules over them).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.consumer import Handler
from libs.events.contracts.analysis import AlertLinkedToCase, AlertLinkedToClue
from libs.events.contracts.casework import CaseFiled, ClueRegistered
from libs.events.contracts.intake import (
    ClueReceived,
    HotlineOrderReceived,
    HotlineOrderUpdated,
)
from libs.events.dispatch import Delivery, HandlerDispatch
from libs.events.store import ANY, EventStore
from services.analysis.domain import note_subjects
from services.analysis.domain.alerts import Alert, alert_stream, replay

ALERT_SOURCE_KINDS = ("analysis_alert", "analysis")
HOTLINE_BATCH = "intake-events"
CLOSED_STATUSES = ("closed", "completed", "resolved", "办结", "已办结")
SATISFACTION = {
    "满意": 5,
    "基本满意": 3,
    "不满意": 1,
    "satisfied": 5,
    "basically_satisfied": 3,
    "unsatisfied": 1,
}
DEFAULT_HOTLINE_DAYS = 5
"""Days to answer when the 12345 platform sends no deadline."""


def _alert_ref(registered: ClueRegistered) -> UUID | None:
    if registered.source_kind not in ALERT_SOURCE_KINDS or not registered.source_reference:
        return None
    try:
        return UUID(registered.source_reference)
    except ValueError:
        return None


HANDLERS: HandlerDispatch[None] = HandlerDispatch("service:analysis")
"""Analysis's handlers; the services it subscribes to follow from them."""


def make_handler(store: EventStore) -> Handler:
    """One handler for every topic analysis subscribes to."""
    return HANDLERS.handler(store, None)


@HANDLERS.on(ClueReceived)
async def index_subjects(received: ClueReceived, d: Delivery[None]) -> None:
    """The clue's subjects join the subject index."""
    for stream_id, events in note_subjects(received).items():
        await d.store.append(stream_id, events, expected_version=ANY, meta=d.meta, conn=d.conn)


@HANDLERS.on(ClueRegistered)
async def note_clue(registered: ClueRegistered, d: Delivery[None]) -> None:
    """A clue made from an alert: the alert remembers its clue (``AlertLinkedToClue``)."""
    ref = _alert_ref(registered) or registered.clue_id
    for alert_id in dict.fromkeys((ref, registered.clue_id)):
        alert, version = await _alert(d, alert_id)
        if alert is None or alert.clue_id == registered.clue_id:
            continue
        linked = AlertLinkedToClue(
            alert_id=alert_id, clue_id=registered.clue_id, linked_at=d.envelope.time
        )
        await d.store.append(
            alert_stream(alert_id), [linked], expected_version=version, meta=d.meta, conn=d.conn
        )


_LINKED_TO_CLUES = text(
    """SELECT DISTINCT stream_id FROM events
       WHERE type = :type AND data::jsonb->>'clue_id' = ANY(CAST(:clues AS text[]))"""
)


@HANDLERS.on(CaseFiled)
async def link_case(filed: CaseFiled, d: Delivery[None]) -> int:
    """Link every alert whose clue became this case; returns how many."""
    clues = [str(c) for c in filed.clue_ids]
    linked = await d.conn.execute(
        _LINKED_TO_CLUES, {"type": AlertLinkedToClue.type_name, "clues": clues}
    )
    # An alert is found by the clue it was linked to, or by its own id as the clue's.
    candidates = {UUID(r[0].removeprefix("alert-")) for r in linked} | set(filed.clue_ids)
    n = 0
    for alert_id in sorted(candidates, key=str):
        alert, version = await _alert(d, alert_id)
        if alert is None or alert.case_id == filed.case_id:
            continue
        if alert.clue_id not in filed.clue_ids and alert_id not in filed.clue_ids:
            continue  # linked to another clue since
        event = AlertLinkedToCase(
            alert_id=alert_id,
            clue_id=alert.clue_id,
            case_id=filed.case_id,
            case_number=filed.case_number,
            linked_at=filed.filed_at,
        )
        await d.store.append(
            alert_stream(alert_id), [event], expected_version=version, meta=d.meta, conn=d.conn
        )
        n += 1
    return n


async def _alert(d: Delivery[None], alert_id: UUID) -> tuple[Alert | None, int]:
    """An alert as its stream has it (``None``: no such alert), and the stream's version."""
    history = await d.store.read_stream(alert_stream(alert_id), conn=d.conn)
    return replay((r.event, r.version) for r in history), len(history)


@HANDLERS.on(HotlineOrderReceived)
async def on_hotline_order(order: HotlineOrderReceived, d: Delivery[None]) -> None:
    """A 12345 order arriving as an event joins the hotline feed."""
    await take_hotline_order(d.conn, order)


@HANDLERS.on(HotlineOrderUpdated)
async def on_hotline_update(update: HotlineOrderUpdated, d: Delivery[None]) -> None:
    """A later state of a 12345 order."""
    await update_hotline_order(d.conn, update)


async def take_hotline_order(conn: AsyncConnection, order: HotlineOrderReceived) -> None:
    """A 12345 order from intake becomes a row of the hotline feed (unit by name or code)."""
    await conn.execute(
        text(
            """INSERT INTO hotline_orders (order_id, unit_code, topic, opened_at, due_at, closed_at,
                                          reopened, satisfaction, batch_id)
               VALUES (:id, coalesce((SELECT unit_code FROM units WHERE name = :unit LIMIT 1), :unit),
                       :topic, :opened,
                       coalesce(CAST(:due AS timestamptz), CAST(:opened AS timestamptz) + make_interval(days => :days)),
                       CASE WHEN :status = ANY(CAST(:closed AS text[])) THEN CAST(:opened AS timestamptz) END,
                       :reopened, :satisfaction, :batch)
               ON CONFLICT (order_id) DO NOTHING"""
        ),
        {
            "id": order.order_number,
            "unit": order.unit,
            "topic": order.category,
            "opened": order.received_at,
            "due": order.deadline,
            "days": DEFAULT_HOTLINE_DAYS,
            "status": order.status,
            "closed": list(CLOSED_STATUSES),
            "reopened": 1 if order.reopened else 0,
            "satisfaction": SATISFACTION.get(order.satisfaction or ""),
            "batch": HOTLINE_BATCH,
        },
    )


async def update_hotline_order(conn: AsyncConnection, update: HotlineOrderUpdated) -> None:
    """A later state of a 12345 order: closed, reopened, rated."""
    await conn.execute(
        text(
            """UPDATE hotline_orders SET
                   closed_at = CASE WHEN :status = ANY(CAST(:closed AS text[]))
                                    THEN coalesce(closed_at, :at) ELSE closed_at END,
                   reopened = coalesce(reopened, 0) + :reopened,
                   satisfaction = coalesce(CAST(:satisfaction AS integer), satisfaction)
               WHERE order_id = :id"""
        ),
        {
            "id": update.order_number,
            "status": update.status,
            "closed": list(CLOSED_STATUSES),
            "at": update.updated_at,
            "reopened": 1 if update.reopened else 0,
            "satisfaction": SATISFACTION.get(update.satisfaction or ""),
        },
    )
