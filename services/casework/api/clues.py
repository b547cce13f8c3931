"""Casework's HTTP API: the clue ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import RowMapping

from libs.events.contracts.intake import ReportedPerson
from libs.kit.openapi import VERSIONED
from libs.kit.pagination import Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection
from services.casework import queries
from services.casework.api.deps import Operator
from services.casework.domain import ClueStatus
from services.casework.queries import ClueFilter

router = APIRouter(prefix="/v1", tags=["clues"])


class ClueOut(BaseModel):
    """A clue as the ledger shows it."""

    clue_id: UUID
    clue_number: str
    status: ClueStatus
    status_label: str
    source_kind: str
    source_department: str | None
    source_reference: str | None
    reported_persons: list[ReportedPerson]
    categories: list[str]
    narrative: str
    received_at: datetime
    registered_at: datetime
    version: int
    repeat_count: int = 0
    """重复件: repeat reports intake merged into this clue."""
    priority: str = "normal"


def _out(row: RowMapping) -> ClueOut:
    status = ClueStatus(row["status"])
    return ClueOut(
        status=status,
        status_label=status.label,
        **{k: v for k, v in row.items() if k != "status"},
    )


@router.get("/clues/{clue_id}", response_model=ClueOut, responses=VERSIONED)
async def get_clue(
    clue_id: UUID, operator: Operator, conn: ReadConnection, response: Response
) -> ClueOut:
    """One clue from the ledger; its version goes in ``ETag`` for later commands."""
    row = await queries.clue(conn, clue_id)
    if row is None:
        raise Problem(404, "not-found", "线索不存在", f"线索台账中（尚）没有 {clue_id}。")
    response.headers["ETag"] = f'"{row["version"]}"'
    return _out(row)


@router.get("/clues", response_model=Page[ClueOut])
async def list_clues(
    operator: Operator,
    conn: ReadConnection,
    status: ClueStatus | None = None,
    category: str | None = None,
    min_repeat_count: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ClueOut]:
    """The ledger, oldest first; filter by status, category, and repeat reports (重复件)."""
    rows, next_cursor = await queries.clues(
        conn, ClueFilter(status, category, min_repeat_count), cursor, limit
    )
    return Page[ClueOut](items=[_out(r) for r in rows], next_cursor=next_cursor)
