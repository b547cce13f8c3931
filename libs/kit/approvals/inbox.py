"""待办审批: the inbox read model every service with approvals keeps, and the overdue job.

One row per proposal with the step it waits on; ``approval_inbox`` is written only by
:data:`INBOX` (a ``ProjectionDispatch``), so a rebuild from the store's start equals the
live table. The overdue job finds the open steps past their last day in it and records
``ProposalOverdue`` once per step on the matter's stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.approvals import (
    ApprovalRecorded,
    MeetingRecorded,
    ProposalOverdue,
    ProposalResubmitted,
    ProposalReturned,
    ProposalSubmitted,
    ProposalTookEffect,
    ProposalWithdrawn,
)
from libs.events.dispatch import ProjectionDispatch
from libs.events.store import ConcurrencyError, EventStore, Metadata, Recorded
from libs.kit.approvals import proposals as pr
from libs.kit.approvals.gate import Approvable, Approvals
from libs.kit.jobs import Job

log = logging.getLogger(__name__)

INBOX_DDL = (
    """CREATE TABLE approval_inbox (
        proposal_id uuid PRIMARY KEY,
        stream_id text NOT NULL,
        matter text NOT NULL,
        command text NOT NULL,
        proposer text NOT NULL,
        steps jsonb NOT NULL,
        key_reasons text[] NOT NULL DEFAULT '{}',
        status text NOT NULL,
        step integer NOT NULL DEFAULT 0,
        round integer NOT NULL DEFAULT 1,
        role text,
        label text,
        due_on date,
        overdue boolean NOT NULL DEFAULT false,
        returned_reason text,
        submitted_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    "CREATE INDEX approval_inbox_waiting ON approval_inbox (role, status)",
    "CREATE INDEX approval_inbox_due ON approval_inbox (due_on) WHERE status = 'open'",
)


def create_inbox() -> None:
    """Migration step: the inbox table of a service with approvals."""
    from alembic import op

    for statement in INBOX_DDL:
        op.execute(statement)


INBOX = ProjectionDispatch()
"""How each approval event changes the inbox."""


