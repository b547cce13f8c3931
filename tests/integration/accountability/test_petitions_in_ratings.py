"""动态评估: 信访 volume and repeat reports from intake's clue events move a unit's rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import text

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueMerged, ClueReceived, ClueSplit, ReportedPerson
from libs.events.projections import ProjectionRunner
from libs.events.store import NO_STREAM, EventStore, Metadata
from services.accountability.handlers import make_handler
from services.accountability.projections import RatingProjection
from tests.conftest import Schemas
from tests.integration.accountability.conftest import LEADER, Accountability, eventually
from tests.integration.accountability.factories import UNIT

NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)


def person() -> ReportedPerson:
    return ReportedPerson(name="张**", unit=UNIT)


def report(day: int) -> ClueReceived:
    return ClueReceived(
        clue_id=uuid4(),
        clue_number=f"XF-2026-10{day:02d}",
        source_kind="public_report",
        reported_persons=[person()],
        categories=["violation_dining"],
        narrative="反映公款吃喝",
        received_at=NOW - timedelta(days=40 - day),
    )


def merged(clue: ClueReceived, day: int, count: int) -> ClueMerged:
    return ClueMerged(
        clue_id=clue.clue_id,
        repeat_id=uuid4(),
        repeat_count=count,
        source_kind="public_report",
        merged_at=NOW - timedelta(days=30 - day),
        reported_persons=[person()],
        categories=clue.categories,
        narrative="再次反映",
    )


async def deliver(acc: Accountability, intake: EventStore, event: Event) -> None:
    (recorded,) = await intake.append(
        f"clue-{uuid4()}", [event], expected_version=NO_STREAM, meta=Metadata(actor="t")
    )
    async with acc.engine.begin() as conn:
        await make_handler(acc.store, acc.deps)(conn, recorded.envelope)


async def ratings(acc: Accountability) -> list[dict[str, Any]]:
    async with acc.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT unit, level, score, explanation, inputs FROM unit_ratings ORDER BY 1")
        )
        return [dict(r) for r in rows.mappings()]


async def test_petition_volume_and_repeat_reports_rate_a_unit_and_a_rebuild_equals_live(
    acc: Accountability, schemas: Schemas
) -> None:
    acc.store.clock = lambda: NOW
    intake = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
    clues = [report(day) for day in range(1, 13)]
    for clue in clues:
        await deliver(acc, intake, clue)
    repeats = [merged(clues[0], day, day) for day in range(1, 9)]
    for event in repeats:
        await deliver(acc, intake, event)
    await deliver(acc, intake, repeats[-1])  # a redelivery counts once

    r = await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)
    assert r.status_code == 200, r.text
    rating = r.json()
    assert rating["level"] == "red"
    assert (rating["inputs"]["petition"], rating["inputs"]["repeat_report"]) == (12, 8)
    assert "信访举报 12 件，重复举报 8 件" in rating["explanation"]
    assert [h["to_level"] for h in rating["history"]] == ["yellow", "red"]

    split = ClueSplit(
        clue_id=clues[0].clue_id,
        repeat_id=repeats[0].repeat_id,
        new_clue_id=repeats[0].repeat_id,
        new_clue_number="XF-2026-1099",
        repeat_count=7,
        reason="不是同一事项",
        split_by="operator:clerk",
        split_at=NOW - timedelta(days=1),
    )
    await deliver(acc, intake, split)
    r = await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)
    assert r.json()["inputs"]["repeat_report"] == 7
    assert r.json()["level"] == "yellow"

    async def board() -> list[Any] | None:
        rows = [(row["level"], row["inputs"]["repeat_report"]) for row in await ratings(acc)]
        return rows if rows == [("yellow", 7)] else None

    await eventually(board, "the board shows the split")
    live = await ratings(acc)
    await ProjectionRunner(acc.store, [RatingProjection()]).rebuild(
        RatingProjection(), progress=False
    )
    assert await ratings(acc) == live
