"""What analysis does with other services' events.

- intake's ``ClueReceived``: its subjects join the subject index.
- casework's ``ClueRegistered`` for a clue made from an alert (source kind
  ``analysis_alert``, source reference = the alert id): the alert remembers its clue.
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

from libs.events.consumer import Handler, appending_handler, caused_by
from libs.events.contracts.analysis import AlertLinkedToCase
from libs.events.contracts.casework import CaseFiled, ClueRegistered
from libs.events.contracts.intake import (
    ClueReceived,
    HotlineOrderReceived,
    HotlineOrderUpdated,
)
from libs.events.envelope import Envelope
from libs.events.store import EventStore
from services.analysis.domain import note_subjects
from services.analysis.domain.alerts import alert_stream

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


def make_handler(store: EventStore) -> Handler:
    """One handler for every topic analysis subscribes to."""
    subjects = appending_handler(store, ClueReceived, note_subjects, actor="service:analysis")

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.type == ClueReceived.type_name:
            await subjects(conn, envelope)
        elif envelope.type == ClueRegistered.type_name:
            registered = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
            assert isinstance(registered, ClueRegistered)
            ref = _alert_ref(registered)
            await conn.execute(
                text("UPDATE alerts SET clue_id = :clue WHERE alert_id = :ref OR alert_id = :clue"),
                {"clue": registered.clue_id, "ref": ref or registered.clue_id},
            )
        elif envelope.type == HotlineOrderReceived.type_name:
            order = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
            assert isinstance(order, HotlineOrderReceived)
            await take_hotline_order(conn, order)
        elif envelope.type == HotlineOrderUpdated.type_name:
            update = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
            assert isinstance(update, HotlineOrderUpdated)
            await update_hotline_order(conn, update)
        elif envelope.type == CaseFiled.type_name:
            filed = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
            assert isinstance(filed, CaseFiled)
            await link_case(conn, store, filed, envelope)

    return handle


async def link_case(
    conn: AsyncConnection, store: EventStore, filed: CaseFiled, envelope: Envelope
) -> int:
    """Link every alert whose clue became this case; returns how many."""
    rows = (
        (
            await conn.execute(
                text(
                    """SELECT alert_id, clue_id, stream_version FROM alerts
                   WHERE (clue_id = ANY(CAST(:clues AS uuid[])) OR alert_id = ANY(CAST(:clues AS uuid[])))
                     AND case_id IS DISTINCT FROM :case
                   FOR UPDATE"""
                ),
                {"clues": [str(c) for c in filed.clue_ids], "case": filed.case_id},
            )
        )
        .mappings()
        .all()
    )
    meta = caused_by(envelope, "service:analysis")
    for r in rows:
        await store.append(
            alert_stream(r["alert_id"]),
            [
                AlertLinkedToCase(
                    alert_id=r["alert_id"],
                    clue_id=r["clue_id"],
                    case_id=filed.case_id,
                    case_number=filed.case_number,
                    linked_at=filed.filed_at,
                )
            ],
            expected_version=r["stream_version"],
            meta=meta,
            conn=conn,
        )
        await conn.execute(
            text(
                """UPDATE alerts SET case_id = :case, case_number = :no,
                       stream_version = stream_version + 1 WHERE alert_id = :id"""
            ),
            {"case": filed.case_id, "no": filed.case_number, "id": r["alert_id"]},
        )
    return len(rows)


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
