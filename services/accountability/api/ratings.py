"""红黄绿 unit ratings over HTTP: the board, one unit's rating now and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Query
from pydantic import BaseModel

from libs.events.contracts.accountability import RatingChanged
from libs.events.store import Metadata
from libs.events.taxonomy import load as load_taxonomy
from libs.kit.logs import correlation_id
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.service import Store
from services.accountability.api.deps import Reader, Rerater
from services.accountability.domain import unit_key, unit_stream
from services.accountability.domain.rating import rate
from services.accountability.domain.rules import load_rules
from services.accountability.rerating import rerate_all

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


BY_UNIT = Keyset(("unit",), ("text",), (str,))


@router.get("/ratings", response_model=Page[RatingOut])
async def rating_board(
    reader: Reader,
    store: Store,
    level: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[RatingOut]:
    """Every rated unit's last recorded level; filter by level (red / yellow / green)."""
    labels = load_rules().rating.level_labels
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM unit_ratings",
            keyset=BY_UNIT,
            where={"lv": ("level = :lv", level)},
            cursor=cursor,
            limit=limit,
        )
    return Page[RatingOut](
        items=[RatingOut(level_label=labels.get(r["level"], r["level"]), **r) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/units/{unit}/rating", response_model=UnitRatingOut)
async def unit_rating(unit: str, reader: Reader, store: Store) -> Any:
    """The unit's rating as of now, with the readable reason and every change recorded."""
    rules = load_rules()
    history = await store.read_stream(unit_stream(unit_key(unit)))
    events = [r.event for r in history]
    now = store.clock()
    rating = rate(events, now, rules.rating, load_taxonomy().label)
    return UnitRatingOut(
        unit=unit,
        level=rating.level,
        level_label=rules.rating.level_labels.get(rating.level, rating.level),
        score=rating.score,
        explanation=rating.explanation,
        inputs=rating.inputs,
        rules_version=rules.version,
        as_of=now,
        history=[
            ChangeOut(**e.model_dump(include=set(ChangeOut.model_fields)))
            for e in events
            if isinstance(e, RatingChanged)
        ],
    )


class RerateOut(BaseModel):
    """The units whose level moved when re-rated now."""

    rated: int
    changed: list[ChangeOut]


@router.post("/ratings/recompute", response_model=RerateOut)
async def recompute(officer: Rerater, store: Store) -> RerateOut:
    """Re-rate every unit as of now, so old inputs leave the window.

    The service also does this by itself every ``ZF_ACCOUNTABILITY_RERATE_INTERVAL_SECONDS``.
    Only units whose level moved get a ``rating_changed`` event; running it twice changes
    nothing the second time.
    """
    meta = Metadata(actor=officer.actor, correlation_id=correlation_id.get() or str(uuid4()))
    rated, changes = await rerate_all(store, store.clock(), meta)
    return RerateOut(
        rated=rated,
        changed=[
            ChangeOut(unit=unit, **e.model_dump(include=set(ChangeOut.model_fields) - {"unit"}))
            for unit, e in changes
        ],
    )
