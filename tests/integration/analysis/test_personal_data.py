"""Nothing analysis publishes names a person in clear: the county's people (from the
generator's own seed) appear in no stored event; an alert's subject is masked in answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import text

from libs.events import pii
from libs.events.contracts.intake import ClueReceived, ReportedPerson
from libs.events.store import EventStore, Metadata
from services.analysis.generator import Size, generate
from services.analysis.handlers import make_handler
from tests.conftest import Schemas
from tests.integration.analysis.support import running


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county-pii")
    generate(7, out, Size(gps_interval_s=900, invoices_per_unit_month=4))
    return out


def _names(county: Path) -> set[str]:
    rows = (county / "people.ndjson").read_text(encoding="utf-8").splitlines()
    return {json.loads(r)["name"] for r in rows if r.strip()}


async def test_the_countys_people_never_leave_analysis_in_clear(
    database_url: str, schemas: Schemas, county: Path
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send_county(county, gzipped=True)
        alerts = await analysis.alerts()
        async with analysis.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
        one = next(a for a in alerts if a["person_name"])["alert_id"]
        clerk = analysis.mint.bearer(kind="operator", roles=("clerk",))
        shown = await analysis.http.get(
            f"/v1/alerts/{one}", params={"reveal": "true"}, headers=analysis.analyst
        )
        refused = await analysis.http.get(
            f"/v1/alerts/{one}", params={"reveal": "true"}, headers=clerk
        )
        async with analysis.engine.connect() as conn:
            reads = await conn.execute(
                text("SELECT count(*) FROM events WHERE type LIKE '%personal_data_accessed'")
            )
            recorded = reads.scalar_one()

    stored = "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in rows)
    named = [a for a in alerts if a["person_name"]]
    assert named, "the county plants violations by persons"
    leaks = [line[:400] for line in stored.splitlines() if any(n in line for n in _names(county))]
    assert not leaks
    assert not [n for n in _names(county) if n in json.dumps(alerts, ensure_ascii=False)]
    assert all(a["person_name"] == pii.mask_name(a["person_name"]) for a in named)
    assert shown.json()["person_name"] in _names(county)
    assert refused.status_code == 403 and recorded == 1


async def test_a_person_named_in_clues_is_found_by_name_and_unit_yet_listed_masked(
    database_url: str, schemas: Schemas
) -> None:
    name, unit = "欧阳明", "某县林业局"
    async with running(database_url, schemas) as analysis:
        vault = pii.Vault.from_env(analysis.engine)
        await vault.ensure()
        clue_id, now = uuid4(), datetime.now(UTC)
        async with analysis.engine.begin() as conn:
            ref = await vault.person_for(conn, vault.blind_index("name_unit", name, unit), now)
            token = await vault.seal(conn, ref, name, context=str(clue_id), field="name")
        person = ReportedPerson(
            name=pii.mask_name(name), unit=unit, person_ref=ref, sealed={"name": token}
        )
        received = ClueReceived(
            clue_id=clue_id,
            clue_number="XS-1",
            source_kind="hotline",
            reported_persons=[person],
            categories=["violation_gifts"],
            narrative="收受购物卡",
            received_at=now,
        )
        intake = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
        [recorded] = await intake.append(
            f"clue-{clue_id}", [received], expected_version=0, meta=Metadata(actor="t")
        )
        rt = analysis.app.state.runtime
        async with rt.engine.begin() as conn:
            await make_handler(rt.store)(conn, recorded.envelope)
        await analysis.settle()
        params = {"name": name, "unit": unit}
        found = await analysis.http.get("/v1/subjects", params=params, headers=analysis.analyst)
        by_unit = await analysis.http.get(
            "/v1/subjects", params={"name": "", "unit": unit}, headers=analysis.analyst
        )

    [subject] = found.json()["items"]
    assert subject["clue_ids"] == [str(clue_id)] and subject["name"] == "欧**"
    assert by_unit.json()["items"] == [subject]  # an empty name is no filter
