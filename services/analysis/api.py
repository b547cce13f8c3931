"""Analysis's HTTP API: the subject index (alerts and feeds come with the analysis issue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import text

from libs.kit.auth import Principal, require_roles
from libs.kit.pagination import Page, decode_cursor, encode_cursor
from libs.kit.service import Store

router = APIRouter(prefix="/v1", tags=["subjects"])

Operator = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "analyst", "leader", "auditor")
]


class SubjectOut(BaseModel):
    """A person named in clues, and which ones."""

    subject_key: str
    name: str
    unit: str
    clue_ids: list[UUID]
    first_seen: datetime
    last_seen: datetime


@router.get("/subjects", response_model=Page[SubjectOut])
async def list_subjects(
    operator: Operator,
    store: Store,
    name: str | None = None,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[SubjectOut]:
    """Subjects by name and/or unit, in key order."""
    sql = "SELECT * FROM subject_index WHERE true"
    params: dict[str, Any] = {"n": limit + 1}
    if name:
        sql += " AND name = :name"
        params["name"] = name
    if unit:
        sql += " AND unit = :unit"
        params["unit"] = unit
    if cursor:
        (after,) = decode_cursor(cursor, str)
        sql += " AND subject_key > :after"
        params["after"] = after
    sql += " ORDER BY subject_key LIMIT :n"
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text(sql), params)).all()
    items = [SubjectOut(**r._mapping) for r in rows[:limit]]
    return Page[SubjectOut](
        items=items, next_cursor=encode_cursor(items[-1].subject_key) if len(rows) > limit else None
    )
