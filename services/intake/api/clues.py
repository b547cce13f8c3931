"""Operators (intake clerks, investigators, auditors) open a clue.

Personal data is masked unless the caller's role may see it and asks to; every
unmasked read is recorded as a PersonalDataAccessed event (who, what, when, why).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from libs.events.contracts.intake import (
    ClueReceived,
    PersonalDataAccessed,
    ReportAcknowledged,
    ReportReceived,
)
from libs.events.store import ANY, Metadata
from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import DuplicateRulesDep, Settings, VaultDep
from services.intake.api.desk import record_view
from services.intake.api.repeats import (
    ClueContentOut,
    RepeatOut,
    repeat_person_refs,
    repeats_out,
)
from services.intake.api.reports import MessageIn
from services.intake.domain import clue_stream
from services.intake.domain.duplicates import fold, priority
from services.intake.personal import SEALED_FIELDS, shown_persons
from services.intake.service.repeats import merged_into
from services.intake.service.reports import (
    POST_MESSAGE,
    Message,
    MessageOut,
    conversation,
    messages_of,
)

router = APIRouter(prefix="/v1", tags=["clues (operators)"])

Operator = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "leader", "auditor")
]


def access_stream(clue_id: UUID) -> str:
    """Where reads of a clue's personal data are recorded."""
    return f"pii-access-{clue_id}"


class _ClueHead(BaseModel):
    # ClueOut's fields before the content (pydantic orders fields from the last base to
    # the class itself), which keeps the published order of the answer's fields.
    clue_id: UUID
    clue_number: str
    source_kind: str
    source_department: str | None
    source_reference: str | None


class ClueOut(ClueContentOut, _ClueHead):  # type: ignore[misc]
    """A clue as an operator opens it."""

    received_at: datetime
    personal_data: str
    """``masked`` or ``revealed`` (the read was recorded)."""
    repeat_count: int = 0
    """重复件: how many repeat reports were merged into this clue (splits subtracted)."""
    priority: str = "normal"
    priority_label: str = "一般"
    repeats: list[RepeatOut] = []


async def received_clue(store: Store, clue_id: UUID) -> ClueReceived:
    """The ClueReceived of a clue, or a 404 problem (naming the clue a repeat joined)."""
    for recorded in await store.read_stream(clue_stream(clue_id)):
        if isinstance(recorded.event, ClueReceived):
            return recorded.event
    merged = await merged_into(store, clue_id)
    if merged is not None:
        raise Problem(
            404,
            "merged-repeat",
            "Merged as a repeat report",
            f"{clue_id} ({merged.repeat_number}) was merged into clue {merged.clue_id} "
            "as a repeat report (重复件); open that clue.",
            merged_into=str(merged.clue_id),
        )
    raise Problem(404, "not-found", "Not found", f"No clue {clue_id}.")


