"""廉政档案 and 党风廉政意见回复.

What the consumer notes about a cadre (by pseudonym, on ``cadre-{person_ref}``): a clue
naming them, its disposals (谈话函询 and its outcome), a case filed, a name cleared — the
decisions are casework's, noted on the unit's stream already. The organisation department
asks for a reply about one cadre with its purpose; the request is sealed at once (the name
never sits in a proposal or an event in clear), signed off (``data/approvals.json``:
室主任审核 → 分管领导审批), and the last sign-off issues the reply from the record as it stands
that day. Every reply and every read of a record or a reply is a ``PersonalDataAccessed``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.casework import ClueDisposed, NameCleared, Subject
from libs.events.contracts.intake import ClueReceived, PersonalDataAccessed
from libs.events.contracts.oversight import (
    CadreMatterNoted,
    ClueSubjectsNoted,
    IntegrityReplyIssued,
    Statement,
)
from libs.events.dispatch import Delivery
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.approvals.gate import Approvable
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem
from services.accountability import queries_oversight
from services.accountability.domain.integrity import Fact, record, reply
from services.accountability.service import Deps


def cadre_stream(person_ref: UUID) -> str:
    """The stream of what accountability noted about one cadre."""
    return f"cadre-{person_ref}"


async def _note(d: Delivery[Deps], notes: list[CadreMatterNoted]) -> None:
    for n in notes:
        await d.store.append(
            cadre_stream(n.person_ref), [n], expected_version=ANY, meta=d.meta, conn=d.conn
        )


async def note_reported(d: Delivery[Deps], e: ClueReceived) -> None:
    """A clue naming people: each one's 廉政档案 gets it, and the clue remembers whom."""
    refs = list(dict.fromkeys(p.person_ref for p in e.reported_persons if p.person_ref))
    if not refs:
        return
    subjects = ClueSubjectsNoted(
        clue_id=e.clue_id, clue_number=e.clue_number, person_refs=refs, at=e.received_at
    )
    await d.store.append(
        f"cadre-clue-{e.clue_id}", [subjects], expected_version=ANY, meta=d.meta, conn=d.conn
    )
    await _note(
        d,
        [
            CadreMatterNoted(
                person_ref=r, kind="reported", clue_id=e.clue_id, clue_number=e.clue_number,
                categories=e.categories, at=e.received_at,
            )
            for r in refs
        ],
    )  # fmt: skip


async def note_disposal(d: Delivery[Deps], e: ClueDisposed) -> None:
    """线索处置 (谈话函询 and what came of it) in the 廉政档案 of everyone the clue names."""
    records = await d.store.read_stream(f"cadre-clue-{e.clue_id}", conn=d.conn)
    refs = [
        r
        for rec in records
        if isinstance(rec.event, ClueSubjectsNoted)
        for r in rec.event.person_refs
    ]
    await _note(
        d,
        [
            CadreMatterNoted(
                person_ref=r, kind="disposal", clue_id=e.clue_id, clue_number=e.clue_number,
                method=e.method.value, outcome=e.outcome, at=e.disposed_at,
            )
            for r in dict.fromkeys(refs)
        ],
    )  # fmt: skip


async def note_subject(
    d: Delivery[Deps], kind: str, subject: Subject, case_id: UUID | None, number: str | None,
    categories: list[str], at: Any,
) -> None:  # fmt: skip
    """A case filed about a cadre, or their name cleared (澄清正名)."""
    if subject.person_ref is None:
        return
    await _note(
        d,
        [
            CadreMatterNoted(
                person_ref=subject.person_ref, kind=kind, case_id=case_id, case_number=number,
                categories=categories, at=at,
            )
        ],
    )  # fmt: skip


async def note_cleared(d: Delivery[Deps], e: NameCleared) -> None:
    """澄清正名: marked in the 廉政档案 as cleared."""
    await note_subject(d, "name_cleared", e.subject, e.case_id, None, [], e.cleared_at)


