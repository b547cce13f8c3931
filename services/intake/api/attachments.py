"""Attachment upload: a streamed multipart body becomes a content-addressed file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import text

from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import Partner, Settings
from services.intake.attachments import AttachmentSink

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
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise Problem(
            415,
            "multipart-required",
            "Send the file as multipart/form-data",
            "Use Content-Type multipart/form-data with a part named 'file'.",
            errors=[{"field": "file", "reason": "not a multipart/form-data body"}],
        )
    sink = AttachmentSink(
        settings.attachments_dir,
        max_bytes=settings.attachment_max_bytes,
        allowed_types=settings.attachment_types,
    )
    part: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "is_file": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][part["field"].decode("latin-1").lower()] = part["value"]
        part["field"], part["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(part["headers"].get("content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        part["is_file"] = name == "file" and filename is not None
        if part["is_file"]:
            declared = part["headers"].get("content-type", b"").decode("latin-1")
            sink.begin(
                filename.decode("utf-8", "replace").rsplit("/", 1)[-1][:255],  # type: ignore[union-attr]
                parse_options_header(declared)[0].decode("latin-1"),
            )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part["is_file"]:
            sink.write(data[start:end])

    def on_part_begin() -> None:
        part["headers"], part["is_file"] = {}, False

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        stored = sink.finish()
    except Problem:
        sink.abort()
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        sink.abort()
        raise Problem(
            400,
            "malformed-multipart",
            "The upload is not valid multipart/form-data",
            str(exc),
            errors=[{"field": "file", "reason": "malformed multipart body"}],
        ) from exc
    now = store.clock()
    async with store.engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    """INSERT INTO attachment_uploads
                           (uploader, sha256, size, content_type, name, uploaded_at)
                       VALUES (:u, :h, :s, :t, :n, :at)
                       ON CONFLICT (uploader, sha256) DO UPDATE
                           SET name = EXCLUDED.name, content_type = EXCLUDED.content_type
                       RETURNING uploaded_at"""
                ),
                {
                    "u": partner.actor,
                    "h": stored.sha256,
                    "s": stored.size,
                    "t": stored.content_type,
                    "n": stored.name,
                    "at": now,
                },
            )
        ).one()
    return AttachmentOut(
        sha256=stored.sha256,
        size=stored.size,
        content_type=stored.content_type,
        name=stored.name,
        uploaded_at=row.uploaded_at,
    )
