"""Operators (intake clerks, investigators, auditors) open a clue; clerks tell a real-name
reporter of acceptance (受理告知).

Every read of a clue is recorded in the same breath: a masked read as ``ClueViewed``, an
unmasked one (roles allowed it, with a purpose) as ``PersonalDataAccessed`` — who, what,
when, why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from libs.events.contracts import Event
from libs.events.contracts.intake import (
    ClueReceived,
    ClueViewed,
    PersonalDataAccessed,
    ReportAcknowledged,
    ReportReceived,
)
from libs.events.pii import Vault
from libs.events.store import ANY, EventStore
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context, command_metadata
from libs.kit.problems import Problem
from libs.kit.roles import role_names
from services.intake.domain import clue_stream
from services.intake.domain.duplicates import Repeats, fold
from services.intake.personal import SEALED_FIELDS
from services.intake.service.repeats import merged_into, repeat_person_refs
from services.intake.service.reports import MessageOut, history, messages_of

OPERATOR_ROLES = ("clerk", "supervisor", "investigator", "leader", "auditor")


def views_stream(clue_id: UUID) -> str:
    """Where masked reads of a clue are recorded."""
    return f"clue-reads-{clue_id}"


def access_stream(clue_id: UUID) -> str:
    """Where reads of a clue's personal data are recorded."""
    return f"pii-access-{clue_id}"


async def record_view(store: EventStore, clue_id: UUID, operator: Principal, part: str) -> None:
    """Record that an operator opened a clue (or its conversation) with data masked."""
    await store.append(
        views_stream(clue_id),
        [
            ClueViewed(
                clue_id=clue_id,
                viewed_by=operator.actor,
                roles=sorted(operator.roles.intersection(OPERATOR_ROLES)),
                part=part,
                viewed_at=store.clock(),
            )
        ],
        expected_version=ANY,
        meta=command_metadata(operator.actor),
    )


async def received_clue(store: EventStore, clue_id: UUID) -> ClueReceived:
    """The ClueReceived of a clue, or a 404 problem (naming the clue a repeat joined)."""
    for recorded in await store.read_stream(clue_stream(clue_id)):
        if isinstance(recorded.event, ClueReceived):
            return recorded.event
    merged = await merged_into(store, clue_id)
    if merged is not None:
        raise Problem(
            404,
            "merged-repeat",
            "已作为重复件并入其他线索",
            f"{clue_id}（{merged.repeat_number}）已作为重复件并入线索 {merged.clue_id}，"
            "请打开该线索。",
            merged_into=str(merged.clue_id),
        )
    raise Problem(404, "not-found", "线索不存在", f"没有线索 {clue_id}。")


@dataclass(frozen=True)
class OpenedClue:
    """A clue as an operator opened it: its receipt, its repeat reports, its version, and
    the role a reveal is allowed under (None for a masked read, recorded already)."""

    clue: ClueReceived
    repeats: Repeats
    version: int
    reveal_role: str | None = None


def _reveal_role(operator: Principal, reveal_roles: list[str], purpose: str | None) -> str:
    """The role under which an operator may see personal data unmasked, for this purpose."""
    allowed = operator.roles.intersection(reveal_roles)
    if not allowed:
        raise Problem(
            403,
            "personal-data-not-allowed",
            "无权查看个人信息",
            f"查看完整的个人信息须为以下角色之一：{role_names(reveal_roles)}。",
        )
    if not purpose or not purpose.strip():
        raise Problem(
            422,
            "purpose-required",
            "请说明查看个人信息的用途",
            "查看完整的个人信息将连同用途一并记录。",
            errors=[{"field": "purpose", "reason": "reveal=true 时必填"}],
        )
    return sorted(allowed)[0]


async def open_clue(
    store: EventStore,
    clue_id: UUID,
    operator: Principal,
    *,
    reveal_roles: list[str],
    reveal: bool,
    purpose: str | None,
) -> OpenedClue:
    """A clue for an operator; a masked read is recorded here, a reveal is checked (role,
    purpose) and recorded by :func:`record_reveal` once its fields have opened."""
    clue = await received_clue(store, clue_id)
    records = await store.read_stream(clue_stream(clue_id))
    opened = OpenedClue(clue, fold(r.event for r in records), len(records))
    if not reveal:
        await record_view(store, clue_id, operator, "clue")
        return opened
    return replace(opened, reveal_role=_reveal_role(operator, reveal_roles, purpose))


