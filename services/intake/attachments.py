"""Attachments stored on disk by content (SHA-256), outside the event store.

An upload streams through a multipart parser into a temporary file in the attachments
directory while it is hashed and counted; it is refused the moment it passes the size
limit, and renamed to ``<dir>/<aa>/<sha256>`` only when complete. The same content
uploaded twice is one file; each uploader's uploads are recorded (``attachment_uploads``),
and a transfer may name only its own.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import text

from libs.events.store import EventStore
from libs.kit.files import path_of
from libs.kit.problems import Problem

# What the first bytes of a declared type must look like, where a type has a signature.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}


@dataclass(frozen=True)
class StoredFile:
    """What the event keeps of an attachment."""

    sha256: str
    size: int
    content_type: str
    name: str


class AttachmentSink:
    """Receives one file part chunk by chunk: hashes, counts, checks and stores it."""

    def __init__(self, directory: Path, *, max_bytes: int, allowed_types: list[str]) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.allowed_types = allowed_types
        self.name = ""
        self.content_type = ""
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = b""
        self._tmp: IO[bytes] | None = None

    def begin(self, name: str, content_type: str) -> None:
        """A file part starts: check its declared type before reading any of it."""
        if self._tmp is not None:
            raise Problem(
                400,
                "one-file-per-upload",
                "每次只能上传一个文件",
                "请逐个上传附件。",
                errors=[{"field": "file", "reason": "含有多个文件"}],
            )
        if content_type not in self.allowed_types:
            raise Problem(
                415,
                "attachment-type-not-allowed",
                "不接受该类型的文件",
                f"不接受{content_type or '未标明类型的文件'}；"
                f"可上传的类型：{'、'.join(self.allowed_types)}。",
                errors=[{"field": "file", "reason": f"不接受类型 {content_type!r}"}],
                allowed_types=self.allowed_types,
            )
        self.name = name
        self.content_type = content_type
        self.directory.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.NamedTemporaryFile(dir=self.directory, prefix=".upload-", delete=False)

    def write(self, data: bytes) -> None:
        """More bytes of the file."""
        assert self._tmp is not None
        self._size += len(data)
        if self._size > self.max_bytes:
            raise Problem(
                413,
                "attachment-too-large",
                "附件过大",
                f"附件不得超过 {self.max_bytes} 字节。",
                errors=[{"field": "file", "reason": f"超过 {self.max_bytes} 字节"}],
            )
        if len(self._head) < 16:
            self._head += data[: 16 - len(self._head)]
        self._hash.update(data)
        self._tmp.write(data)

    def finish(self) -> StoredFile:
        """The file is complete: check its signature and move it to its content address."""
        if self._tmp is None:
            raise Problem(
                422,
                "no-file",
                "未收到文件",
                "请以 multipart/form-data 上传，文件部分命名为 file 并带文件名。",
                errors=[{"field": "file", "reason": "必填"}],
            )
        self._tmp.close()
        signatures = _MAGIC.get(self.content_type)
        if self._size == 0 or (signatures and not self._head.startswith(signatures)):
            raise Problem(
                415,
                "attachment-content-mismatch",
                "文件内容与类型不符",
                f"文件为空，或并非 {self.content_type} 文件。",
                errors=[{"field": "file", "reason": "内容与声明的类型不符"}],
            )
        sha = self._hash.hexdigest()
        target = path_of(self.directory, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp.name, target)
        self._tmp = None
        return StoredFile(sha, self._size, self.content_type, self.name)

    def abort(self) -> None:
        """Drop a partial file."""
        if self._tmp is not None:
            self._tmp.close()
            Path(self._tmp.name).unlink(missing_ok=True)
            self._tmp = None


def _parser(boundary: bytes, sink: AttachmentSink) -> MultipartParser:
    """A multipart parser that hands the part named ``file`` to ``sink`` as it streams."""
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

    return MultipartParser(
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


async def receive_upload(
    content_type: str, chunks: AsyncIterator[bytes], sink: AttachmentSink
) -> StoredFile:
    """Stream a ``multipart/form-data`` body's file part into ``sink``; the stored file."""
    ctype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise Problem(
            415,
            "multipart-required",
            "请以 multipart/form-data 上传文件",
            "请使用 Content-Type multipart/form-data，文件部分命名为 file。",
            errors=[{"field": "file", "reason": "不是 multipart/form-data 格式"}],
        )
    parser = _parser(boundary, sink)
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        return sink.finish()
    except Problem:
        sink.abort()
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        sink.abort()
        raise Problem(
            400,
            "malformed-multipart",
            "上传的内容不是有效的 multipart/form-data",
            "上传内容格式有误，请重新上传。",
            errors=[{"field": "file", "reason": "multipart 格式有误"}],
        ) from exc


async def record_upload(store: EventStore, uploader: str, stored: StoredFile) -> datetime:
    """Record that ``uploader`` uploaded the file (again: the latest name and type win);
    when it was first uploaded."""
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
                    "u": uploader,
                    "h": stored.sha256,
                    "s": stored.size,
                    "t": stored.content_type,
                    "n": stored.name,
                    "at": store.clock(),
                },
            )
        ).one()
    uploaded_at: datetime = row.uploaded_at
    return uploaded_at
