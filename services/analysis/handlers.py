"""What analysis does with other services' events.

- intake's ``ClueReceived``: its subjects join the subject index.
- casework's ``ClueRegistered`` for a clue made from an alert (source kind
  ``analysis_alert``, source reference = the alert id): the alert remembers its clue.
- casework's ``CaseFiled``: every alert whose clue became the case links to it
  (``AlertLinkedToCase``), so the board shows which alerts became cases.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.consumer import Handler, appending_handler
from libs.events.contracts.analysis import AlertLinkedToCase
from libs.events.contracts.casework import CaseFiled, ClueRegistered
from libs.events.contracts.intake import ClueReceived
from libs.events.envelope import Envelope
from libs.events.store import EventStore, Metadata
from services.analysis.domain import note_subjects
from services.analysis.domain.alerts import alert_stream

ALERT_SOURCE_KINDS = ("analysis_alert", "analysis")


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
    meta = Metadata(
        actor="service:analysis",
        correlation_id=envelope.correlationid,
        causation_id=str(envelope.id),
    )
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