@router.get("/clues/{clue_id}", response_model=ClueOut)
async def open_clue(
    clue_id: UUID,
    operator: Operator,
    store: Store,
    vault: VaultDep,
    settings: Settings,
    duplicate_rules: DuplicateRulesDep,
    response: Response,
    reveal: bool = False,
    purpose: Annotated[str | None, Query(max_length=200)] = None,
) -> ClueOut:
    """A clue with its repeat reports; ``reveal=true`` (with a ``purpose``) shows personal
    data to roles allowed it. The ``ETag`` is the clue's version (``If-Match`` of a split)."""
    clue = await received_clue(store, clue_id)
    history = await store.read_stream(clue_stream(clue_id))
    repeats = fold(r.event for r in history)
    response.headers["ETag"] = f'"{len(history)}"'

    if reveal:
        allowed = operator.roles.intersection(settings.pii_reveal_roles)
        if not allowed:
            raise Problem(
                403,
                "personal-data-not-allowed",
                "Not allowed to see personal data",
                f"Unmasked personal data needs one of the roles: "
                f"{', '.join(settings.pii_reveal_roles)}.",
            )
        if not purpose or not purpose.strip():
            raise Problem(
                422,
                "purpose-required",
                "Say why you need the personal data",
                "Unmasked reads are recorded with their purpose.",
                errors=[{"field": "purpose", "reason": "required when reveal=true"}],
            )
        persons = [p for p in clue.reported_persons if p.person_ref is not None]
        await store.append(
            access_stream(clue_id),
            [
                PersonalDataAccessed(
                    clue_id=clue_id,
                    person_refs=[p.person_ref for p in persons if p.person_ref]
                    + repeat_person_refs(repeats),
                    fields=sorted({f for p in persons for f in p.sealed} or set(SEALED_FIELDS)),
                    accessed_by=operator.actor,
                    role=sorted(allowed)[0],
                    purpose=purpose.strip(),
                    accessed_at=store.clock(),
                )
            ],
            expected_version=ANY,
            meta=Metadata(
                actor=operator.actor, correlation_id=correlation_id.get() or str(uuid4())
            ),
        )
    else:
        await record_view(store, clue_id, operator, "clue")
    return ClueOut(
        **clue.model_dump(exclude={"reported_persons"}),
        reported_persons=await shown_persons(
            vault, clue.reported_persons, context=str(clue_id), reveal=reveal
        ),
        personal_data="revealed" if reveal else "masked",
        repeat_count=repeats.count,
        priority=(level := priority(clue.urgency, repeats.count, duplicate_rules)),
        priority_label=duplicate_rules.label(level),
        repeats=await repeats_out(vault, repeats, reveal=reveal),
    )


Clerk = Annotated[Principal, require_roles("clerk", "supervisor")]


@router.get("/clues/{clue_id}/messages", response_model=list[MessageOut])
async def clerk_reads_messages(
    clue_id: UUID, clerk: Clerk, store: Store, vault: VaultDep
) -> list[MessageOut]:
    """The conversation with the reporter of a public report (the read is recorded)."""
    history = [r.event for r in await store.read_stream(clue_stream(clue_id))]
    if not any(isinstance(e, ReportReceived) for e in history):
        raise Problem(404, "not-a-report", "Not found", f"Clue {clue_id} has no reporter.")
    await record_view(store, clue_id, clerk, "messages")
    return await messages_of(vault, clue_id, history)


@router.post("/clues/{clue_id}/messages", status_code=201, response_model=list[MessageOut])
async def clerk_writes(
    clue_id: UUID,
    body: MessageIn,
    clerk: Clerk,
    store: Store,
    vault: VaultDep,
    commands: Commands,
) -> list[MessageOut]:
    """Write to the reporter (they read it with their receipt code and secret)."""
    await commands.execute(POST_MESSAGE, clue_id, Message(text=body.text, author="clerk"), clerk)
    return await conversation(store, vault, clue_id)


class AcknowledgementOut(BaseModel):
    """A real-name report's acceptance notice, and whether it was in time."""

    clue_id: UUID
    acknowledge_by: date
    acknowledged_at: datetime
    in_time: bool


@router.post("/clues/{clue_id}/acknowledgement", status_code=201, response_model=AcknowledgementOut)
async def acknowledge_report(clue_id: UUID, clerk: Clerk, store: Store) -> AcknowledgementOut:
    """Record that the real-name reporter was told of acceptance (受理告知)."""
    history = [r.event for r in await store.read_stream(clue_stream(clue_id))]
    report = next((e for e in history if isinstance(e, ReportReceived)), None)
    if report is None or report.acknowledge_by is None:
        raise Problem(
            404, "no-acknowledgement-due", "Not found", "This clue has no real-name reporter."
        )
    done = next((e for e in history if isinstance(e, ReportAcknowledged)), None)
    if done is None:
        done = ReportAcknowledged(
            clue_id=clue_id, acknowledged_by=clerk.actor, acknowledged_at=store.clock()
        )
        await store.append(
            clue_stream(clue_id),
            [done],
            expected_version=ANY,
            meta=Metadata(actor=clerk.actor, correlation_id=correlation_id.get() or str(uuid4())),
        )
    return AcknowledgementOut(
        clue_id=clue_id,
        acknowledge_by=report.acknowledge_by,
        acknowledged_at=done.acknowledged_at,
        in_time=done.acknowledged_at.date() <= report.acknowledge_by,
    )
