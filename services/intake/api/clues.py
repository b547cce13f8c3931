"""Operators (intake clerks, investigators, auditors) open a clue.

Personal data is masked unless the caller's role may see it and asks to; every
unmasked read is recorded as a PersonalDataAccessed event (who, what, when, why).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands
from libs.kit.openapi import refusals
from libs.kit.service import Store
from services.intake.api.deps import IntakeDeps, VaultDep
from services.intake.api.repeats import ClueContentOut, RepeatOut, repeats_out
from services.intake.api.reports import MessageIn
from services.intake.domain.duplicates import priority
from services.intake.personal import shown_narrative, shown_persons
from services.intake.service import clues
from services.intake.service.clues import ACKNOWLEDGE, OPERATOR_ROLES, AcknowledgementOut
from services.intake.service.reports import POST_MESSAGE, Message, MessageOut, conversation

router = APIRouter(prefix="/v1", tags=["clues (operators)"])

Operator = Annotated[Principal, require_roles(*OPERATOR_ROLES)]


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


@router.get(
    "/clues/{clue_id}",
    response_model=ClueOut,
    responses=refusals(
        (422, "purpose-required", "reveal=true 时须说明查看个人信息的用途（purpose）")
    ),
)
async def open_clue(
    clue_id: UUID,
    operator: Operator,
    store: Store,
    deps: IntakeDeps,
    response: Response,
    reveal: bool = False,
    purpose: Annotated[str | None, Query(max_length=200)] = None,
) -> ClueOut:
    """A clue with its repeat reports; ``reveal=true`` (with a ``purpose``) shows personal
    data to roles allowed it. The ``ETag`` is the clue's version (``If-Match`` of a split)."""
    opened = await clues.open_clue(
        store,
        clue_id,
        operator,
        reveal_roles=deps.settings.pii_reveal_roles,
        reveal=reveal,
        purpose=purpose,
    )
    response.headers["ETag"] = f'"{opened.version}"'
    clue, repeats, rules = opened.clue, opened.repeats, deps.duplicate_rules
    shown = ClueOut(
        **clue.model_dump(exclude={"reported_persons", "narrative", "sealed_narrative"}),
        reported_persons=await shown_persons(
            deps.vault, clue.reported_persons, context=str(clue_id), reveal=reveal
        ),
        narrative=await shown_narrative(deps.vault, clue, context=str(clue_id), reveal=reveal),
        personal_data="revealed" if reveal else "masked",
        repeat_count=repeats.count,
        priority=(level := priority(clue.urgency, repeats.count, rules)),
        priority_label=rules.label(level),
        repeats=await repeats_out(deps.vault, repeats, reveal=reveal),
    )
    if reveal:  # recorded once every field opened: a refused reveal (409) showed nothing
        await clues.record_reveal(store, opened, operator, purpose)
    return shown


Clerk = Annotated[Principal, require_roles("clerk", "supervisor")]


@router.get("/clues/{clue_id}/messages", response_model=list[MessageOut])
async def clerk_reads_messages(
    clue_id: UUID, clerk: Clerk, store: Store, vault: VaultDep
) -> list[MessageOut]:
    """The conversation with the reporter of a public report (the read is recorded)."""
    return await clues.read_conversation(store, vault, clue_id, clerk)


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


@router.post("/clues/{clue_id}/acknowledgement", status_code=201, response_model=AcknowledgementOut)
async def acknowledge_report(clue_id: UUID, clerk: Clerk, commands: Commands) -> JSONResponse:
    """Record that the real-name reporter was told of acceptance (受理告知)."""
    return await commands.run(ACKNOWLEDGE, clue_id, None, clerk)
