"""Sealing and revealing the persons accountability names (see libs/events/pii.py): the
leaders on a responsibility list are sealed under their own keys with the list's id as
context; an inquiry's parties carry the list's tokens, its direct subject casework's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from libs.events import pii
from libs.events.contracts.accountability import (
    DepartmentLeader,
    InquiryOpened,
    Person,
    ResponsibilityListPublished,
    ResponsibleParty,
)
from libs.events.contracts.intake import PersonalDataAccessed
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.auth import Principal
from libs.kit.commands import Context
from libs.kit.problems import Problem


async def _sealed(person: Person, unit: str, context: str, ctx: Context) -> Person:
    vault: pii.Vault = ctx.deps.vault
    update = await pii.sealed_person(
        vault, ctx.conn, name=person.name, unit=unit, context=context, now=ctx.now
    )
    update.pop("id_number", None)
    return person.model_copy(update=update)


async def seal_list(
    published: ResponsibilityListPublished, ctx: Context
) -> ResponsibilityListPublished:
    """A list as its event carries it: every leader's name sealed (context: the list)."""
    context, unit = str(published.list_id), published.unit
    leaders = [
        DepartmentLeader(
            department=dl.department, leader=await _sealed(dl.leader, unit, context, ctx)
        )
        for dl in published.department_leaders
    ]
    return published.model_copy(
        update={
            "first_responsible": await _sealed(published.first_responsible, unit, context, ctx),
            "discipline_head": await _sealed(published.discipline_head, unit, context, ctx),
            "department_leaders": leaders,
        }
    )


async def reveal_inquiry(
    vault: pii.Vault, opened: InquiryOpened, body: dict[str, Any]
) -> list[Any]:
    """Open the parties' and the direct subject's names in an inquiry's answer; the
    pseudonyms of the persons revealed."""
    parties = await reveal_parties(vault, opened.parties)
    for shown, view in zip(parties, body["parties"], strict=True):
        view["name"] = shown["name"]
    body["direct_subject"] = opened.direct_subject  # as recorded, before sealing
    if opened.direct_subject_sealed and opened.direct_subject_context is not None:
        token = opened.direct_subject_sealed["name"]
        name = await vault.reveal(token, context=opened.direct_subject_context, field="name")
        body["direct_subject"] = pii.display(name)
    refs = [p.person_ref for p in opened.parties if p.sealed]
    return [*refs, *([opened.direct_subject_ref] if opened.direct_subject_sealed else [])]


async def party_name(vault: pii.Vault | None, party: Any) -> str:
    """A party's name as a document prints it: revealed (``[已销毁]`` once shredded); an
    organisation, or a leader named before sealing, as recorded."""
    token = party.sealed.get("name")
    if token is None or vault is None:
        return str(party.name)
    return pii.display(await vault.reveal(token, context=str(party.list_id), field="name"))


REVEALERS = frozenset({"accountability", "leader", "director", "secretary"})
"""Roles that may see accountability's names unmasked (each read is recorded)."""


def revealing_role(principal: Principal, refusal: str) -> str:
    """The role under which a reader may see names unmasked; 403 (``refusal``) if none."""
    held = principal.roles & REVEALERS
    if not held:
        raise Problem(403, "forbidden", "无权查看", refusal)
    return sorted(held)[0]


async def reveal_parties(
    vault: pii.Vault, parties: Sequence[ResponsibleParty]
) -> list[dict[str, Any]]:
    """Parties as an answer shows them to an allowed reader: leaders' names opened."""
    shown = []
    for p in parties:
        doc = {**pii.scrubbed(p.model_dump(mode="json")), "name": p.name}  # as recorded
        shown.append(await pii.revealed(vault, doc, p.sealed, context=str(p.list_id)))
    return shown


async def record_access(
    store: EventStore,
    matter_id: UUID,
    refs: Sequence[UUID | None],
    principal: Principal,
    role: str,
    purpose: str,
) -> None:
    """个人信息查阅记录: who read whose sealed names on a matter, as which role, why."""
    people = [r for r in dict.fromkeys(refs) if r is not None]
    if not people:
        return
    accessed = PersonalDataAccessed(
        clue_id=matter_id,
        person_refs=people,
        fields=["name"],
        accessed_by=principal.actor,
        role=role,
        purpose=purpose,
        accessed_at=store.clock(),
    )
    meta = Metadata(actor=principal.actor)
    await store.append(f"pii-access-{matter_id}", [accessed], expected_version=ANY, meta=meta)
