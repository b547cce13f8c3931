"""Casework's read models: the clue ledger and the case register (案件台账)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.casework import CaseTransitioned, RepeatReportNoted, RepeatReportSplit
from libs.events.dispatch import Dispatch
from libs.events.store import Recorded
from libs.kit.approvals.inbox import InboxProjection
from libs.kit.db import execute_many, fetch
from services.casework.domain import (
    CaseState,
    ClueRegistered,
    Rules,
    evolve,
    load_rules,
    open_deadlines,
)


class ClueLedgerProjection:
    """线索台账: one row per clue with its current status and repeat reports (重复件).

    A batch is applied in at most three statements (each sent once with all its rows)
    instead of one round trip per event, with the answers of applying its events one at
    a time: a registration inserts the clue unless it is already there; a transition sets
    the status, a repeat report the count and priority, each with the version, of a clue
    that is there. So per clue, the changes before its first registration in the batch
    patch a row that was already there, the registration inserts one that was not, and
    the changes after it patch that; each patch leaves every column as its last setter did.
    """

    name = "clue_ledger"
    tables: Sequence[str] = ("clue_ledger",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add a registered clue to the ledger; follow its status and repeat reports."""
        await self.apply_batch(conn, [recorded])

    async def apply_batch(self, conn: AsyncConnection, batch: Sequence[Recorded]) -> None:
        """Apply a batch of events in commit order (see the class)."""
        before: dict[UUID, dict[str, Any]] = {}
        new: dict[UUID, dict[str, Any]] = {}
        after: dict[UUID, dict[str, Any]] = {}
        for recorded in batch:
            kind = recorded.envelope.type  # decode only the types the ledger uses
            if kind == ClueRegistered.type_name:
                r = recorded.event
                assert isinstance(r, ClueRegistered)
                if r.clue_id not in new:
                    new[r.clue_id] = _ledger_row(recorded, r)
                continue
            if kind not in _CHANGES:
                continue
            change = _CHANGES(recorded.event)
            assert change is not None
            case_id = change.pop("id")
            patches = after if case_id in new else before
            patch = patches.setdefault(case_id, {**_NO_PATCH, "id": case_id})
            patch.update(change, v=recorded.version)
        for statement, rows in ((_PATCH, before), (_INSERT_CLUE, new), (_PATCH, after)):
            if rows:
                await execute_many(conn, statement, list(rows.values()))


def _ledger_row(recorded: Recorded, e: ClueRegistered) -> dict[str, Any]:
    return {
        "id": e.clue_id,
        "no": e.clue_number,
        "st": e.status,
        "sk": e.source_kind,
        "sd": e.source_department,
        "sr": e.source_reference,
        "rp": json.dumps(
            [p.model_dump(mode="json") for p in e.reported_persons], ensure_ascii=False
        ),
        "cats": e.categories,
        "nar": e.narrative,
        "rcv": e.received_at,
        "reg": recorded.envelope.time,
        "v": recorded.version,
    }


_CHANGES: Dispatch[[], dict[str, Any]] = Dispatch()
"""Per event type: the clue (``id``) and the columns the event sets."""


@_CHANGES.on(CaseTransitioned)
def _status(e: CaseTransitioned) -> dict[str, Any]:
    return {"id": e.case_id, "set_st": True, "st": e.to_status}


@_CHANGES.on(RepeatReportNoted, RepeatReportSplit)
def _repeat_count(e: RepeatReportNoted | RepeatReportSplit) -> dict[str, Any]:
    return {"id": e.case_id, "set_rc": True, "n": e.repeat_count, "p": e.priority}


# Each event sets some columns and the version; a clue's events of one batch (before or
# after its registration) merge into one patch: each column as its last setter left it.
_NO_PATCH: dict[str, Any] = {"set_st": False, "st": None, "set_rc": False, "n": None, "p": None}
_PATCH = text(
    """UPDATE clue_ledger SET
           status = CASE WHEN :set_st THEN CAST(:st AS text) ELSE status END,
           repeat_count = CASE WHEN :set_rc THEN CAST(:n AS integer) ELSE repeat_count END,
           priority = CASE WHEN :set_rc THEN CAST(:p AS text) ELSE priority END,
           version = :v
       WHERE clue_id = :id"""
)
_INSERT_CLUE = text(
    """INSERT INTO clue_ledger (clue_id, clue_number, status, source_kind, source_department,
           source_reference, reported_persons, categories, narrative, received_at,
           registered_at, version)
       VALUES (:id, :no, :st, :sk, :sd, :sr, CAST(:rp AS jsonb), :cats, :nar, :rcv, :reg, :v)
       ON CONFLICT (clue_id) DO NOTHING"""
)


