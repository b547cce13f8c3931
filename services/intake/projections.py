"""Intake's read models: the transfers a partner can follow up."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionUndetermined,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
    ClueMerged,
    ClueProgressNoted,
    ClueReceived,
    ClueSplit,
    ForwardingOverdue,
    PersonalDataShredded,
    ReportAcknowledged,
    ReportAcknowledgementOverdue,
    ReportReceived,
)
from libs.events.store import Recorded
from services.intake.domain.progress import SourceView, evolve


class TransfersProjection:
    """One row per transferred clue, with the status and outcome a partner may see."""

    name = "transfers"
    tables = ("transfers",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """A received clue starts as ``received``; casework's progress moves it on."""
        event = recorded.event
        if isinstance(event, ClueReceived):
            await conn.execute(
                text(
                    """INSERT INTO transfers (clue_id, clue_number, department, reference, status,
                                              categories, received_at, position, updated_at)
                       VALUES (:id, :no, :dept, :ref, 'received', :cats, :at, :pos, :at)
                       ON CONFLICT (clue_id) DO NOTHING"""
                ),
                {
                    "id": event.clue_id,
                    "no": event.clue_number,
                    "dept": event.source_department,
                    "ref": event.source_reference,
                    "cats": event.categories,
                    "at": event.received_at,
                    "pos": recorded.checkpoint.position,
                },
            )
        elif isinstance(event, ClueMerged):
            # A repeat report (重复件) is listed under its own id and number, as merged.
            await conn.execute(
                text(
                    """INSERT INTO transfers (clue_id, clue_number, department, reference, status,
                                              categories, received_at, position, updated_at)
                       VALUES (:id, :no, :dept, :ref, 'merged', :cats, :at, :pos, :upd)
                       ON CONFLICT (clue_id) DO NOTHING"""
                ),
                {
                    "id": event.repeat_id,
                    "no": event.repeat_number,
                    "dept": event.source_department,
                    "ref": event.source_reference,
                    "cats": event.categories,
                    "at": event.received_at or event.merged_at,
                    "pos": recorded.checkpoint.position,
                    "upd": event.merged_at,
                },
            )
        elif isinstance(event, ClueSplit):
            await conn.execute(
                text(
                    """UPDATE transfers SET status = 'received', updated_at = :at
                       WHERE clue_id = :id AND status = 'merged'"""
                ),
                {"id": event.new_clue_id, "at": event.split_at},
            )
        elif isinstance(event, ClueProgressNoted | ClueForwarded):
            row = (
                await conn.execute(
                    text("SELECT status, outcome FROM transfers WHERE clue_id = :id FOR UPDATE"),
                    {"id": event.clue_id},
                )
            ).first()
            if row is None:
                return
            view = evolve(SourceView(status=row.status, outcome=row.outcome), event)
            await conn.execute(
                text(
                    """UPDATE transfers SET status = :st, outcome = :o, updated_at = :at
                       WHERE clue_id = :id"""
                ),
                {"st": view.status, "o": view.outcome, "at": view.updated_at, "id": event.clue_id},
            )


_OPEN = text(
    """INSERT INTO intake_deadlines (clue_id, kind, clue_number, due, open)
       VALUES (:id, :kind, :no, :due, true)
       ON CONFLICT (clue_id, kind) DO UPDATE SET
           due = excluded.due, open = true, clue_number = COALESCE(excluded.clue_number,
           intake_deadlines.clue_number),
           overdue_noticed = intake_deadlines.overdue_noticed
               AND intake_deadlines.due = excluded.due"""
)
_CLOSE = text("UPDATE intake_deadlines SET open = false WHERE clue_id = :id AND kind = :kind")
_NOTICED = text(
    """UPDATE intake_deadlines SET overdue_noticed = true, escalated_to = :to
       WHERE clue_id = :id AND kind = :kind AND due = :due"""
)


class IntakeDeadlinesProjection:
    """Intake's open limits (转办, 受理告知): what the deadline scheduler looks at."""

    name = "intake_deadlines"
    tables: Sequence[str] = ("intake_deadlines",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Open a limit when it is set, close it when it is met, note overdue notices."""
        e = recorded.event
        if isinstance(e, ClueMarkedForForwarding | ClueJurisdictionUndetermined):
            due = e.forward_by if isinstance(e, ClueMarkedForForwarding) else e.decide_by
            await conn.execute(
                _OPEN, {"id": e.clue_id, "kind": "forwarding", "no": e.clue_number, "due": due}
            )
        elif isinstance(e, ClueKeptInJurisdiction | ClueForwarded):
            await conn.execute(_CLOSE, {"id": e.clue_id, "kind": "forwarding"})
        elif isinstance(e, ReportReceived) and e.acknowledge_by is not None:
            await conn.execute(
                _OPEN,
                {"id": e.clue_id, "kind": "acknowledgement", "no": None, "due": e.acknowledge_by},
            )
        elif isinstance(e, ReportAcknowledged):
            await conn.execute(_CLOSE, {"id": e.clue_id, "kind": "acknowledgement"})
        elif isinstance(e, ForwardingOverdue | ReportAcknowledgementOverdue):
            kind = "forwarding" if isinstance(e, ForwardingOverdue) else "acknowledgement"
            await conn.execute(
                _NOTICED, {"id": e.clue_id, "kind": kind, "due": e.due, "to": e.escalated_to}
            )


class ShreddedPersonsForgotten:
    """个人信息销毁, for duplicates: a shredded person's blind indexes leave the lookup
    (``clue_subjects``), as they leave the vault, so later reports are never matched to
    them. The table itself is written with each clue (``services/intake/repeats.py``):
    this projection only deletes, and owns no table a rebuild would empty."""

    name = "shredded_persons_forgotten"
    tables: Sequence[str] = ()

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Forget the person of a ``PersonalDataShredded``."""
        if isinstance(recorded.event, PersonalDataShredded):
            await conn.execute(
                text("DELETE FROM clue_subjects WHERE person_ref = :p"),
                {"p": recorded.event.person_ref},
            )
