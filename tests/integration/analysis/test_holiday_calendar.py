"""Holiday rules read the platform calendar; a partner's ``holidays`` feed only overrides."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from services.analysis.generator import Size, generate
from tests.chinese import english_words, human_texts
from tests.conftest import Schemas
from tests.integration.analysis.support import Analysis, running
from tests.integration.analysis.test_pipeline import alert_keys, truth_keys

SIZE = Size(units=12, people_per_unit=3, vehicles=17, gps_interval_s=900, invoices_per_unit_month=4)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county-without-holidays")
    generate(5, out, SIZE)
    return out


@pytest.fixture
async def analysis(database_url: str, schemas: Schemas) -> AsyncIterator[Analysis]:
    async with running(database_url, schemas) as a:
        yield a


async def test_holiday_rules_find_their_violations_without_a_holidays_feed(
    analysis: Analysis, county: Path
) -> None:
    manifest = json.loads((county / "manifest.json").read_text())
    for kind in manifest["order"]:
        if kind != "holidays":  # no partner uploads the calendar
            body = (county / f"{kind}.ndjson").read_bytes()
            await analysis.send(kind, body, batch_id=f"{kind}-1")
    truth = json.loads((county / "ground_truth.json").read_text())

    alerts = await analysis.alerts()

    assert alert_keys(alerts) == truth_keys(truth)
    (refuel,) = await analysis.alerts(rule="fuel.holiday_refuel")
    detail = (
        await analysis.http.get(f"/v1/alerts/{refuel['alert_id']}", headers=analysis.analyst)
    ).json()
    (day,) = [e for e in detail["evidence"] if e["feed"] == "holidays"]
    assert day["name"] == "春节" and day["source"].startswith("platform:")
    assert english_words(" ".join(human_texts(detail))) == []  # what the analyst reads


async def test_a_holidays_feed_overrides_the_platform_calendar_only_on_the_days_it_names(
    analysis: Analysis,
) -> None:
    rows = [
        {"day": "2026-02-17", "name": "本地调整上班", "kind": "workday"},
        {"day": "2026-03-05", "name": "地方节日", "kind": "holiday"},
    ]
    await analysis.send("holidays", "\n".join(json.dumps(r) for r in rows).encode())

    async with analysis.engine.connect() as conn:
        found = await conn.execute(
            text(
                """SELECT day::text, name, kind, split_part(source, ':', 1) FROM calendar_days
                   WHERE day IN ('2026-02-16', '2026-02-17', '2026-03-05') ORDER BY day"""
            )
        )
        days = [tuple(r) for r in found]
    assert days == [
        ("2026-02-16", "春节", "holiday", "platform"),
        ("2026-02-17", "本地调整上班", "workday", "feed"),
        ("2026-03-05", "地方节日", "holiday", "feed"),
    ]
