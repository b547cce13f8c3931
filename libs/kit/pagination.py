"""Cursor pagination for every list endpoint: opaque cursors, stable order."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
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


def decode_cursor(cursor: str, *parsers: Callable[[Any], Any]) -> list[Any]:
    """The sort key inside a cursor, one value per parser (``datetime.fromisoformat``,
    ``UUID``, ``str``); a 400 problem if it was not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise ValueError("wrong shape")
        # A tampered cursor must be a 400 here, not a type error in the query later.
        return [parse(value) for parse, value in zip(parsers, values, strict=True)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise Problem(
            400,
            "invalid-cursor",
            "Invalid cursor",
            "Use the next_cursor value from the previous page unchanged.",
            errors=[{"field": "cursor", "reason": "not a cursor issued by this list"}],
        ) from exc
