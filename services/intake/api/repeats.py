"""Repeat reports (重复件) of a clue, and splitting a wrong merge (拆分).

A split is a compensating event: ``ClueSplit`` on the existing clue (its count and
priority go back down) and a ``ClueReceived`` for the repeat, which becomes a clue of its
own with the id and number its submitter was given. The merge stays in the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from libs.events.contracts.intake import ClueContent, ClueSplit
from libs.events.pii import Vault
from libs.events.store import NO_STREAM, Metadata
from libs.kit import idempotency
from libs.kit.auth import Principal, require_roles
from libs.kit.conflicts import rerun_on_conflict
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import DuplicateRulesDep, Jurisdiction, VaultDep
from services.intake.domain import clue_stream
from services.intake.domain.duplicates import DuplicateRules, Repeats, SplitRefused, split
from services.intake.personal import shown_persons
from services.intake.repeats import index_clue, lock, person_keys, read_repeats

router = APIRouter(prefix="/v1", tags=["clues (operators)"])

Clerk = Annotated[Principal, require_roles("clerk", "supervisor")]


_CONTENT_SHOWN: dict[str, Any] = {
    name: (
        list[dict[str, Any]] if name == "reported_persons" else field.annotation,
        Field(description=field.description),  # no default: an answer has every field
    )
    for name, field in ClueContent.model_fields.items()
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
                **merged.model_dump(include=set(RepeatOut.model_fields) - {"reported_persons"}),
                reported_persons=await shown_persons(
                    vault, merged.reported_persons, context=str(merged.repeat_id), reveal=reveal
                ),
            )
        )
    return out


def repeat_person_refs(state: Repeats) -> list[UUID]:
    """The persons of the repeat reports (an unmasked read of the clue reads them too)."""
    return [p.person_ref for m in state.merged.values() for p in m.reported_persons if p.person_ref]


class SplitIn(BaseModel):
    """Why the merge was wrong (kept in the history)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=1000)


class SplitOut(BaseModel):
    """The clue after the split, and the clue the repeat became."""

    clue_id: UUID
    repeat_count: int
    priority: str
    priority_label: str
    new_clue_id: UUID
    new_clue_number: str
    new_clue_url: str


def parse_if_match(value: str | None) -> int | None:
    """The stream version in an ``If-Match`` header (``"7"`` or ``W/"7"``), if one was sent."""
    if value is None:
        return None
    plain = value.removeprefix("W/").strip('"')
    if not plain.isdigit():
        raise Problem(
            400,
            "invalid-if-match",
            "Invalid If-Match",
            'If-Match must be the clue\'s ETag, e.g. "7".',
            errors=[{"field": "If-Match", "reason": "not a version"}],
        )
    return int(plain)


def _split_problem(refused: SplitRefused, clue_id: UUID) -> Problem:
    if refused.code == "already-split":
        return Problem(409, "already-split", "Already split", str(refused))
    return Problem(
        404,
        "not-a-repeat",
        "Not found",
        str(refused),
        errors=[{"field": "repeat_id", "reason": f"not a repeat report of clue {clue_id}"}],
    )


@router.post("/clues/{clue_id}/repeats/{repeat_id}/split", status_code=201, response_model=SplitOut)
async def split_repeat(
    clue_id: UUID,
    repeat_id: UUID,
    body: SplitIn,
    clerk: Clerk,
    store: Store,
    vault: VaultDep,
    rules: DuplicateRulesDep,
    jurisdiction: Jurisdiction,
    if_match: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """拆分: a repeat report merged by mistake becomes a clue of its own.

    Send ``If-Match`` with the clue's ETag (from ``GET /v1/clues/{id}``) to be sure the
    clue is as you saw it, and/or an ``Idempotency-Key`` to retry safely. A repeat already
    split is a 409.
    """
    seen = parse_if_match(if_match)
    request_hash = idempotency.fingerprint(
        {"clue": str(clue_id), "repeat": str(repeat_id), **body.model_dump()}
    )

    async def once() -> JSONResponse:
        async with store.engine.begin() as conn:
            await lock(
                conn, [clue_stream(clue_id)]
            )  # before any write: see services/intake/repeats.py
            if idempotency_key is not None:
                stored = await idempotency.claim(conn, clerk.actor, idempotency_key, request_hash)
                if stored is not None:
                    return JSONResponse(
                        stored.body, stored.status_code, headers={"Idempotent-Replayed": "true"}
                    )
            state, version = await read_repeats(store, conn, clue_id)
            if state.clue_id is None:
                raise Problem(404, "not-found", "Not found", f"No clue {clue_id}.")
            if seen is not None and seen != version:
                raise Problem(
                    409,
                    "stale-version",
                    "The clue changed since you read it",
                    f"You sent If-Match {seen}; clue {clue_id} is at version {version}. Read it again.",
                    errors=[{"field": "If-Match", "reason": f"stale (current version {version})"}],
                    current_version=version,
                )
            try:
                split_off, received = split(
                    state,
                    repeat_id,
                    reason=body.reason,
                    by=clerk.actor,
                    now=store.clock(),
                    rules=rules,
                )
            except SplitRefused as refused:
                raise _split_problem(refused, clue_id) from None
            meta = Metadata(actor=clerk.actor, correlation_id=correlation_id.get() or str(uuid4()))
            await store.append(
                clue_stream(clue_id), [split_off], expected_version=version, meta=meta, conn=conn
            )
            # The repeat's own stream may hold its reporter's side already (a public report).
            own = await store.stream_version(clue_stream(repeat_id), conn)
            await store.append(
                clue_stream(repeat_id),
                jurisdiction.on_receipt([received]),  # now a clue: its jurisdiction is assessed
                expected_version=own or NO_STREAM,
                meta=meta,
                conn=conn,
            )
            await index_clue(conn, received, await person_keys(vault, conn, received))
            out = _split_out(split_off, rules)
            if idempotency_key is not None:
                await idempotency.remember(conn, clerk.actor, idempotency_key, 201, out)
        return JSONResponse(out, 201, headers={"Location": out["new_clue_url"]})

    return await rerun_on_conflict(once, pinned=seen is not None)


def _split_out(event: ClueSplit, rules: DuplicateRules) -> dict[str, Any]:
    return SplitOut(
        clue_id=event.clue_id,
        repeat_count=event.repeat_count,
        priority=event.priority,
        priority_label=rules.label(event.priority),
        new_clue_id=event.new_clue_id,
        new_clue_number=event.new_clue_number,
        new_clue_url=f"/v1/clues/{event.new_clue_id}",
    ).model_dump(mode="json")
