"""Sealing and revealing the case subject (审查调查对象), as intake does reported persons
(see libs/events/pii.py): the name and ID number go into events sealed under the person's
key, with the case's id as context; answers show them masked unless revealed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.casework import Subject
from libs.kit.commands import Context
from libs.kit.refusal import Refused


async def seal_subject(
    vault: pii.Vault, conn: AsyncConnection, subject: Subject, *, context: str, ctx: Context
) -> Subject:
    """The subject as events carry it: masked name and ID number, sealed fields, pseudonym."""
    if not subject.name:
        return subject
    if "*" in subject.name:  # a masked name copied from an answer is no name
        raise Refused(
            "masked-name",
            "审查调查对象的姓名须填写完整：答复中显示的是遮蔽后的姓名（如「王*」）。",
            field="subject.name",
            title="姓名不完整",
            reason="不能使用遮蔽后的姓名",
        )
    sealed = await pii.sealed_person(
        vault,
        conn,
        name=subject.name,
        unit=subject.unit,
        id_number=subject.id_number,
        context=context,
        now=ctx.now,
    )
    return subject.model_copy(update=sealed)


async def seal_body(body: Any, ctx: Context) -> Any:
    """A command's body with its ``subject`` (if it names one) sealed for the case."""
    subject = getattr(body, "subject", None)
    if not isinstance(subject, Subject):
        return body
    vault: pii.Vault = ctx.deps.vault
    sealed = await seal_subject(vault, ctx.conn, subject, context=str(ctx.key), ctx=ctx)
    return body.model_copy(update={"subject": sealed})
