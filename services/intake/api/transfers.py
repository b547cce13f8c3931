"""Intake's HTTP API: partner clue transfers (线索移送) and their follow-up."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.intake import AttachmentRef, ClueContent, ClueMerged, ClueReceived
from libs.events.store import Metadata
from libs.events.taxonomy import load as load_taxonomy
from libs.kit import idempotency
from libs.kit.conflicts import rerun_on_conflict
from libs.kit.logs import correlation_id
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import DuplicateRulesDep, Jurisdiction, VaultDep
from services.intake.api.deps import Partner as _Partner
from services.intake.domain import (
    TransferClue,
    clue_stream,
    receive_transfer,
    resident_id_problem,
)
from services.intake.domain.progress import SourceView, evolve, status_label
from services.intake.personal import seal_persons
from services.intake.references import claim_reference, next_clue_number, remember_reference
from services.intake.service.repeats import hold_persons, merged_into, record_clue

router = APIRouter(prefix="/v1", tags=["clue transfers"])

BY_RECEIPT = Keyset(
    ("received_at", "clue_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)

Partner = _Partner


class PersonIn(BaseModel):
    """被反映人 as the partner describes them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    id_number: str | None = Field(
        default=None, description="18-digit resident ID number (公民身份号码), checked by GB 11643"
    )
    unit: str = Field(min_length=1, max_length=100)
    post: str | None = Field(default=None, max_length=100)
    rank: str | None = Field(default=None, max_length=50, description="级别")
    top_leader: bool = Field(default=False, description="一把手")
    key_minority: bool = Field(default=False, description="关键少数")

    @field_validator("id_number")
    @classmethod
    def _resident_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if (why := resident_id_problem(value)) is not None:
            raise ValueError(f"not a valid resident ID number: {why}")
        return value


class AttachmentIn(BaseModel):
    """An attachment uploaded before through ``POST /v1/attachments``."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ClueTransferIn(BaseModel):
    """A clue transfer (线索移送) as a partner department sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(
        min_length=1, max_length=64, description="The partner's own reference number"
    )
    reported_persons: list[PersonIn] = Field(min_length=1, max_length=50)
    categories: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=20, description="Codes of the problem-category taxonomy"
    )
    narrative: str = Field(min_length=1, max_length=20000)
    urgency: Literal["normal", "urgent", "very_urgent"] = Field(
        default="normal", description="一般 / 紧急 / 特急"
    )
    occurred_from: date | None = Field(default=None, description="When the matter began")
    occurred_to: date | None = Field(default=None, description="When it ended, if it did")
    place: str | None = Field(default=None, max_length=200)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _period(self) -> ClueTransferIn:
        if self.occurred_from and self.occurred_to and self.occurred_to < self.occurred_from:
            raise PydanticCustomError("date_order", "occurred_to is before occurred_from")
        return self


SENT_AS_IS = set(ClueContent.model_fields) - {"reported_persons", "attachments"}
"""The content fields a request carries as the clue keeps them (persons are sealed and
attachments looked up first)."""


class MergedInto(BaseModel):
    """The department's own earlier clue a repeat report was merged into."""

    clue_number: str
    reference: str | None


class TransferOut(BaseModel):
    """What a partner learns about a clue it sent."""

    clue_id: UUID
    clue_number: str
    reference: str | None
    status: str
    """received / registered / disposed / case_filed / closed / name_cleared; ``merged``
    (已并入) when it was merged into an existing clue as a repeat report (重复件)."""
    status_label: str
    outcome: str | None = None
    """What casework decided the source may be told, once it has decided."""
    categories: list[str]
    received_at: datetime
    updated_at: datetime | None = None
    status_url: str
    merged_into: MergedInto | None = None
    """For a repeat report: the clue it joined, shown only when the department sent it too."""


def _status_url(clue_id: UUID) -> str:
    return f"/v1/clue-transfers/{clue_id}"


