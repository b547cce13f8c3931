"""Accountability's HTTP API: the unit index (一案双查 comes with the accountability issue)."""

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

router = APIRouter(prefix="/v1", tags=["units"])

Operator = Annotated[Principal, require_roles("supervisor", "accountability", "leader", "auditor")]


class UnitOut(BaseModel):
    """A unit and the clues about its people."""

    unit_key: str
    unit: str
    clue_count: int
    clue_ids: list[UUID]
    categories: list[str]
    last_clue_at: datetime


@router.get("/units", response_model=Page[UnitOut])
async def list_units(
    operator: Operator,
    store: Store,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[UnitOut]:
    """Units with clues, in key order; filter by unit name."""
    sql = "SELECT *, cardinality(clue_ids) AS clue_count FROM unit_index WHERE true"
    params: dict[str, Any] = {"n": limit + 1}
    if unit:
        sql += " AND unit = :unit"
        params["unit"] = unit
    if cursor:
        (after,) = decode_cursor(cursor, str)
        sql += " AND unit_key > :after"
        params["after"] = after
    sql += " ORDER BY unit_key LIMIT :n"
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text(sql), params)).all()
    items = [UnitOut(**r._mapping) for r in rows[:limit]]
    return Page[UnitOut](
        items=items, next_cursor=encode_cursor(items[-1].unit_key) if len(rows) > limit else None
    )
