"""Cursor pagination for every list endpoint: opaque cursors, stable order."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.kit.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next one (``None`` on the last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    """An opaque cursor from the sort key of the last item on a page."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *parsers: Callable[[Any], Any]) -> list[Any]:
    """The sort key inside a cursor, one value per parser (``datetime.fromisoformat``,
    ``UUID``, ``str``); a 400 problem if it was not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise ValueError("wrong shape")
        # A tampered cursor must be a 400 here, not a type error in the query later.
        parsed = [parse(value) for parse, value in zip(parsers, values, strict=True)]
        if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in parsed):
            raise ValueError("a number beyond bigint")
        return parsed
    except (ValueError, TypeError, AttributeError) as exc:
        raise Problem(
            400,
            "invalid-cursor",
            "翻页位置无效",
            "请原样使用上一页返回的 next_cursor。",
            errors=[{"field": "cursor", "reason": "不是本列表给出的翻页位置"}],
        ) from exc


@dataclass(frozen=True)
class Keyset:
    """The order of a list: key columns that are unique together, their SQL types, and
    how to read each back from a cursor; ``descending`` turns the whole order round
    (newest first)."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    parsers: tuple[Callable[[Any], Any], ...]
    descending: bool = False


async def fetch_page(
    conn: AsyncConnection,
    select: str,
    *,
    keyset: Keyset,
    where: Mapping[str, tuple[str, Any]],
    cursor: str | None,
    limit: int,
) -> tuple[list[RowMapping], str | None]:
    """One page of ``select`` (``SELECT … FROM …``), filtered, in keyset order.

    ``where`` maps a parameter name to its condition and value; a ``None`` value means
    the filter was not asked for. Returns the rows and the cursor of the next page.
    """
    clauses = [sql for sql, value in where.values() if value is not None]
    params: dict[str, Any] = {
        name: value for name, (_, value) in where.items() if value is not None
    }
    if cursor:
        after = decode_cursor(cursor, *keyset.parsers)
        marks = ", ".join(f"CAST(:after_{i} AS {t})" for i, t in enumerate(keyset.types))
        beyond = "<" if keyset.descending else ">"
        clauses.append(f"({', '.join(keyset.columns)}) {beyond} ({marks})")
        params.update({f"after_{i}": value for i, value in enumerate(after)})
    params["page_limit"] = limit + 1
    direction = " DESC" if keyset.descending else ""
    sql = (
        f"{select} WHERE {' AND '.join(clauses) or 'true'}"
        f" ORDER BY {', '.join(c + direction for c in keyset.columns)} LIMIT :page_limit"
    )
    rows = list((await conn.execute(text(sql), params)).mappings().all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(*(last[c] for c in keyset.columns))
