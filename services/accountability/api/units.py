"""Accountability's HTTP API: the unit index (clues per unit)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from libs.kit.auth import Principal, require_roles
from libs.kit.pagination import Page
from libs.kit.service import ReadConnection
from services.accountability import queries
from services.accountability.queries import UnitFilter

router = APIRouter(prefix="/v1", tags=["units"])

Operator = Annotated[
    Principal,
    require_roles("supervisor", "accountability", "leader", "director", "secretary", "auditor"),
]


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
    conn: ReadConnection,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[UnitOut]:
    """Units with clues, in key order; filter by unit name."""
    rows, next_cursor = await queries.units(conn, UnitFilter(unit), cursor, limit)
    return Page[UnitOut](items=[UnitOut(**r) for r in rows], next_cursor=next_cursor)
