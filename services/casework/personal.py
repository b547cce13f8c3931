"""Sealing and revealing the case subject (审查调查对象), as intake does reported persons
(see libs/events/pii.py): the name and ID number go into events sealed under the person's
key, with the case's id as context; answers show them masked unless revealed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.casework import Subject
from libs.kit.commands import Context


async def seal_subject(
    vault: pii.Vault, conn: AsyncConnection, subject: Subject, *, context: str, ctx: Context
) -> Subject:
    """The subject as events carry it: masked name and ID number, sealed fields, pseudonym."""
    if not subject.name:
        return subject
    index = pii.person_index(vault, subject.name, subject.unit, subject.id_number)
    ref = await vault.person_for(conn, index, ctx.now)
    plain = {"name": subject.name, "id_number": subject.id_number}
    sealed = await pii.seal_values(vault, conn, ref, plain, context=context)
    masked_id = pii.mask_id_number(subject.id_number) if subject.id_number else None
    return subject.model_copy(
        update={
            "name": pii.mask_name(subject.name),
            "id_number": masked_id,
            "person_ref": ref,
            "blind_index": index,
            "sealed": sealed,
        }
    )


async def seal_body(body: Any, ctx: Context) -> Any:
    """A command's body with its ``subject`` (if it names one) sealed for the case."""
    subject = getattr(body, "subject", None)
    if not isinstance(subject, Subject):
        return body
    vault: pii.Vault = ctx.deps.vault
    sealed = await seal_subject(vault, ctx.conn, subject, context=str(ctx.key), ctx=ctx)
    return body.model_copy(update={"subject": sealed})


async def revealed(
    vault: pii.Vault, person: dict[str, Any], sealed: dict[str, str], *, context: str
) -> dict[str, Any]:
    """A masked person's answer with their sealed fields opened (``[已销毁]`` if shredded)."""
    shown = dict(person)
    for field, token in sealed.items():
        shown[field] = pii.display(await vault.reveal(token, context=context, field=field))
    return shown