async def record_reveal(
    store: EventStore, opened: OpenedClue, operator: Principal, purpose: str | None
) -> None:
    """个人信息查阅记录 of a reveal that showed its fields: who, whose, under which role, why.
    A reveal refused because a token does not open (409 ``sealed-data-unopenable``) showed
    nothing and is not recorded as an access; the warning logged names the matter."""
    assert opened.reveal_role is not None
    clue = opened.clue
    persons = [p for p in clue.reported_persons if p.person_ref is not None]
    accessed = PersonalDataAccessed(
        clue_id=clue.clue_id,
        person_refs=[p.person_ref for p in persons if p.person_ref]
        + repeat_person_refs(opened.repeats),
        fields=sorted({f for p in persons for f in p.sealed} or set(SEALED_FIELDS)),
        accessed_by=operator.actor,
        role=opened.reveal_role,
        purpose=(purpose or "").strip(),
        accessed_at=store.clock(),
    )
    await store.append(
        access_stream(clue.clue_id),
        [accessed],
        expected_version=ANY,
        meta=command_metadata(operator.actor),
    )


async def read_conversation(
    store: EventStore, vault: Vault, clue_id: UUID, clerk: Principal
) -> list[MessageOut]:
    """The conversation with the reporter of a public report; the read is recorded."""
    events = await history(store, clue_id)
    if not any(isinstance(e, ReportReceived) for e in events):
        raise Problem(404, "not-a-report", "没有举报人", f"线索 {clue_id} 没有举报人。")
    await record_view(store, clue_id, clerk, "messages")
    return await messages_of(vault, clue_id, events)


class AcknowledgementOut(BaseModel):
    """A real-name report's acceptance notice, and whether it was in time."""

    clue_id: UUID
    acknowledge_by: date
    acknowledged_at: datetime
    in_time: bool


@dataclass(frozen=True)
class Acknowledgement:
    """A real-name report's acceptance notice (受理告知): when it is due, and when given."""

    report: ReportReceived | None = None
    done: ReportAcknowledged | None = None


def _acknowledgement(state: Acknowledgement, event: Event) -> Acknowledgement:
    if isinstance(event, ReportReceived) and state.report is None:
        return replace(state, report=event)
    if isinstance(event, ReportAcknowledged) and state.done is None:
        return replace(state, done=event)
    return state


ACKNOWLEDGEMENT: Aggregate[Acknowledgement] = Aggregate(
    noun="clue",
    label="线索",
    stream=clue_stream,
    initial=Acknowledgement,
    evolve=_acknowledgement,
    exists=lambda state: state.report is not None and state.report.acknowledge_by is not None,
    missing="该线索没有实名举报人。",
    missing_title="没有实名举报人",
    missing_slug="no-acknowledgement-due",
)
"""A clue as its acceptance notice sees it (only real-name reports have one)."""


def _acknowledge(state: Acknowledgement, body: Any, ctx: Context) -> list[Event]:
    if state.done is not None:
        return []  # told once; the answer is the first notice
    return [ReportAcknowledged(clue_id=ctx.key, acknowledged_by=ctx.actor, acknowledged_at=ctx.now)]


def _acknowledged(state: Acknowledgement, ctx: Context) -> dict[str, Any]:
    assert state.report is not None and state.report.acknowledge_by is not None
    assert state.done is not None
    due, done = state.report.acknowledge_by, state.done
    return AcknowledgementOut(
        clue_id=ctx.key,
        acknowledge_by=due,
        acknowledged_at=done.acknowledged_at,
        in_time=done.acknowledged_at.date() <= due,
    ).model_dump(mode="json")


ACKNOWLEDGE: Command[Acknowledgement] = Command(
    name="acknowledge_report",
    aggregate=ACKNOWLEDGEMENT,
    decide=_acknowledge,
    render=_acknowledged,
    status_code=201,
    etag=False,
)
"""受理告知: the real-name reporter was told of acceptance."""
