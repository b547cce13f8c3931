"""Attachment upload: a streamed multipart body becomes a content-addressed file."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from libs.kit.openapi import refusals
from libs.kit.service import Store
from services.intake.api.deps import Partner, Settings
from services.intake.attachments import AttachmentSink, receive_upload, record_upload

router = APIRouter(prefix="/v1", tags=["attachments"])


class AttachmentOut(BaseModel):
    """An uploaded attachment; name its ``sha256`` in a transfer's ``attachments``."""

    sha256: str
    size: int
    content_type: str
    name: str
    uploaded_at: datetime


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentOut,
    responses=refusals(
        (415, "attachment-type-not-allowed", "不接受该类型的文件（可上传的类型由部署设定）")
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_attachment(
    request: Request, partner: Partner, store: Store, settings: Settings
) -> AttachmentOut:
    """Stream one file (multipart part ``file``); refused as soon as it passes the limit."""
    sink = AttachmentSink(
        settings.attachments_dir,
        max_bytes=settings.attachment_max_bytes,
        allowed_types=settings.attachment_types,
    )
    stored = await receive_upload(request.headers.get("content-type", ""), request.stream(), sink)
    uploaded_at = await record_upload(store, partner.actor, stored)
    return AttachmentOut(
        sha256=stored.sha256,
        size=stored.size,
        content_type=stored.content_type,
        name=stored.name,
        uploaded_at=uploaded_at,
    )
