"""Cursor pagination for every list endpoint: opaque cursors, stable order."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from libs.kit.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next one (``None`` on the last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    """An opaque cursor from the sort key of the last item on a page."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort key inside a cursor; a 400 problem if it was not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("wrong shape")
        return values
    except (ValueError, TypeError) as exc:
        raise Problem(
            400,
            "invalid-cursor",
            "Invalid cursor",
            "Use the next_cursor value from the previous page unchanged.",
            errors=[{"field": "cursor", "reason": "not a cursor issued by this list"}],
        ) from exc
