"""廉政档案 and 党风廉政意见回复 over HTTP: the organisation department's request (signed
off before it is answered), the reply, and a cadre's record for those who may see it.
Every answer that opens a cadre's record is recorded (个人信息查阅记录)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.events.contracts.approvals import ProposalSubmitted
from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.fields import STRIPPED
from libs.kit.openapi import VERSIONED
from libs.kit.service import ReadConnection, Store
from services.accountability import queries, queries_oversight
from services.accountability.api.deps import AccountabilityDeps
from services.accountability.api.reports import ProposalStatus, proposal_rows
from services.accountability.domain.integrity import reply
from services.accountability.personal import revealing_role
from services.accountability.service.integrity import (
    INTEGRITY_REPLY,
    INTEGRITY_REPLY_APPROVALS,
    ISSUE_INTEGRITY_REPLY,
    IntegrityRequestIn,
    cadre_record,
    record_read,
    reply_body,
)

router = APIRouter(prefix="/v1", tags=["integrity records"])

Requester = Annotated[Principal, require_roles("organisation", "accountability")]
"""组织部门 (a system client with the role ``organisation``) or 党风政风监督室 entering a letter."""
ReplyReader = Annotated[
    Principal,
    require_roles("organisation", "accountability", "director", "leader", "secretary", "auditor"),
]
RecordReader = Annotated[
    Principal, require_roles("accountability", "director", "leader", "secretary")
]


@router.post("/integrity-replies", status_code=202)
async def request_integrity_reply(
    body: IntegrityRequestIn,
    requester: Requester,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """党风廉政意见回复: ask about one cadre, with the purpose and the letter's number. The
    answer is 202 with the request waiting for 室主任审核 → 分管领导审批; the reply is read at
    ``/v1/integrity-replies/{reply_id}`` once the last one signed."""
    return await commands.run(
        ISSUE_INTEGRITY_REPLY, None, body, requester, idempotency_key=idempotency_key
    )


@router.get("/integrity-reply-proposals")
async def integrity_reply_proposals(
    reader: ReplyReader, conn: ReadConnection, status: ProposalStatus = None
) -> JSONResponse:
    """党风廉政意见回复 requests under approval (``status=open``) or all, as the console signs
    them: the reply each asks for (``matter``), the step it waits on and ``version``, the
    If-Match of its sign-off. No cadre is named: the request's body is read at ``location``."""
    rows = await queries.proposals_of(conn, ISSUE_INTEGRITY_REPLY.name, status)
    return proposal_rows(rows, INTEGRITY_REPLY_APPROVALS.path)


@router.get("/integrity-replies/{reply_id}", responses=VERSIONED)
async def integrity_reply(
    reply_id: UUID, reader: ReplyReader, store: Store, deps: AccountabilityDeps
) -> JSONResponse:
    """The reply (its statements and conclusion, the cadre masked), or where the request
    stands; reading a reply is recorded."""
    records = await store.read_stream(INTEGRITY_REPLY.stream(reply_id))
    if not records:
        raise INTEGRITY_REPLY.missing_problem(reply_id)
    state = INTEGRITY_REPLY.replay([r.event for r in records])
    etag = {"ETag": f'"{records[-1].version}"'}  # what a sign-off sends back as If-Match
    if state is None:
        submitted = next(r.event for r in records if isinstance(r.event, ProposalSubmitted))
        return JSONResponse(
            {
                "reply_id": str(reply_id),
                "status": "awaiting_approval",
                "status_label": "审批中",
                "proposal": f"/v1/integrity-replies/{reply_id}/proposals/{submitted.proposal_id}",
            },
            headers=etag,
        )
    role = sorted(reader.roles)[0] if reader.roles else reader.kind
    await record_read(
        store, reply_id, state.person_refs, reader, role, f"查阅意见回复：{state.purpose}"
    )
    return JSONResponse(
        {
            **reply_body(state),
            "conclusion_label": deps.integrity.conclusion_labels.get(state.conclusion, ""),
            "status": "replied",
            "status_label": "已回复",
        },
        headers=etag,
    )


class RecordLookup(BaseModel):
    """Whose 廉政档案, and why (in the body, so no name reaches an address or a log)."""

    model_config = STRIPPED

    name: Annotated[str, Field(min_length=1, max_length=50)]
    unit: Annotated[str, Field(min_length=1, max_length=200)]
    id_number: Annotated[str | None, Field(max_length=32)] = None
    purpose: Annotated[str, Field(min_length=2, max_length=200)]


@router.post("/integrity-records/lookup")
async def integrity_record(
    body: RecordLookup,
    reader: RecordReader,
    store: Store,
    deps: AccountabilityDeps,
) -> JSONResponse:
    """A cadre's 廉政档案 — every sanction with its 影响期, case, clue and its disposal, name
    cleared — with what a reply would say today and the replies given; the read and its
    purpose are recorded."""
    role = revealing_role(reader, "廉政档案只向党风政风监督室和领导开放。")
    assert deps.vault is not None
    indexes = [deps.vault.blind_index("name_unit", body.name, body.unit)]
    if body.id_number:
        indexes.append(deps.vault.blind_index("id", body.id_number))
    found = [await deps.vault.known_as(i) for i in indexes]
    refs = list(dict.fromkeys(r for r in found if r is not None))
    today = store.clock().astimezone(ZoneInfo(deps.rules.reports.timezone)).date()
    async with store.engine.connect() as conn:  # given back before the read is recorded
        entries = await cadre_record(conn, refs, deps, today)
        replies = await queries_oversight.integrity_replies(conn, refs) if refs else []
    said, conclusion = reply(entries, deps.integrity)
    if refs:
        await record_read(store, refs[0], refs, reader, role, f"查阅廉政档案：{body.purpose}")
    return JSONResponse(
        {
            "cadre": {"name": body.name, "unit": body.unit},
            "as_of": today.isoformat(),
            "entries": [_entry(e, e in said) for e in entries],
            "conclusion": conclusion,
            "conclusion_label": deps.integrity.conclusion_labels[conclusion],
            "conclusion_text": deps.integrity.conclusions[conclusion],
            "replies": [
                {**r, "reply_id": str(r["reply_id"]), "issued_at": r["issued_at"].isoformat()}
                for r in replies
            ],
        }
    )


def _entry(e: Any, said: bool) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "status": e.status,
        "on": e.at.isoformat(),
        "reference": e.reference,
        "text": e.text,
        "until": e.until.isoformat() if e.until else None,
        "stated_in_reply": said,
    }
