"""一案双查 inquiries over HTTP: open, check duties, record findings, propose and decide 问责."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.kit.commands import Commands, IdempotencyKey, RequiredIfMatch
from libs.kit.documents import download
from libs.kit.openapi import VERSIONED, refusals
from libs.kit.pagination import Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from services.accountability import queries
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader, Reviewer
from services.accountability.queries import InquiryFilter
from services.accountability.service import documents
from services.accountability.service.inquiries import (
    CHECK_DUTY,
    CONCLUDE,
    DECIDE_MEASURE,
    OPEN,
    PROPOSE_MEASURE,
    RECORD_FINDING,
    REVIEW_MEASURE,
    SERVE,
    ConclusionIn,
    DecisionIn,
    DutyCheckIn,
    FindingIn,
    MeasureIn,
    OnDocument,
    OnMeasure,
    OpenIn,
    ReviewIn,
    ServeIn,
    new_inquiry_id,
    read_inquiry,
    reveal_names,
    view,
)

router = APIRouter(prefix="/v1", tags=["inquiries"])


@router.post(
    "/inquiries",
    status_code=201,
    responses=refusals((422, "no-list", "该单位没有覆盖问题发生日期的责任清单")),
)
async def open_inquiry(
    body: OpenIn, officer: Officer, commands: Commands, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Open an inquiry by hand; its parties come from the list valid on the misconduct date."""
    inquiry_id = new_inquiry_id(officer, idempotency_key)
    response = await commands.run(OPEN, inquiry_id, body, officer, idempotency_key=idempotency_key)
    response.headers["Location"] = f"/v1/inquiries/{inquiry_id}"
    return response


@router.get("/inquiries/{inquiry_id}", responses=VERSIONED)
async def get_inquiry(
    inquiry_id: UUID,
    reader: Reader,
    store: Store,
    deps: AccountabilityDeps,
    response: Response,
    reveal: bool = False,
) -> dict[str, Any]:
    """One inquiry with its parties, checklist, findings and measures; ``ETag`` for commands.

    Names are masked; ``reveal=true`` shows them to leaders and the accountability office
    (the access is recorded).
    """
    state, version = await read_inquiry(store, inquiry_id)
    response.headers["ETag"] = f'"{version}"'
    body = view(state, version, deps.rules)
    if reveal:
        await reveal_names(store, deps, state, reader, body)
    return body


@router.post("/inquiries/{inquiry_id}/duty-checks")
async def check_duty(
    inquiry_id: UUID,
    body: DutyCheckIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record one checklist item of a party's duties (日常监督, 警示教育, …)."""
    return await commands.run(
        CHECK_DUTY, inquiry_id, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post("/inquiries/{inquiry_id}/findings")
async def record_finding(
    inquiry_id: UUID,
    body: FindingIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record whether a party fulfilled its responsibility; not fulfilled needs reasons."""
    return await commands.run(
        RECORD_FINDING,
        inquiry_id,
        body,
        officer,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/inquiries/{inquiry_id}/measures", status_code=201)
async def propose_measure(
    inquiry_id: UUID,
    body: MeasureIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Propose a 问责 measure on a party found not to have fulfilled its responsibility."""
    return await commands.run(
        PROPOSE_MEASURE,
        inquiry_id,
        body,
        officer,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/inquiries/{inquiry_id}/measures/{measure_id}/reviews")
async def review_measure(
    inquiry_id: UUID,
    measure_id: UUID,
    body: ReviewIn,
    reviewer: Reviewer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """One office's part of the three-party review of a key-area measure."""
    on = OnMeasure(measure_id=measure_id, body=body)
    return await commands.run(
        REVIEW_MEASURE, inquiry_id, on, reviewer, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post("/inquiries/{inquiry_id}/measures/{measure_id}/decision")
async def decide_measure(
    inquiry_id: UUID,
    measure_id: UUID,
    body: DecisionIn,
    reader: Reader,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The commission's own decision (proposed by the accountability office: 202 with the
    proposal, in effect once its approval chain agrees), or the recorded decision of the body
    with authority (``decided_by_body`` names it). 组织调整 cannot be decided by the commission."""
    on = OnMeasure(measure_id=measure_id, body=body)
    return await commands.run(
        DECIDE_MEASURE, inquiry_id, on, reader, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post("/inquiries/{inquiry_id}/conclusion")
async def conclude(
    inquiry_id: UUID,
    body: ConclusionIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Conclude the inquiry once every party has a finding and no measure is pending."""
    return await commands.run(
        CONCLUDE, inquiry_id, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


class InquiryRow(BaseModel):
    inquiry_id: UUID
    unit: str
    department: str | None
    trigger_kind: str
    trigger_reason: str
    misconduct_date: date
    status: str
    opened_at: datetime
    parties: list[str]
    measures_in_effect: int


@router.get("/inquiries", response_model=Page[InquiryRow])
async def list_inquiries(
    reader: Reader,
    conn: ReadConnection,
    unit: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[InquiryRow]:
    """Inquiries, oldest first; filter by unit, status (open/concluded) and trigger kind."""
    where = InquiryFilter(unit, status, trigger)
    rows, next_cursor = await queries.inquiries(conn, where, cursor, limit)
    return Page[InquiryRow](items=[InquiryRow(**r) for r in rows], next_cursor=next_cursor)


@router.get("/inquiries/{inquiry_id}/documents")
async def list_inquiry_documents(inquiry_id: UUID, reader: Reader, store: Store) -> dict[str, Any]:
    """The inquiry's documents (问责决定书, 通报), oldest first: number, title, hash, whether
    served; the read is recorded."""
    return {"items": await documents.list_documents(store, inquiry_id, reader)}


@router.get(
    "/inquiries/{inquiry_id}/documents/{document_id}",
    responses={200: {"content": {documents.MEDIA_TYPE: {}}}},
)
async def download_inquiry_document(
    inquiry_id: UUID, document_id: UUID, reader: Reader, store: Store, deps: AccountabilityDeps
) -> Response:
    """One document as the .docx it was issued as (its SHA-256 is the ``ETag``); the
    download is a recorded read."""
    if deps.documents is None:
        raise Problem(404, "not-found", "文书不存在", "本服务未配置文书。")
    found, content = await documents.read_document(
        store, deps.documents, deps.rules, inquiry_id, document_id, reader, deps.vault
    )
    return download(
        content,
        number=found.number,
        title=found.title,
        sha256=found.sha256,
        media_type=found.media_type,
    )


@router.post("/inquiries/{inquiry_id}/documents/{document_id}/serve")
async def serve_inquiry_document(
    inquiry_id: UUID,
    document_id: UUID,
    body: ServeIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """送达: record that a 问责决定书 or 通报 reached its addressee, with the date and manner."""
    on = OnDocument(document_id=document_id, body=body)
    return await commands.run(
        SERVE, inquiry_id, on, officer, if_match=if_match, idempotency_key=idempotency_key
    )


@router.get("/inquiries/{inquiry_id}/reads")
async def list_inquiry_reads(
    inquiry_id: UUID, reader: Reader, conn: ReadConnection
) -> list[dict[str, Any]]:
    """Who read the inquiry's documents, when, which view (leaders and auditors)."""
    if not reader.roles & {"leader", "auditor"}:
        raise Problem(403, "forbidden", "无权查看", "查阅记录只向分管领导和审计人员显示。")
    return await queries.reads_of(conn, inquiry_id)
