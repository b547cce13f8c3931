"""Casework's HTTP API for documents (文书): a case's list, one download, 送达.

Reading the list or a document is a recorded read of the case like every other view;
serving one is a command of the pipeline (If-Match optional, Idempotency-Key honoured).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts.documents import ServiceManner
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.documents import download
from libs.kit.service import Store
from services.casework.api.deps import CaseworkDeps, Operator
from services.casework.domain.documents import ServeDocument
from services.casework.domain.state import IssuedDocument
from services.casework.service import SERVE, read_case, read_document

router = APIRouter(prefix="/v1", tags=["documents"])


class ServeIn(BaseModel):
    """送达: the day the document reached its addressee and how (直接送达, 留置送达…)."""

    model_config = ConfigDict(extra="forbid")

    served_on: date
    manner: ServiceManner
    reason: str = Field(default="", max_length=4000)


def document_body(case_id: UUID, d: IssuedDocument) -> dict[str, Any]:
    """A document as the list shows it, with where to download it."""
    body = d.model_dump(mode="json")
    body["manner_label"] = ServiceManner(d.manner).label if d.manner else None
    body["href"] = f"/v1/cases/{case_id}/documents/{d.document_id}"
    return body


@router.get("/cases/{case_id}/documents")
async def list_documents(case_id: UUID, principal: Operator, store: Store) -> dict[str, Any]:
    """The case's documents (文书), oldest first: number, title, hash, whether served."""
    state, _ = await read_case(store, case_id, principal, "documents", None)
    return {"items": [document_body(case_id, d) for d in state.documents]}


@router.get(
    "/cases/{case_id}/documents/{document_id}",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_document(
    case_id: UUID, document_id: UUID, principal: Operator, store: Store, deps: CaseworkDeps
) -> Response:
    """One document as the .docx it was issued as (its SHA-256 is the ``ETag``)."""
    document, content = await read_document(store, deps, case_id, document_id, principal)
    return download(
        content,
        number=document.number,
        title=document.title,
        sha256=document.sha256,
        media_type=document.media_type,
    )


@router.post("/cases/{case_id}/documents/{document_id}/serve")
async def serve_document(
    case_id: UUID,
    document_id: UUID,
    body: ServeIn,
    principal: Operator,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """送达: record that the document reached its addressee; clocks that count from service
    (复审 within a month of receiving the decision) start on that day."""
    command = ServeDocument(document_id=document_id, **body.model_dump())
    return await commands.run(
        SERVE, case_id, command, principal, if_match=if_match, idempotency_key=idempotency_key
    )
