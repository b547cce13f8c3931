"""Sealing and revealing the personal data of reported persons (see libs/events/pii.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.intake import ClueContent, ClueReceived, ReportedPerson

SEALED_FIELDS = ("name", "id_number")


class PersonForm(Protocol):
    """What a submitter says about a reported person (plain text, never stored as such)."""

    name: str
    id_number: str | None
    unit: str
    post: str | None
    rank: str | None
    top_leader: bool
    key_minority: bool


def person_index(vault: pii.Vault, name: str, unit: str, id_number: str | None) -> str:
    """The blind index that identifies a person: the ID number, else name and unit."""
    if id_number:
        return vault.blind_index("id", id_number)
    return vault.blind_index("name_unit", name, unit)


async def seal_persons(
    vault: pii.Vault,
    conn: AsyncConnection,
    persons: Sequence[PersonForm],
    *,
    context: str,
    now: datetime,
) -> tuple[ReportedPerson, ...]:
    """Reported persons as events carry them: masked name, sealed fields, pseudonym."""
    out = []
    indexes = [person_index(vault, p.name, p.unit, p.id_number) for p in persons]
    refs = await vault.persons_in(conn, indexes, now, context)  # one statement for all
    for p, index, ref in zip(persons, indexes, refs, strict=True):
        sealed = {"name": await vault.seal(conn, ref, p.name, context=context, field="name")}
        if p.id_number:
            sealed["id_number"] = await vault.seal(
                conn, ref, p.id_number, context=context, field="id_number"
            )
        out.append(
            ReportedPerson(
                name=pii.mask_name(p.name),
                unit=p.unit,
                post=p.post,
                rank=p.rank,
                top_leader=p.top_leader,
                key_minority=p.key_minority,
                person_ref=ref,
                blind_index=index,
                sealed=sealed,
            )
        )
    return tuple(out)


async def shown_persons(
    vault: pii.Vault, persons: Sequence[ReportedPerson], *, context: str, reveal: bool
) -> list[dict[str, Any]]:
    """Reported persons for a response: masked, or revealed (``[已销毁]`` once shredded)."""
    shown = []
    keys: dict[UUID, bytes | None] = {}  # each person's key read once for the answer
    for p in persons:
        doc = p.model_dump(mode="json", exclude={"sealed", "blind_index"})
        if p.sealed:
            if reveal:
                for field, token in p.sealed.items():
                    value = await vault.reveal(token, context=context, field=field, keys=keys)
                    doc[field] = pii.display(value)
            elif "id_number" in p.sealed:
                doc["id_number"] = "******************"
        shown.append(doc)
    return shown


async def seal_narrative(
    vault: pii.Vault,
    conn: AsyncConnection,
    received: ClueReceived,
    persons: Sequence[PersonForm],
    also_named: Sequence[str] = (),
) -> ClueReceived:
    """The clue with its narrative sealed under its reported persons' keys, and the text
    events carry with their names and ID numbers masked (and ``also_named``: a real-name
    reporter's own name)."""
    if not received.narrative:
        return received
    shown = pii.redacted(
        received.narrative,
        [*(p.name for p in persons), *also_named],
        [p.id_number for p in persons if p.id_number],
    )
    refs = [p.person_ref for p in received.reported_persons if p.person_ref is not None]
    sealed = (
        await pii.seal_text(vault, conn, refs, received.narrative, context=str(received.clue_id))
        if refs
        else ""
    )
    return received.model_copy(update={"narrative": shown, "sealed_narrative": sealed})


async def shown_narrative(
    vault: pii.Vault, content: ClueContent, *, context: str, reveal: bool
) -> str:
    """A clue's narrative for a response: masked, or as written when revealed (masked
    again once one of its persons was shredded)."""
    if not reveal or not content.sealed_narrative:
        return content.narrative
    plain = await pii.reveal_text(vault, content.sealed_narrative, context=context)
    return content.narrative if plain is None else plain
