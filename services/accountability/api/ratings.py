"""红黄绿 unit ratings over HTTP: the board, one unit's rating now and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from libs.kit.commands import command_metadata
from libs.kit.pagination import Page
from libs.kit.service import ReadConnection, Store
from services.accountability import queries
from services.accountability.api.deps import AccountabilityDeps, Reader, Rerater
from services.accountability.queries import RatingFilter
from services.accountability.service import ratings

router = APIRouter(prefix="/v1", tags=["ratings"])


class RatingOut(BaseModel):
    unit: str
    level: str
    level_label: str
    score: int
    explanation: str
    inputs: dict[str, int]
    changed_at: datetime


class ChangeOut(BaseModel):
    unit: str | None = None
    from_level: str | None
    to_level: str
    score: int
    explanation: str
    rules_version: str
    changed_at: datetime


class UnitRatingOut(BaseModel):
    """A unit's rating computed now (inputs age out of the window) and its recorded changes."""

    unit: str
    level: str
    level_label: str
    score: int
    explanation: str
    inputs: dict[str, int]
    rules_version: str
    as_of: datetime
    history: list[ChangeOut]


@router.get("/ratings", response_model=Page[RatingOut])
async def rating_board(
    reader: Reader,
    conn: ReadConnection,
    deps: AccountabilityDeps,
    level: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[RatingOut]:
    """Every rated unit's last recorded level; filter by level (red / yellow / green)."""
    labels = deps.rules.rating.level_labels
    rows, next_cursor = await queries.ratings(conn, RatingFilter(level), cursor, limit)
    return Page[RatingOut](
        items=[RatingOut(level_label=labels.get(r["level"], r["level"]), **r) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/units/{unit}/rating", response_model=UnitRatingOut)
async def unit_rating(unit: str, reader: Reader, store: Store, deps: AccountabilityDeps) -> Any:
    """The unit's rating as of now, with the readable reason and every change recorded."""
    rules = deps.rules
    now = await ratings.unit_rating(store, unit, deps)
    rating = now.rating
    return UnitRatingOut(
        unit=unit,
        level=rating.level,
        level_label=rules.rating.level_labels.get(rating.level, rating.level),
        score=rating.score,
        explanation=rating.explanation,
        inputs=rating.inputs,
        rules_version=rules.version,
        as_of=now.as_of,
        history=[
            ChangeOut(**e.model_dump(include=set(ChangeOut.model_fields))) for e in now.changes
        ],
    )


class RerateOut(BaseModel):
    """The units whose level moved when re-rated now."""

    rated: int
    changed: list[ChangeOut]


@router.post("/ratings/recompute", response_model=RerateOut)
async def recompute(officer: Rerater, store: Store, deps: AccountabilityDeps) -> RerateOut:
    """Re-rate every unit as of now, so old inputs leave the window.

    The service also does this by itself every ``ZF_ACCOUNTABILITY_RERATE_INTERVAL_SECONDS``.
    Only units whose level moved get a ``rating_changed`` event; running it twice changes
    nothing the second time.
    """
    meta = command_metadata(officer.actor)
    rated, changes = await ratings.rerate_all(store, store.clock(), meta, deps)
    return RerateOut(
        rated=rated,
        changed=[
            ChangeOut(unit=unit, **e.model_dump(include=set(ChangeOut.model_fields) - {"unit"}))
            for unit, e in changes
        ],
    )
