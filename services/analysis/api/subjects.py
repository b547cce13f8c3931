"""Analysis's HTTP API: the subject index (alerts and feeds come with the analysis issue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from libs.events import pii
from libs.kit.pagination import Page
from libs.kit.service import Store
from services.analysis import queries
from services.analysis.api.deps import AnalysisDeps, Operator
from services.analysis.service import subject_filter

router = APIRouter(prefix="/v1", tags=["subjects"])


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
    deps: AnalysisDeps,
    name: str | None = None,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[SubjectOut]:
    """Subjects by name and/or unit, in key order; a name with its unit finds the person
    by the vault's blind index (names in the index are masked)."""
    where = await subject_filter(deps, name, unit)  # the vault first, on a connection of its own
    async with store.engine.connect() as conn:
        rows, next_cursor = await queries.subjects(conn, where, cursor, limit)
    return Page[SubjectOut](
        items=[SubjectOut(**{**r, "name": pii.mask_name(r["name"])}) for r in rows],
        next_cursor=next_cursor,
    )