class InboxProjection:
    """待办审批: the proposals of this service's matters and the step each waits on."""

    name = "approval_inbox"
    tables: Sequence[str] = ("approval_inbox",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Apply one event (types the inbox does not use are skipped undecoded)."""
        await INBOX.apply(conn, recorded)


@INBOX.on(ProposalSubmitted)
async def _submitted(e: ProposalSubmitted, conn: AsyncConnection, r: Recorded) -> None:
    steps = [s.model_dump(mode="json") for s in e.steps]
    await conn.execute(
        text(
            """INSERT INTO approval_inbox (proposal_id, stream_id, matter, command, proposer,
                   steps, key_reasons, status, role, label, due_on, submitted_at, updated_at)
               VALUES (:id, :s, :m, :c, :p, CAST(:steps AS jsonb), :k, 'open', :role, :label,
                   :due, :at, :at)
               ON CONFLICT (proposal_id) DO NOTHING"""
        ),
        {
            "id": e.proposal_id,
            "s": r.stream_id,
            "m": e.matter,
            "c": e.command,
            "p": e.proposer,
            "steps": json.dumps(steps, ensure_ascii=False),
            "k": e.key_reasons,
            "role": steps[0]["role"],
            "label": steps[0]["label"],
            "due": e.due_on,
            "at": e.submitted_at,
        },
    )


_TO_STEP = """step = CAST(:step AS integer), role = steps -> CAST(:step AS integer) ->> 'role',
    label = steps -> CAST(:step AS integer) ->> 'label', overdue = false"""


async def _set(conn: AsyncConnection, pid: UUID, sets: str, at: Any, **values: Any) -> None:
    await conn.execute(
        text(f"UPDATE approval_inbox SET {sets}, updated_at = :at WHERE proposal_id = :id"),
        {"id": pid, "at": at, **values},
    )


@INBOX.on(ApprovalRecorded, MeetingRecorded)
async def _signed(
    e: ApprovalRecorded | MeetingRecorded, conn: AsyncConnection, r: Recorded
) -> None:
    agreed = (e.opinion if isinstance(e, ApprovalRecorded) else e.conclusion) == "agree"
    if agreed:
        await _set(conn, e.proposal_id, f"{_TO_STEP}, due_on = :due", e.recorded_at,
                   step=e.step + 1, due=e.next_due_on)  # fmt: skip


@INBOX.on(ProposalReturned)
async def _returned(e: ProposalReturned, conn: AsyncConnection, r: Recorded) -> None:
    await _set(conn, e.proposal_id, "status = 'returned', returned_reason = :why, due_on = NULL",
               e.returned_at, why=e.reason)  # fmt: skip


@INBOX.on(ProposalResubmitted)
async def _resubmitted(e: ProposalResubmitted, conn: AsyncConnection, r: Recorded) -> None:
    sets = f"status = 'open', round = round + 1, {_TO_STEP}, due_on = :due"
    await _set(conn, e.proposal_id, sets, e.resubmitted_at, step=0, due=e.due_on)


@INBOX.on(ProposalWithdrawn, ProposalTookEffect)
async def _settled(
    e: ProposalWithdrawn | ProposalTookEffect, conn: AsyncConnection, r: Recorded
) -> None:
    status = "withdrawn" if isinstance(e, ProposalWithdrawn) else "effective"
    await _set(conn, e.proposal_id, "status = :st, role = NULL, label = NULL, due_on = NULL",
               r.envelope.time, st=status)  # fmt: skip


@INBOX.on(ProposalOverdue)
async def _overdue(e: ProposalOverdue, conn: AsyncConnection, r: Recorded) -> None:
    await _set(conn, e.proposal_id, "overdue = true", e.noticed_at)


def _row(row: Any) -> dict[str, Any]:
    return {
        "proposal_id": str(row.proposal_id),
        "matter": row.matter,
        "command": row.command,
        "proposer": row.proposer,
        "status": row.status,
        "status_label": pr.STATUS_LABELS[row.status],
        "step": row.step,
        "round": row.round,
        "role": row.role,
        "label": row.label,
        "due_on": row.due_on.isoformat() if row.due_on else None,
        "overdue": row.overdue,
        "key_reasons": list(row.key_reasons),
        "returned_reason": row.returned_reason,
        "submitted_at": row.submitted_at.isoformat(),
    }


async def assigned_to(
    conn: AsyncConnection, actor: str, roles: frozenset[str]
) -> list[dict[str, Any]]:
    """What waits on this person: open steps of a role they hold on others' proposals, and
    their own proposals returned to them; oldest first."""
    rows = await conn.execute(
        text(
            """SELECT * FROM approval_inbox
               WHERE (status = 'open' AND role = ANY(:roles) AND proposer <> :actor)
                  OR (status = 'returned' AND proposer = :actor)
               ORDER BY submitted_at, proposal_id"""
        ),
        {"roles": sorted(roles), "actor": actor},
    )
    return [_row(r) for r in rows]


def overdue_id(p: pr.Proposal) -> UUID:
    """The event id of a step's overdue notice: one per proposal, round and step."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:approval:{p.proposal_id}:{p.round}:{p.step}:overdue")


async def notice_overdue(store: EventStore, approvals: Approvals, today: date) -> int:
    """Record ``ProposalOverdue`` for every open step past its last day; how many."""
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    """SELECT proposal_id, stream_id FROM approval_inbox
                       WHERE status = 'open' AND NOT overdue AND due_on < :today"""
                ),
                {"today": today},
            )
        ).all()
    written = 0
    for proposal_id, stream_id in rows:
        try:
            written += await _notice(store, approvals, proposal_id, stream_id, today)
        except ConcurrencyError:
            log.info("%s moved while noticing its overdue approval; next run", stream_id)
    return written


async def _notice(
    store: EventStore, approvals: Approvals, proposal_id: UUID, stream_id: str, today: date
) -> int:
    async with store.transaction() as conn:
        records = await store.read_stream(stream_id, conn=conn)
        events = [r.event for r in records]
        p = pr.fold(events).get(proposal_id)
        matter = _matter_of(approvals, p)
        if p is None or matter is None:
            return 0
        state = matter.aggregate.replay(events)
        notice = pr.overdue(p, today, matter.escalate_to(state), store.clock())
        if notice is None:
            return 0
        await store.append(
            stream_id,
            [notice],
            expected_version=records[-1].version,
            meta=Metadata(actor="service:approvals-scheduler"),
            conn=conn,
            event_ids=[overdue_id(p)],
        )
    return 1


def _matter_of(approvals: Approvals, p: pr.Proposal | None) -> Approvable | None:
    if p is None:
        return None
    return next((m for m in approvals.matters if p.command in m.commands), None)


def overdue_job(
    store: EventStore, approvals: Approvals, today: Callable[[], date], interval: float
) -> Job:
    """审批超期 as a job: each round notices the steps that waited past their limit."""

    async def notices() -> str:
        n = await notice_overdue(store, approvals, today())
        return f"wrote {n} approval overdue notice(s)" if n else ""

    return Job("approval-overdue", interval, notices, catch_up=True)