# --- the request and its reply ------------------------------------------------------------


class CadreIn(BaseModel):
    """The cadre asked about, as the organisation department names them."""

    model_config = STRIPPED

    name: Annotated[str, Field(min_length=1, max_length=50)]
    unit: Annotated[str, Field(min_length=1, max_length=200)]
    post: Annotated[str | None, Field(max_length=200)] = None
    id_number: Annotated[str | None, Field(max_length=32)] = None


class SealedCadre(BaseModel):
    """The cadre as a proposal keeps them: masked, with sealed tokens and pseudonyms."""

    model_config = ConfigDict(extra="forbid")

    name: str
    unit: str
    post: str | None = None
    person_ref: UUID
    sealed: dict[str, str]
    person_refs: list[UUID]


class IntegrityRequestIn(BaseModel):
    """党风廉政意见回复 request: whom, why, from whom, under which letter."""

    model_config = STRIPPED

    cadre: CadreIn | SealedCadre
    purpose: Annotated[str, Field(min_length=2, max_length=200, examples=["拟提拔任用"])]
    requested_by: Annotated[
        str, Field(min_length=2, max_length=200, examples=["中共青山市委组织部"])
    ]
    reference: Annotated[str, Field(min_length=1, max_length=100, examples=["青组函〔2026〕88号"])]


async def _seal(body: IntegrityRequestIn, ctx: Context) -> IntegrityRequestIn:
    """The cadre sealed under their key (context: the reply), and every pseudonym they are
    known by — by ID number and by name and unit — so no record is missed."""
    cadre = body.cadre
    if isinstance(cadre, SealedCadre):
        return body
    vault: pii.Vault = ctx.deps.vault
    sealed = await pii.sealed_person(
        vault, ctx.conn, name=cadre.name, unit=cadre.unit, id_number=cadre.id_number,
        context=str(ctx.key), now=ctx.now,
    )  # fmt: skip
    indexes = [vault.blind_index("name_unit", cadre.name, cadre.unit)]
    if cadre.id_number:
        indexes.append(vault.blind_index("id", cadre.id_number))
    known = [await vault.known_as(i, ctx.conn) for i in indexes]
    refs = list(dict.fromkeys([sealed["person_ref"], *(r for r in known if r is not None)]))
    return body.model_copy(
        update={
            "cadre": SealedCadre(
                name=sealed["name"], unit=cadre.unit, post=cadre.post,
                person_ref=sealed["person_ref"], sealed=sealed["sealed"], person_refs=refs,
            )
        }
    )  # fmt: skip


Reply = IntegrityReplyIssued | None


INTEGRITY_REPLY: Aggregate[Reply] = Aggregate(
    noun="integrity reply",
    label="党风廉政意见回复",
    stream=lambda reply_id: f"integrity-reply-{reply_id}",
    initial=lambda: None,
    evolve=lambda state, e: e if isinstance(e, IntegrityReplyIssued) else state,
    exists=lambda state: True,
)
"""One request of the organisation department and, once signed off, its reply."""


async def cadre_record(
    conn: AsyncConnection, refs: list[UUID], deps: Deps, today: date
) -> list[Any]:
    """The 廉政档案 of the cadre known by ``refs`` on ``today``."""
    rows = await queries_oversight.integrity_facts(conn, refs)
    facts = [
        Fact(
            kind=r["kind"], at=r["at"], case_id=str(r["case_id"]) if r["case_id"] else None,
            case_number=r["case_number"], form=r["form"], measures=tuple(r["measures"]),
            categories=tuple(r["categories"]), detail=r["detail"] or {},
        )
        for r in rows
    ]  # fmt: skip
    tz = ZoneInfo(deps.rules.reports.timezone)
    return record(facts, deps.measures, today, tz, deps.integrity)