@router.post("/clue-transfers", status_code=201, response_model=TransferOut)
async def transfer_clue(
    body: ClueTransferIn,
    partner: Partner,
    store: Store,
    vault: VaultDep,
    duplicate_rules: DuplicateRulesDep,
    jurisdiction: Jurisdiction,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Receive a clue from a partner department; a retry returns the original answer.

    A transfer on a matter already open (same person, a shared category, within the
    window) is merged into that clue as a repeat report: the answer has its own id, number
    and status URL, with status ``merged`` (已并入).
    """
    if not partner.department:
        raise Problem(
            403, "no-department", "Not allowed", "This client is not bound to a department."
        )
    check_categories(body.categories)
    payload = body.model_dump(mode="json")
    request_hash = idempotency.fingerprint(payload)

    department: str = partner.department

    async def once() -> JSONResponse:
        async with store.engine.begin() as conn:
            held = await hold_persons(conn, vault, body.reported_persons)
            if idempotency_key is not None:
                stored = await idempotency.claim(conn, partner.actor, idempotency_key, request_hash)
                if stored is not None:
                    return _answer(stored.body, stored.status_code, replayed=True)
            clue_id = uuid4()
            stored_answer = await claim_reference(
                conn, department, body.reference, clue_id, request_hash
            )
            if stored_answer is not None:
                if idempotency_key is not None:
                    await idempotency.remember(
                        conn, partner.actor, idempotency_key, 201, stored_answer
                    )
                return _answer(stored_answer, 201, replayed=True)
            now = store.clock()
            clue_number = await next_clue_number(conn, now)
            command = TransferClue(
                department=department,
                reference=body.reference,
                **body.model_dump(include=SENT_AS_IS),
                reported_persons=list(
                    await seal_persons(
                        vault, conn, body.reported_persons, context=str(clue_id), now=now
                    )
                ),
                attachments=list(await _uploaded(conn, partner.actor, body.attachments)),
            )
            events = receive_transfer(command, clue_id=clue_id, clue_number=clue_number, now=now)
            merged = await record_clue(
                conn,
                store,
                duplicate_rules,
                events,
                held,
                meta=Metadata(
                    actor=partner.actor, correlation_id=correlation_id.get() or str(uuid4())
                ),
                on_receipt=jurisdiction.on_receipt,
            )
            answer = (
                _transfer_out(events[0])
                if merged is None
                else await _merged_out(store, merged, department)
            )
            out = answer.model_dump(mode="json")
            await remember_reference(conn, department, body.reference, out)
            if idempotency_key is not None:
                await idempotency.remember(conn, partner.actor, idempotency_key, 201, out)
        return _answer(out, 201)

    return await rerun_on_conflict(once, pinned=False)


def check_categories(codes: list[str], *, field: str = "categories") -> None:
    """A 422 problem listing the valid codes if any of ``codes`` is not in the taxonomy."""
    taxonomy = load_taxonomy()
    unknown = taxonomy.unknown(codes)
    if unknown:
        raise Problem(
            422,
            "unknown-category",
            "Unknown problem category",
            f"Not in the taxonomy (version {taxonomy.version}): {', '.join(unknown)}. "
            "Use one of valid_categories.",
            errors=[
                {"field": f"{field}[{i}]", "reason": f"unknown category {code!r}"}
                for i, code in enumerate(codes)
                if code in unknown
            ],
            valid_categories=taxonomy.codes(),
        )


async def _uploaded(
    conn: AsyncConnection, uploader: str, wanted: list[AttachmentIn]
) -> tuple[AttachmentRef, ...]:
    # Only the uploader's own files: a hash alone must not let a partner attach (or
    # probe for) what someone else uploaded.
    if not wanted:
        return ()
    rows = await conn.execute(
        text(
            """SELECT sha256, size, content_type, name FROM attachment_uploads
               WHERE uploader = :u AND sha256 = ANY(:h)"""
        ),
        {"u": uploader, "h": [a.sha256 for a in wanted]},
    )
    found = {r.sha256: AttachmentRef(**r._mapping) for r in rows}
    missing = [
        {"field": f"attachments[{i}].sha256", "reason": "no upload with this hash"}
        for i, a in enumerate(wanted)
        if a.sha256 not in found
    ]
    if missing:
        raise Problem(
            422,
            "unknown-attachment",
            "Attachment not uploaded",
            "Upload each file with POST /v1/attachments first, then name its sha256.",
            errors=missing,
        )
    return tuple(found[a.sha256] for a in wanted)


def _answer(out: dict[str, Any], status_code: int, *, replayed: bool = False) -> JSONResponse:
    # A retry gets the first answer whole, Location included, marked as a replay.
    headers = {"Location": out["status_url"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(out, status_code, headers=headers)


def _transfer_out(event: ClueReceived, view: SourceView | None = None) -> TransferOut:
    view = view or SourceView(updated_at=event.received_at)
    return TransferOut(
        clue_id=event.clue_id,
        clue_number=event.clue_number,
        reference=event.source_reference,
        status=view.status,
        status_label=status_label(view.status),
        outcome=view.outcome,
        categories=event.categories,
        received_at=event.received_at,
        updated_at=view.updated_at,
        status_url=_status_url(event.clue_id),
    )


async def _merged_out(store: Store, merged: ClueMerged, department: str | None) -> TransferOut:
    # The partner learns that its transfer joined an existing clue; which clue, only when
    # that clue is one of its own.
    original = await store.read_stream(clue_stream(merged.clue_id))
    first = original[0].event if original else None
    into = None
    if isinstance(first, ClueReceived) and first.source_department == department:
        into = MergedInto(clue_number=first.clue_number, reference=first.source_reference)
    received_at = merged.received_at or merged.merged_at
    return TransferOut(
        clue_id=merged.repeat_id,
        clue_number=merged.repeat_number,
        reference=merged.source_reference,
        status="merged",
        status_label=status_label("merged"),
        categories=merged.categories,
        received_at=received_at,
        updated_at=merged.merged_at,
        status_url=_status_url(merged.repeat_id),
        merged_into=into,
    )


@router.get("/clue-transfers/{clue_id}", response_model=TransferOut)
async def get_transfer(clue_id: UUID, partner: Partner, store: Store) -> Any:
    """A transfer's status and outcome; another department's clue is not found."""
    history = [r.event for r in await store.read_stream(clue_stream(clue_id))]
    received = next((e for e in history if isinstance(e, ClueReceived)), None)
    if received is not None and received.source_department == partner.department:
        view = SourceView()
        for event in history:
            view = evolve(view, event)
        return _transfer_out(received, view)
    if received is None and (merged := await merged_into(store, clue_id)) is not None:
        if merged.source_department == partner.department:
            return await _merged_out(store, merged, partner.department)
    raise Problem(
        404, "not-found", "Not found", f"No clue transfer {clue_id} from your department."
    )


@router.get("/clue-transfers", response_model=Page[TransferOut])
async def list_transfers(
    partner: Partner,
    store: Store,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: str | None = None,
) -> Page[TransferOut]:
    """The department's own transfers, oldest first, cursor-paginated."""
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM transfers",
            keyset=BY_RECEIPT,
            where={"d": ("department = :d", partner.department), "st": ("status = :st", status)},
            cursor=cursor,
            limit=limit,
        )
    items = [
        TransferOut(
            clue_id=r["clue_id"],
            clue_number=r["clue_number"],
            reference=r["reference"],
            status=r["status"],
            status_label=status_label(r["status"]),
            outcome=r["outcome"],
            categories=r["categories"],
            received_at=r["received_at"],
            updated_at=r["updated_at"],
            status_url=_status_url(r["clue_id"]),
        )
        for r in rows
    ]
    return Page[TransferOut](items=items, next_cursor=next_cursor)
