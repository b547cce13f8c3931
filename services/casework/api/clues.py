"""Casework's HTTP API: the clue ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import RowMapping, text

from libs.events.contracts.intake import ReportedPerson
from libs.kit.auth import Principal, require_roles
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.casework.domain import ClueStatus

router = APIRouter(prefix="/v1", tags=["clues"])

BY_REGISTRATION = Keyset(
    ("registered_at", "clue_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)

Operator = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "reviewer", "leader", "auditor")
]


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


@router.get("/clues/{clue_id}", response_model=ClueOut)
async def get_clue(clue_id: UUID, operator: Operator, store: Store, response: Response) -> ClueOut:
    """One clue from the ledger; its version goes in ``ETag`` for later commands."""
    async with store.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text("SELECT * FROM clue_ledger WHERE clue_id = :id"), {"id": clue_id}
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise Problem(404, "not-found", "Not found", f"Clue {clue_id} is not in the ledger (yet).")
    response.headers["ETag"] = f'"{row["version"]}"'
    return _out(row)


@router.get("/clues", response_model=Page[ClueOut])
async def list_clues(
    operator: Operator,
    store: Store,
    status: ClueStatus | None = None,
    category: str | None = None,
    min_repeat_count: Annotated[int | None, Query(ge=1)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ClueOut]:
    """The ledger, oldest first; filter by status, category, and repeat reports (重复件)."""
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM clue_ledger",
            keyset=BY_REGISTRATION,
            where={
                "st": ("status = :st", status.value if status else None),
                "cat": (":cat = ANY(categories)", category),
                "rc": ("repeat_count >= :rc", min_repeat_count),
            },
            cursor=cursor,
            limit=limit,
        )
    return Page[ClueOut](items=[_out(r) for r in rows], next_cursor=next_cursor)