async def _issue(state: Reply, body: IntegrityRequestIn, ctx: Context) -> list[Event]:
    deps: Deps = ctx.deps
    cadre = body.cadre
    assert isinstance(cadre, SealedCadre)
    if state is not None:
        raise Problem(409, "already-replied", "已作出回复", "该请示已作出党风廉政意见回复。")
    today = ctx.now.astimezone(ZoneInfo(deps.rules.reports.timezone)).date()
    said, conclusion = reply(
        await cadre_record(ctx.conn, cadre.person_refs, deps, today), deps.integrity
    )
    return [
        IntegrityReplyIssued(
            reply_id=ctx.key, cadre_name=cadre.name, cadre_unit=cadre.unit, cadre_post=cadre.post,
            cadre_ref=cadre.person_ref, cadre_sealed=cadre.sealed, person_refs=cadre.person_refs,
            requested_by=body.requested_by, reference=body.reference, purpose=body.purpose,
            as_of=today,
            statements=[
                Statement(kind=e.kind, status=e.status, on=e.at, reference=e.reference,
                          text=e.text, until=e.until)
                for e in said
            ],
            conclusion=conclusion, conclusion_text=deps.integrity.conclusions[conclusion],
            rules_version=deps.integrity.version, measures_version=deps.measures.version,
            issued_by=ctx.actor, issued_at=ctx.now,
        )
    ]  # fmt: skip


async def _recorded(state: Reply, events: list[Event], ctx: Context) -> None:
    """``after`` a reply: the read of the cadre's record it made, recorded."""
    if state is None:
        return
    role = sorted(ctx.principal.roles)[0] if ctx.principal.roles else ctx.principal.kind
    await record_read(
        ctx.store, state.reply_id, state.person_refs, ctx.principal, role,
        f"党风廉政意见回复：{state.purpose}", ctx.conn,
    )  # fmt: skip


def reply_body(state: Reply, name: str | None = None) -> dict[str, Any]:
    """A reply as the organisation department reads it (the name masked unless given)."""
    if state is None:
        return {}
    body = pii.scrubbed(state.model_dump(mode="json"))
    for private in ("cadre_sealed", "cadre_ref", "person_refs"):
        body.pop(private, None)
    if name is not None:
        body["cadre_name"] = name
    return dict(body)


ISSUE_INTEGRITY_REPLY: Command[Reply] = Command(
    name="issue_integrity_reply",
    aggregate=INTEGRITY_REPLY,
    decide=_issue,
    render=lambda state, ctx: reply_body(state),
    status_code=201,
    new_key=uuid4,
    seal=_seal,
    after=_recorded,
    body_model=IntegrityRequestIn,
    label="党风廉政意见回复",
    location=lambda body: f"/v1/integrity-replies/{body['reply_id']}",
)
"""Reply to the organisation department about one cadre, after 室主任 and 分管领导 sign."""

INTEGRITY_REPLY_APPROVALS = Approvable(
    aggregate=INTEGRITY_REPLY,
    commands={ISSUE_INTEGRITY_REPLY.name: ISSUE_INTEGRITY_REPLY},
    facts=lambda state, body: {},
    path="/v1/integrity-replies/{key}",
)
"""A request's proposal is read and signed under the reply it asks for."""


async def record_read(
    store: EventStore,
    matter_id: UUID,
    refs: list[UUID],
    principal: Principal,
    role: str,
    purpose: str,
    conn: AsyncConnection | None = None,
) -> None:
    """个人信息查阅记录 of a 廉政档案 or a reply: who, as which role, why, whose record."""
    if not refs:
        return
    accessed = PersonalDataAccessed(
        clue_id=matter_id, person_refs=refs, fields=["integrity_record"],
        accessed_by=principal.actor, role=role, purpose=purpose, accessed_at=store.clock(),
    )  # fmt: skip
    await store.append(
        f"pii-access-{matter_id}", [accessed], expected_version=ANY,
        meta=Metadata(actor=principal.actor), conn=conn,
    )  # fmt: skip
