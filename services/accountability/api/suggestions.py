"""纪检监察建议书 over HTTP: propose one to a unit from a decided case or an inquiry, read it
and its document, record the unit's reply (which opens the unit's rectification list)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.kit import documents
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.openapi import VERSIONED, refusals
from libs.kit.pagination import Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from services.accountability import queries as matter_queries
from services.accountability import queries_rectification as queries
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader
from services.accountability.api.reports import ProposalStatus, proposal_rows
from services.accountability.domain.suggestions import STATUS_LABELS
from services.accountability.queries_rectification import SuggestionFilter
from services.accountability.service.suggestions import (
    ISSUE,
    REPLY,
    SUGGESTION_APPROVALS,
    IssueIn,
    ReplyIn,
    fields,
    new_suggestion_id,
    read_suggestion,
    view,
)

router = APIRouter(prefix="/v1", tags=["suggestions"])


@router.post(
    "/suggestions",
    status_code=201,
    responses=refusals((422, "unknown-basis", "建议书依据的案件或整改清单不存在或尚未作出决定")),
)
async def issue_suggestion(
    body: IssueIn, officer: Officer, commands: Commands, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Propose a 纪检监察建议书 to a unit (202 with the proposal); the last sign-off of its chain
    issues it (201) with its numbered document and a reply deadline in working days."""
    suggestion_id = new_suggestion_id(officer, idempotency_key)
    return await commands.run(ISSUE, suggestion_id, body, officer, idempotency_key=idempotency_key)


@router.get("/suggestion-proposals")
async def suggestion_proposals(
    reader: Reader, conn: ReadConnection, status: ProposalStatus = None
) -> JSONResponse:
    """建议书 proposed and not yet issued (``status=open``: under approval; ``returned``: back
    with their proposer), each with ``version``, the If-Match of its sign-off, and
    ``location``, its chain."""
    rows = await matter_queries.proposals_of(conn, ISSUE.name, status)
    return proposal_rows(rows, SUGGESTION_APPROVALS.path)


@router.get("/suggestions/{suggestion_id}", responses=VERSIONED)
async def get_suggestion(
    suggestion_id: UUID, reader: Reader, store: Store, deps: AccountabilityDeps, response: Response
) -> dict[str, Any]:
    """One 建议书: its basis, problems, recommendations, number, reply deadline and reply."""
    state, version = await read_suggestion(store, suggestion_id)
    response.headers["ETag"] = f'"{version}"'
    return view(state, version, deps.rectification)


@router.get(
    "/suggestions/{suggestion_id}/document",
    responses={200: {"content": {documents.MEDIA_TYPE: {}}}},
)
async def download_suggestion(
    suggestion_id: UUID, reader: Reader, store: Store, deps: AccountabilityDeps
) -> Response:
    """The 建议书 as the .docx it was issued as (rendered again from its events if the file
    is lost; its SHA-256 is the ``ETag``)."""
    state, _ = await read_suggestion(store, suggestion_id)
    found, docs = state.document, deps.documents
    if found is None or docs is None:
        raise Problem(404, "not-found", "文书不存在", "该建议书尚未制发文书。")
    content = await documents.stored_content(docs.directory, found.sha256, None)
    if content is None:
        filled = await documents.opened(deps.vault, fields(state, deps.rectification))
        content = documents.rerender(docs.templates, found, filled)
        await documents.store(docs.directory, content)
    return documents.download(
        content, number=found.number, title=found.title, sha256=found.sha256,
        media_type=found.media_type,
    )  # fmt: skip


@router.post("/suggestions/{suggestion_id}/reply")
async def reply(
    suggestion_id: UUID,
    body: ReplyIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record the unit's reply; its items open the unit's rectification list (source 建议书)."""
    return await commands.run(
        REPLY, suggestion_id, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


class SuggestionRow(BaseModel):
    suggestion_id: UUID
    unit: str
    number: str | None
    basis_kind: str
    basis_reference: str
    reply_due: date
    status: str
    status_label: str
    overdue: bool
    list_id: UUID | None
    issued_at: datetime
    replied_at: datetime | None


@router.get("/suggestions", response_model=Page[SuggestionRow])
async def list_suggestions(
    reader: Reader,
    conn: ReadConnection,
    unit: str | None = None,
    status: Annotated[str | None, Query(json_schema_extra={"enum": list(STATUS_LABELS)})] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[SuggestionRow]:
    """建议书 issued, oldest first: by unit and status (awaiting_reply 待回复 / replied 已回复)."""
    if status is not None and status not in STATUS_LABELS:
        raise Problem(
            400, "invalid-status", "状态不对",
            f"{status} 不是建议书状态，可选：awaiting_reply（待回复）、replied（已回复）。",
            errors=[{"field": "status", "reason": "不是建议书状态"}],
        )  # fmt: skip
    rows, next_cursor = await queries.suggestions(
        conn, SuggestionFilter(unit, status), cursor, limit
    )
    items = [SuggestionRow(**r, status_label=STATUS_LABELS[r["status"]]) for r in rows]
    return Page[SuggestionRow](items=items, next_cursor=next_cursor)
