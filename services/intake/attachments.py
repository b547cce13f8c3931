"""Attachments stored on disk by content (SHA-256), outside the event store.

An upload streams through a multipart parser into a temporary file in the attachments
directory while it is hashed and counted; it is refused the moment it passes the size
limit, and renamed to ``<dir>/<aa>/<sha256>`` only when complete. The same content
uploaded twice is one file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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


def path_of(directory: Path, sha256: str) -> Path:
    """Where the file with this hash lives."""
    return directory / sha256[:2] / sha256


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
                "Send one file per upload",
                "Upload each attachment on its own request.",
                errors=[{"field": "file", "reason": "more than one file part"}],
            )
        if content_type not in self.allowed_types:
            raise Problem(
                415,
                "attachment-type-not-allowed",
                "This type of file is not accepted",
                f"{content_type or 'A file without a type'} is not accepted; "
                f"allowed: {', '.join(self.allowed_types)}.",
                errors=[{"field": "file", "reason": f"type {content_type!r} not allowed"}],
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
                "The attachment is too large",
                f"Attachments may be at most {self.max_bytes} bytes.",
                errors=[{"field": "file", "reason": f"larger than {self.max_bytes} bytes"}],
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
                "No file in the upload",
                "Send the attachment as a multipart/form-data part named 'file' with a filename.",
                errors=[{"field": "file", "reason": "missing"}],
            )
        self._tmp.close()
        signatures = _MAGIC.get(self.content_type)
        if self._size == 0 or (signatures and not self._head.startswith(signatures)):
            raise Problem(
                415,
                "attachment-content-mismatch",
                "The file's content does not match its type",
                f"The file is empty or is not really {self.content_type}.",
                errors=[{"field": "file", "reason": "content does not match the declared type"}],
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