def next_notice(state: CaseState, rules: Rules) -> date | None:
    """The first day the deadline scheduler may have something to say about this matter."""
    days: list[date] = []
    window = rules.limits.approaching.amount
    for d in open_deadlines(state).values():
        if not d.approaching_noticed and not d.overdue_noticed:
            days.append(min(rules.calendar.add_workdays(d.due, -window), d.due) - timedelta(days=1))
        elif not d.overdue_noticed:
            days.append(d.due + timedelta(days=1))
    return min(days) if days else None


def row_of(state: CaseState, rules: Rules) -> dict[str, Any]:
    """The register's columns for a state."""
    person = state.reported_persons[0] if state.reported_persons else None
    subject = state.subject
    return {
        "id": state.case_id,
        "clue_number": state.clue_number,
        "case_number": state.case_number,
        "status": state.status.value,
        "categories": list(state.categories),
        "unit": subject.unit if subject else (person.unit if person else None),
        "department": state.department,
        "officer": state.officer,
        "supervisor": state.supervisor,
        "leader": state.leader,
        "subject_name": subject.name if subject else (person.name if person else None),
        "supervised": state.supervision is not None or state.leader is not None,
        "overdue": state.overdue,
        "next_notice": next_notice(state, rules),
        "version": state.version,
        "state": json.dumps(state.model_dump(mode="json"), ensure_ascii=False),
    }


class CaseRegisterProjection:
    """案件台账: each matter's current state, folded by ``evolve`` from its stream."""

    name = "case_register"
    tables: Sequence[str] = ("cases",)

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or load_rules()

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Fold one event of a matter's stream into its row."""
        await self.apply_batch(conn, [recorded])

    async def apply_batch(self, conn: AsyncConnection, batch: list[Recorded]) -> None:
        """Fold a batch: each touched row is read once and written once."""
        mine = [r for r in batch if r.stream_id.startswith("clue-")]
        if not mine:
            return
        ids = sorted({r.stream_id.removeprefix("clue-") for r in mine})
        rows = await fetch(conn, _STATES, {"ids": ids})
        states = {cid: CaseState.model_validate(raw) for cid, raw in rows}
        touched: dict[str, datetime] = {}
        for recorded in mine:
            cid = recorded.stream_id.removeprefix("clue-")
            state = states.get(cid) or CaseState()
            if state.version >= recorded.version:
                continue
            states[cid] = evolve(state, recorded.event)
            touched[cid] = recorded.envelope.time
        params = [
            {**row_of(states[cid], self.rules), "at": at}
            for cid, at in touched.items()
            if states[cid].case_id is not None
        ]
        if params:
            await execute_many(conn, _UPSERT, params)


_STATES = text("SELECT case_id::text, state FROM cases WHERE case_id = ANY(CAST(:ids AS uuid[]))")
_UPSERT = text(
    """INSERT INTO cases (case_id, clue_number, case_number, status, categories, unit,
           department, officer, supervisor, leader, subject_name, supervised, overdue,
           next_notice, registered_at, updated_at, version, state)
       VALUES (:id, :clue_number, :case_number, :status, :categories, :unit,
           :department, :officer, :supervisor, :leader, :subject_name, :supervised,
           :overdue, :next_notice, :at, :at, :version, CAST(:state AS jsonb))
       ON CONFLICT (case_id) DO UPDATE SET
           case_number = excluded.case_number, status = excluded.status,
           categories = excluded.categories, unit = excluded.unit,
           department = excluded.department, officer = excluded.officer,
           supervisor = excluded.supervisor, leader = excluded.leader,
           subject_name = excluded.subject_name, supervised = excluded.supervised,
           overdue = excluded.overdue, next_notice = excluded.next_notice,
           updated_at = excluded.updated_at, version = excluded.version,
           state = excluded.state"""
)


class ApprovalInboxProjection(InboxProjection):
    """待办审批: the kit's inbox of proposals, kept from this service's store."""
