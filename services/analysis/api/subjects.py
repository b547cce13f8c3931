"""Analysis's HTTP API: the subject index (alerts and feeds come with the analysis issue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from libs.kit.auth import Principal, require_roles
from libs.kit.pagination import Keyset, Page, fetch_page
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
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM subject_index",
            keyset=Keyset(("subject_key",), ("text",), (str,)),
            where={"name": ("name = :name", name), "unit": ("unit = :unit", unit)},
            cursor=cursor,
            limit=limit,
        )
    return Page[SubjectOut](items=[SubjectOut(**r) for r in rows], next_cursor=next_cursor)
