"""Files stored on disk by their content (SHA-256), outside the event store.

A file lives at ``<dir>/<aa>/<sha256>``: the same content is one file, an event names it
by its hash, and whoever reads it can check that it is what the event recorded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stored:
    """What an event keeps of a stored file."""

    sha256: str
    size: int


def path_of(directory: Path, sha256: str) -> Path:
    """Where the file with this hash lives."""
    return directory / sha256[:2] / sha256


def put(directory: Path, content: bytes) -> Stored:
    """Store ``content`` under its hash (written whole, then renamed into place)."""
    sha = hashlib.sha256(content).hexdigest()
    target = path_of(directory, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, target)
    return Stored(sha, len(content))


def put_as(directory: Path, sha256: str, blob: bytes) -> None:
    """Store ``blob`` under another content's hash: a file sealed at rest, named by the hash
    of its plain content (which whoever opens it checks)."""
    target = path_of(directory, sha256)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
    with os.fdopen(fd, "wb") as f:
        f.write(blob)
    os.replace(tmp, target)


def read_raw(directory: Path, sha256: str) -> bytes | None:
    """The bytes stored under a hash as they are (a sealed file still sealed)."""
    target = path_of(directory, sha256)
    return target.read_bytes() if target.is_file() else None


def read(directory: Path, sha256: str) -> bytes | None:
    """The stored content with this hash, or ``None`` when it is missing or altered."""
    target = path_of(directory, sha256)
    if not target.is_file():
        return None
    content = target.read_bytes()
    return content if hashlib.sha256(content).hexdigest() == sha256 else None
