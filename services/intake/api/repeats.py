"""Repeat reports (重复件) of a clue, and splitting a wrong merge (拆分).

A split is a compensating event: ``ClueSplit`` on the existing clue (its count and
priority go back down) and a ``ClueReceived`` for the repeat, which becomes a clue of its
own with the id and number its submitter was given. The merge stays in the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, create_model

from libs.events import pii
from libs.events.contracts.intake import ClueContent
from libs.events.pii import Vault
from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.fields import STRIPPED
from services.intake.domain.duplicates import Repeats
from services.intake.personal import shown_narrative, shown_persons
from services.intake.service.repeats import SPLIT, SplitOut, SplitRepeat

router = APIRouter(prefix="/v1", tags=["clues (operators)"])

Clerk = Annotated[Principal, require_roles("clerk", "supervisor")]


_CONTENT_SHOWN: dict[str, Any] = {
    name: (
        list[dict[str, Any]] if name == "reported_persons" else field.annotation,
        Field(description=field.description),  # no default: an answer has every field
    )
    for name, field in ClueContent.model_fields.items()
    if name not in pii.PRIVATE_KEYS  # the sealed narrative is shown as ``narrative``
}
ClueContentOut = create_model(
    "ClueContentOut",
    __doc__="A clue's content in an answer: every field present (null when unset), "
    "the persons as shown (masked unless revealed).",
    **_CONTENT_SHOWN,
)
"""``ClueContent`` as the clue and repeat answers show it: built from its fields, so a
content field is shown wherever the clue is without being listed again."""


class _RepeatHead(BaseModel):
    # RepeatOut's fields before the content: pydantic orders fields from the last base to
    # the class itself, which keeps the published order of the answer's fields.
    repeat_id: UUID
    repeat_number: str
    source_kind: str
    source_department: str | None
    source_reference: str | None


class RepeatOut(ClueContentOut, _RepeatHead):  # type: ignore[misc,valid-type]
    """One repeat report merged into a clue, as it came in."""

    received_at: datetime | None
    merged_at: datetime
    matched_on: list[str]
    """Why it is the same matter: ``id_number`` or ``name_unit`` (blind indexes)."""
    overlapping_categories: list[str]


async def repeats_out(vault: Vault, state: Repeats, *, reveal: bool) -> list[RepeatOut]:
    """The repeat reports still merged into a clue, oldest first."""
    out = []
    for merged in sorted(state.merged.values(), key=lambda m: m.merged_at):
        out.append(
            RepeatOut(
                **merged.model_dump(
                    include=set(RepeatOut.model_fields) - {"reported_persons", "narrative"}
                ),
                reported_persons=await shown_persons(
                    vault, merged.reported_persons, context=str(merged.repeat_id), reveal=reveal
                ),
                narrative=await shown_narrative(
                    vault, merged, context=str(merged.repeat_id), reveal=reveal
                ),
            )
        )
    return out


class SplitIn(BaseModel):
    """Why the merge was wrong (kept in the history)."""

    model_config = STRIPPED

    reason: str = Field(min_length=1, max_length=1000)


@router.post("/clues/{clue_id}/repeats/{repeat_id}/split", status_code=201, response_model=SplitOut)
async def split_repeat(
    clue_id: UUID,
    repeat_id: UUID,
    body: SplitIn,
    clerk: Clerk,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """拆分: a repeat report merged by mistake becomes a clue of its own.

    Send ``If-Match`` with the clue's ETag (from ``GET /v1/clues/{id}``) to be sure the
    clue is as you saw it, and/or an ``Idempotency-Key`` to retry safely. A repeat already
    split is a 409.
    """
    return await commands.run(
        SPLIT,
        clue_id,
        SplitRepeat(repeat_id=repeat_id, reason=body.reason),
        clerk,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )
