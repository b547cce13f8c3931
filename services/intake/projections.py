"""Intake's read models: the transfers a partner can follow up, the clerks' desk."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from typing import Any

from sqlalchemy import Executable, Result, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionDesignated,
    ClueJurisdictionUndetermined,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
    ClueMerged,
    ClueProgressNoted,
    ClueReceived,
    ClueSplit,
    ClueTakenUp,
    ForwardingOverdue,
    PersonalDataShredded,
    ReportAcknowledged,
    ReportAcknowledgementOverdue,
    ReportedPerson,
    ReportReceived,
)
from libs.events.dispatch import Dispatch, ProjectionDispatch
from libs.events.projections import Writes
from libs.events.store import Recorded
from services.intake.domain.desk import HandlerEntry, handler_entries
from services.intake.domain.progress import SourceView, evolve

_TRANSFER_ROW = text(
    """INSERT INTO transfers (clue_id, clue_number, department, reference, status,
                              categories, received_at, position, updated_at)
       VALUES (:id, :no, :dept, :ref, :status, :cats, :at, :pos, :upd)
       ON CONFLICT (clue_id) DO NOTHING"""
)
_TRANSFER_SPLIT = text(
    """UPDATE transfers SET status = 'received', updated_at = :at
       WHERE clue_id = :id AND status = 'merged'"""
)
_TRANSFER_VIEW = text("SELECT status, outcome FROM transfers WHERE clue_id = :id FOR UPDATE")
_TRANSFER_PROGRESS = text(
    "UPDATE transfers SET status = :st, outcome = :o, updated_at = :at WHERE clue_id = :id"
)
_Apply = Dispatch[[Writes, Recorded], Awaitable[None]]
_TRANSFERS: _Apply = Dispatch()


async def _in_order(dispatch: _Apply, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
    """Apply a batch event by event, its writes sent in runs (``Writes``)."""
    writes = Writes(conn)
    for recorded in batch:
        fn = dispatch.get(recorded.envelope.type)
        if fn is not None:
            await fn(recorded.event, writes, recorded)
    await writes.flush()


class TransfersProjection:
    """One row per transferred clue, with the status and outcome a partner may see."""

    name = "transfers"
    tables = ("transfers",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """A received clue starts as ``received``; casework's progress moves it on."""
        await self.apply_batch(conn, [recorded])

    async def apply_batch(self, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
        """Apply a batch in commit order (the clues received in a row: one statement)."""
        await _in_order(_TRANSFERS, conn, batch)


@_TRANSFERS.on(ClueReceived)
async def _transfer_received(event: ClueReceived, writes: Writes, recorded: Recorded) -> None:
    await writes.write(
        _TRANSFER_ROW,
        {
            "id": event.clue_id,
            "no": event.clue_number,
            "dept": event.source_department,
            "ref": event.source_reference,
            "status": "received",
            "cats": event.categories,
            "at": event.received_at,
            "pos": recorded.checkpoint.position,
            "upd": event.received_at,
        },
    )


@_TRANSFERS.on(ClueMerged)
async def _transfer_merged(event: ClueMerged, writes: Writes, recorded: Recorded) -> None:
    # A repeat report (重复件) is listed under its own id and number, as merged.
    await writes.write(
        _TRANSFER_ROW,
        {
            "id": event.repeat_id,
            "no": event.repeat_number,
            "dept": event.source_department,
            "ref": event.source_reference,
            "status": "merged",
            "cats": event.categories,
            "at": event.received_at or event.merged_at,
            "pos": recorded.checkpoint.position,
            "upd": event.merged_at,
        },
    )


@_TRANSFERS.on(ClueSplit)
async def _transfer_split(event: ClueSplit, writes: Writes, recorded: Recorded) -> None:
    await writes.write(_TRANSFER_SPLIT, {"id": event.new_clue_id, "at": event.split_at})


@_TRANSFERS.on(ClueProgressNoted, ClueForwarded, ClueTakenUp, ClueJurisdictionDesignated)
async def _transfer_progress(
    event: ClueProgressNoted | ClueForwarded | ClueTakenUp | ClueJurisdictionDesignated,
    writes: Writes,
    recorded: Recorded,
) -> None:
    if isinstance(event, ClueJurisdictionDesignated) and event.here:
        return  # designated to this commission: nothing the source sees changes
    row = (await writes.read(_TRANSFER_VIEW, {"id": event.clue_id})).first()
    if row is None:
        return
    view = evolve(SourceView(status=row.status, outcome=row.outcome), event)
    await writes.write(
        _TRANSFER_PROGRESS,
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


_DEADLINES: _Apply = Dispatch()


class IntakeDeadlinesProjection:
    """Intake's open limits (转办, 受理告知): what the deadline scheduler looks at."""

    name = "intake_deadlines"
    tables: Sequence[str] = ("intake_deadlines",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Open a limit when it is set, close it when it is met, note overdue notices."""
        await self.apply_batch(conn, [recorded])

    async def apply_batch(self, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
        """Apply a batch in commit order (limits opened in a row: one statement)."""
        await _in_order(_DEADLINES, conn, batch)


@_DEADLINES.on(ClueMarkedForForwarding, ClueJurisdictionUndetermined)
async def _forwarding_due(
    e: ClueMarkedForForwarding | ClueJurisdictionUndetermined,
    writes: Writes,
    recorded: Recorded,
) -> None:
    due = e.forward_by if isinstance(e, ClueMarkedForForwarding) else e.decide_by
    await writes.write(
        _OPEN, {"id": e.clue_id, "kind": "forwarding", "no": e.clue_number, "due": due}
    )


@_DEADLINES.on(ClueKeptInJurisdiction, ClueForwarded, ClueTakenUp, ClueJurisdictionDesignated)
async def _forwarding_met(
    e: ClueKeptInJurisdiction | ClueForwarded | ClueTakenUp | ClueJurisdictionDesignated,
    writes: Writes,
    recorded: Recorded,
) -> None:
    await writes.write(_CLOSE, {"id": e.clue_id, "kind": "forwarding"})


@_DEADLINES.on(ReportReceived)
async def _acknowledgement_due(e: ReportReceived, writes: Writes, recorded: Recorded) -> None:
    if e.acknowledge_by is not None:
        await writes.write(
            _OPEN, {"id": e.clue_id, "kind": "acknowledgement", "no": None, "due": e.acknowledge_by}
        )


@_DEADLINES.on(ReportAcknowledged)
async def _acknowledgement_met(e: ReportAcknowledged, writes: Writes, recorded: Recorded) -> None:
    await writes.write(_CLOSE, {"id": e.clue_id, "kind": "acknowledgement"})


@_DEADLINES.on(ForwardingOverdue, ReportAcknowledgementOverdue)
async def _overdue_noticed(
    e: ForwardingOverdue | ReportAcknowledgementOverdue, writes: Writes, recorded: Recorded
) -> None:
    kind = "forwarding" if isinstance(e, ForwardingOverdue) else "acknowledgement"
    await writes.write(
        _NOTICED, {"id": e.clue_id, "kind": kind, "due": e.due, "to": e.escalated_to}
    )


class ShreddedPersonsForgotten:
    """个人信息销毁, for duplicates: a shredded person's blind indexes leave the lookup
    (``clue_subjects``), as they leave the vault, so later reports are never matched to
    them. The table itself is written with each clue (``services/intake/service/repeats.py``):
    this projection only deletes, and owns no table a rebuild would empty."""

    name = "shredded_persons_forgotten"
    tables: Sequence[str] = ()

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Forget the person of a ``PersonalDataShredded``."""
        await _FORGET.apply(conn, recorded)


_FORGET = ProjectionDispatch()


@_FORGET.on(PersonalDataShredded)
async def _forget(e: PersonalDataShredded, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(text("DELETE FROM clue_subjects WHERE person_ref = :p"), {"p": e.person_ref})


def _masked(persons: list[ReportedPerson]) -> str:
    # Masked names only: v1/v2 events still carry plain names, so mask again here.
    return json.dumps(
        [
            {
                "name": pii.mask_name(p.name),
                "unit": p.unit,
                "post": p.post,
                "rank": p.rank,
                "top_leader": p.top_leader,
                "key_minority": p.key_minority,
            }
            for p in persons
        ],
        ensure_ascii=False,
    )


# A clue's row that is there already: its fields as now written, but never touched
# earlier than it was, and every person it ever named kept.
_DESK_ROW_AGAIN = """
       ON CONFLICT (clue_id) DO UPDATE SET
           clue_number = excluded.clue_number, source_kind = excluded.source_kind,
           source_department = excluded.source_department,
           source_reference = excluded.source_reference, categories = excluded.categories,
           units = excluded.units, persons = excluded.persons, urgency = excluded.urgency,
           status = excluded.status,
           status_updated_at = excluded.status_updated_at, merged_into = excluded.merged_into,
           last_touched_at = GREATEST(clue_desk.last_touched_at, excluded.last_touched_at),
           person_refs = ARRAY(SELECT DISTINCT unnest(clue_desk.person_refs
                                                      || excluded.person_refs))"""
_DESK_ROW = text(
    """INSERT INTO clue_desk (clue_id, clue_number, source_kind, source_department,
                              source_reference, categories, units, persons, urgency,
                              received_at, status, status_updated_at, merged_into,
                              last_touched_at, position, person_refs)
       VALUES (:id, :no, :kind, :dept, :ref, :cats, :units, CAST(:persons AS jsonb), :urg,
               :at, :status, :at, :into, :touched, :pos, CAST(:refs AS uuid[]))"""
    + _DESK_ROW_AGAIN
)
# One round trip per ledger entry: the entry, and the clue's row touched by it.
_ENTRY = text(
    """WITH entry AS (
           INSERT INTO clue_handlers (clue_id, event_id, position, action, actor, at, detail)
           VALUES (:clue, :event, :pos, :action, :actor, :at, CAST(:detail AS jsonb))
           ON CONFLICT DO NOTHING)
       UPDATE clue_desk SET last_touched_at = GREATEST(last_touched_at, :at)
       WHERE clue_id = :clue"""
)


# A new clue's row as its first write: the row and, folded into it, what the events of
# its receipt that follow in the batch set (its jurisdiction, a report's reporter, when it
# was last touched) — one row written, not written and then updated once per event.
_NEW_ROW = text(
    """INSERT INTO clue_desk (clue_id, clue_number, source_kind, source_department,
                              source_reference, categories, units, persons, urgency,
                              received_at, status, status_updated_at, merged_into,
                              last_touched_at, position, person_refs, jurisdiction,
                              forward_by, anonymous, acknowledge_by)
       VALUES (:id, :no, :kind, :dept, :ref, :cats, :units, CAST(:persons AS jsonb), :urg,
               :at, :status, :at, :into, :touched, :pos, CAST(:refs AS uuid[]), :j, :by,
               :anon, :ack_by)"""
    + _DESK_ROW_AGAIN
)
# (A row there already is one a merge made, which the history check rules out; were it
# there, it is updated as ``_DESK_ROW`` does rather than stopping the projection.)
_NEW_ENTRY = text(
    """INSERT INTO clue_handlers (clue_id, event_id, position, action, actor, at, detail)
       VALUES (:clue, :event, :pos, :action, :actor, :at, CAST(:detail AS jsonb))
       ON CONFLICT DO NOTHING"""
)


_Entries = list[HandlerEntry]


class _DeskWrites(Writes):
    """The desk's writes over a batch, and which clues have a history as a repeat report
    (merged into another, split off): known before the batch, or written in it.

    A clue received with no such history has no row yet: its row is held back (``new``)
    while the events after it in the batch only set its fields and add ledger entries, and
    goes as one insert with them when anything else is written or read (or the batch
    ends) — what the row would be after its insert and their updates, in one write."""

    def __init__(self, conn: AsyncConnection, split_off: set[Any]) -> None:
        super().__init__(conn)
        self.split_off = split_off
        self.new: dict[Any, dict[str, Any]] = {}
        """Rows of clues received in this batch, not sent yet, by clue id."""
        self._new_entries: list[dict[str, Any]] = []
        """Ledger entries of those clues, not sent yet."""

    def hold_new(self, params: dict[str, Any]) -> None:
        """Hold a new clue's row back until something else is written or read."""
        self.new[params["id"]] = params

    def touch_new(self, entry: dict[str, Any]) -> bool:
        """Add a ledger entry of a clue whose row is held back (its ``last_touched_at``
        moved in the row); False when its row is not held back."""
        row = self.new.get(entry["clue"])
        if row is None:
            return False
        # GREATEST in SQL: the later of the two, a NULL ignored.
        if entry["at"] is not None and (row["touched"] is None or entry["at"] > row["touched"]):
            row["touched"] = entry["at"]
        self._new_entries.append(entry)
        return True

    async def write(self, statement: Executable, params: dict[str, Any]) -> None:
        """Any other write goes after the rows held back (event order kept)."""
        await self._send_new()
        await super().write(statement, params)

    async def read(self, statement: Executable, params: dict[str, Any]) -> Result[Any]:
        """A read sees the rows held back."""
        await self._send_new()
        return await super().read(statement, params)

    async def flush(self) -> None:
        """Send the writes not sent yet, the rows held back after the writes before them."""
        await super().flush()
        await self._send_new()

    async def _send_new(self) -> None:
        if self.new:
            await super().flush()  # the writes before the held rows go first
            rows, entries = list(self.new.values()), self._new_entries
            self.new, self._new_entries = {}, []
            await self.conn.execute(_NEW_ROW, rows)
            if entries:
                await self.conn.execute(_NEW_ENTRY, entries)


_DESK: Dispatch[[_DeskWrites, Recorded], Awaitable[_Entries]] = Dispatch()
"""Per event type: keep the clue's row, and say which ledger entries the event adds."""
_REPEAT_HISTORY = ("merged_into", "split_off")


class ClueDeskProjection:
    """信访室台账: every clue intake holds, as clerks list and filter it, and the handler
    ledger of each (every person or system that touched it, in order)."""

    name = "clue_desk"
    tables = ("clue_desk", "clue_handlers")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Keep the clue's row and add the event's ledger entries."""
        await self.apply_batch(conn, [recorded])

    async def apply_batch(self, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
        """Apply a batch in commit order, its writes sent in runs (``Writes``)."""
        received = [r.event.clue_id for r in batch if r.envelope.type == ClueReceived.type_name]
        split_off: set[Any] = set()
        if received:  # one look for the batch's received clues, not one each
            rows = await conn.execute(_SPLIT_OFF, {"ids": received})
            split_off = {row.clue_id for row in rows}
        writes = _DeskWrites(conn, split_off)
        for recorded in batch:
            event = recorded.event
            keep_row = _DESK.get(recorded.envelope.type)
            if keep_row is not None:
                entries = await keep_row(event, writes, recorded)
            else:
                entries = _entries(event, recorded)
            for entry in entries:
                if entry.action in _REPEAT_HISTORY:
                    split_off.add(entry.clue_id)
                params = {
                    "clue": entry.clue_id,
                    "event": recorded.envelope.id,
                    "pos": recorded.checkpoint.position,
                    "action": entry.action,
                    "actor": entry.actor,
                    "at": entry.at,
                    "detail": json.dumps(entry.detail, ensure_ascii=False, default=str),
                }
                if not writes.touch_new(params):
                    await writes.write(_ENTRY, params)
        await writes.flush()


def _entries(event: Event, recorded: Recorded) -> _Entries:
    return handler_entries(event, recorded.envelope.actor, recorded.envelope.time)


_SPLIT_OFF = text(
    """SELECT DISTINCT clue_id FROM clue_handlers
       WHERE clue_id = ANY(CAST(:ids AS uuid[])) AND action IN ('merged_into', 'split_off')"""
)
_REPEAT_COUNT = text(
    """UPDATE clue_desk SET repeat_count = :n, last_touched_at = GREATEST(last_touched_at, :at)
       WHERE clue_id = :id"""
)
_DESK_SPLIT = text(
    """UPDATE clue_desk SET status = 'received', merged_into = NULL,
           clue_number = :no, status_updated_at = :at
       WHERE clue_id = :id AND status = 'merged'"""
)
_DESK_FORWARDED = text(
    "UPDATE clue_desk SET jurisdiction = 'forwarded', forwarded_to = :to WHERE clue_id = :id"
)
_DESK_VIEW = text("SELECT status, outcome FROM clue_desk WHERE clue_id = :id FOR UPDATE")
_DESK_PROGRESS = text(
    """UPDATE clue_desk SET status = :st, outcome = :o, status_updated_at = :at
       WHERE clue_id = :id"""
)
_DESK_FORWARDING_DUE = text(
    """UPDATE clue_desk SET jurisdiction = :j, forward_by = :by
       WHERE clue_id = :id AND jurisdiction <> 'forwarded'"""
)
_DESK_KEPT = text(
    """UPDATE clue_desk SET jurisdiction = 'kept', forward_by = NULL
       WHERE clue_id = :id AND jurisdiction <> 'forwarded'"""
)
_DESK_HIGHER = text(
    """UPDATE clue_desk SET jurisdiction = :j, forwarded_to = :to, forward_by = NULL
       WHERE clue_id = :id"""
)
_DESK_REPORT = text(
    """UPDATE clue_desk SET anonymous = :anon, acknowledge_by = :by,
           person_refs = array_append(person_refs, :ref)
       WHERE clue_id = :id"""
)
_DESK_ACKNOWLEDGED = text(
    """UPDATE clue_desk SET acknowledged_at = COALESCE(acknowledged_at, :at)
       WHERE clue_id = :id"""
)


@_DESK.on(ClueReceived)
async def _desk_received(event: ClueReceived, writes: _DeskWrites, recorded: Recorded) -> _Entries:
    # A repeat report split off into a clue of its own already has its history
    # (merged, split); its ClueReceived is not a second submission.
    if event.clue_id in writes.split_off:
        await _upsert(writes, recorded, event.clue_id, event.clue_number, event, status="received")
        return []
    # No history as a repeat report: the clue has no row yet (only a merge makes one first).
    row = _row(recorded, event.clue_id, event.clue_number, event, status="received")
    writes.hold_new({**row, "j": "in_jurisdiction", "by": None, "anon": None, "ack_by": None})
    return _entries(event, recorded)


@_DESK.on(ClueMerged)
async def _desk_merged(event: ClueMerged, writes: Writes, recorded: Recorded) -> _Entries:
    await writes.write(
        _REPEAT_COUNT, {"n": event.repeat_count, "at": event.merged_at, "id": event.clue_id}
    )
    # The repeat report is listed too, under its own id and number, as merged.
    await _upsert(
        writes,
        recorded,
        event.repeat_id,
        event.repeat_number,
        event,
        status="merged",
        merged_into=event.clue_id,
    )
    return _entries(event, recorded)


@_DESK.on(ClueSplit)
async def _desk_split(event: ClueSplit, writes: Writes, recorded: Recorded) -> _Entries:
    await writes.write(
        _REPEAT_COUNT, {"n": event.repeat_count, "at": event.split_at, "id": event.clue_id}
    )
    await writes.write(
        _DESK_SPLIT, {"id": event.new_clue_id, "no": event.new_clue_number, "at": event.split_at}
    )
    return _entries(event, recorded)


@_DESK.on(ClueProgressNoted, ClueForwarded)
async def _desk_progress(
    event: ClueProgressNoted | ClueForwarded, writes: Writes, recorded: Recorded
) -> _Entries:
    if isinstance(event, ClueForwarded):
        await writes.write(_DESK_FORWARDED, {"to": event.authority, "id": event.clue_id})
    row = (await writes.read(_DESK_VIEW, {"id": event.clue_id})).first()
    if row is not None:
        view = evolve(SourceView(status=row.status, outcome=row.outcome), event)
        await writes.write(
            _DESK_PROGRESS,
            {"st": view.status, "o": view.outcome, "at": view.updated_at, "id": event.clue_id},
        )
    return _entries(event, recorded)


@_DESK.on(ClueMarkedForForwarding, ClueJurisdictionUndetermined)
async def _desk_forwarding_due(
    event: ClueMarkedForForwarding | ClueJurisdictionUndetermined,
    writes: _DeskWrites,
    recorded: Recorded,
) -> _Entries:
    marked = isinstance(event, ClueMarkedForForwarding)
    due = event.forward_by if isinstance(event, ClueMarkedForForwarding) else event.decide_by
    j = "marked" if marked else "undetermined"
    if (row := writes.new.get(event.clue_id)) is not None:
        if row["j"] != "forwarded":
            row.update(j=j, by=due)
    else:
        await writes.write(_DESK_FORWARDING_DUE, {"j": j, "by": due, "id": event.clue_id})
    return _entries(event, recorded)


@_DESK.on(ClueKeptInJurisdiction)
async def _desk_kept(
    event: ClueKeptInJurisdiction, writes: _DeskWrites, recorded: Recorded
) -> _Entries:
    if (row := writes.new.get(event.clue_id)) is not None:
        if row["j"] != "forwarded":
            row.update(j="kept", by=None)
    else:
        await writes.write(_DESK_KEPT, {"id": event.clue_id})
    return _entries(event, recorded)


@_DESK.on(ClueTakenUp, ClueJurisdictionDesignated)
async def _desk_higher_decision(
    event: ClueTakenUp | ClueJurisdictionDesignated, writes: Writes, recorded: Recorded
) -> _Entries:
    # 提级办理 / 指定管辖: the clue leaves for the higher or designated body, or stays here.
    if isinstance(event, ClueTakenUp):
        state, to = "taken_up", event.authority
    elif event.here:
        state, to = "designated_here", None
    else:
        state, to = "designated_away", event.designated_to
    await writes.write(_DESK_HIGHER, {"j": state, "to": to, "id": event.clue_id})
    row = (await writes.read(_DESK_VIEW, {"id": event.clue_id})).first()
    if row is not None and to is not None:  # it left: the source's view says where
        view = evolve(SourceView(status=row.status, outcome=row.outcome), event)
        await writes.write(
            _DESK_PROGRESS,
            {"st": view.status, "o": view.outcome, "at": view.updated_at, "id": event.clue_id},
        )
    return _entries(event, recorded)


@_DESK.on(ReportReceived)
async def _desk_report(event: ReportReceived, writes: _DeskWrites, recorded: Recorded) -> _Entries:
    if (row := writes.new.get(event.clue_id)) is not None:
        row.update(anon=event.anonymous, ack_by=event.acknowledge_by)
        row["refs"] = [*row["refs"], event.reporter_ref]  # array_append: a NULL too
        return _entries(event, recorded)
    await writes.write(
        _DESK_REPORT,
        {
            "anon": event.anonymous,
            "by": event.acknowledge_by,
            "ref": event.reporter_ref,
            "id": event.clue_id,
        },
    )
    return _entries(event, recorded)


@_DESK.on(PersonalDataShredded)
async def _desk_shredded(
    event: PersonalDataShredded, writes: Writes, recorded: Recorded
) -> _Entries:
    # Destroying a person's key touches every clue that holds their data.
    clues = await writes.read(
        text("SELECT clue_id FROM clue_desk WHERE :ref = ANY(person_refs)"),
        {"ref": event.person_ref},
    )
    return [
        HandlerEntry(
            row.clue_id,
            "personal_data_shredded",
            event.shredded_by,
            event.shredded_at,
            {"person_ref": str(event.person_ref), "reason": event.reason},
        )
        for row in clues
    ]


@_DESK.on(ReportAcknowledged)
async def _desk_acknowledged(
    event: ReportAcknowledged, writes: Writes, recorded: Recorded
) -> _Entries:
    await writes.write(_DESK_ACKNOWLEDGED, {"at": event.acknowledged_at, "id": event.clue_id})
    return _entries(event, recorded)


async def _upsert(
    writes: Writes,
    recorded: Recorded,
    clue_id: Any,
    clue_number: str,
    event: ClueReceived | ClueMerged,
    *,
    status: str,
    merged_into: Any = None,
) -> None:
    await writes.write(
        _DESK_ROW,
        _row(recorded, clue_id, clue_number, event, status=status, merged_into=merged_into),
    )


def _row(
    recorded: Recorded,
    clue_id: Any,
    clue_number: str,
    event: ClueReceived | ClueMerged,
    *,
    status: str,
    merged_into: Any = None,
) -> dict[str, Any]:
    persons = event.reported_persons
    urgency = event.urgency or "normal"
    received_at = (
        event.received_at
        if isinstance(event, ClueReceived)
        else event.received_at or event.merged_at
    )
    return {
        "id": clue_id,
        "no": clue_number,
        "kind": event.source_kind,
        "dept": event.source_department,
        "ref": event.source_reference,
        "cats": event.categories,
        "units": sorted({p.unit for p in persons}),
        "persons": _masked(persons),
        "urg": urgency,
        "at": received_at,
        "status": status,
        "into": merged_into,
        "touched": received_at,
        "pos": recorded.checkpoint.position,
        "refs": [p.person_ref for p in persons if p.person_ref is not None],
    }
