"""The synthetic county through feeds and rules: every planted violation, nothing else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from libs.events.contracts.casework import CaseFiled, ClueRegistered, Subject
from libs.events.projections import ProjectionRunner
from libs.events.store import ANY, EventStore, Metadata
from services.analysis.generator import Size, generate
from services.analysis.handlers import make_handler
from services.analysis.projections import AlertBoardProjection
from tests.conftest import Schemas
from tests.integration.analysis.support import Analysis, running

SIZE = Size(gps_interval_s=600, invoices_per_unit_month=6)
T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def truth_keys(truth: dict[str, Any]) -> set[tuple[str, str, str]]:
    out = set()
    for v in truth["violations"]:
        s = v["subject"]
        who = s.get("person_id") or s.get("plate") or s["unit_code"]
        out.add((v["rule_id"], who, v["evidence_key"]))
    return out


def alert_keys(alerts: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (a["rule_id"], a["person_id"] or a["plate"] or a["unit_code"], a["evidence_key"])
        for a in alerts
    }


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(11, out, SIZE)
    return out


@pytest.fixture
async def analysis(database_url: str, schemas: Schemas, county: Path) -> AsyncIterator[Analysis]:
    async with running(database_url, schemas) as a:
        await a.send_county(county, gzipped=True)
        yield a


async def test_every_planted_violation_is_found_and_the_clean_part_raises_nothing(
    analysis: Analysis, county: Path
) -> None:
    truth = json.loads((county / "ground_truth.json").read_text())

    alerts = await analysis.alerts()

    assert alert_keys(alerts) == truth_keys(truth)
    assert len(alerts) == len(truth["violations"])


async def test_each_alert_names_rule_version_subject_category_level_and_its_evidence(
    analysis: Analysis, county: Path
) -> None:
    truth = json.loads((county / "ground_truth.json").read_text())
    holiday = next(v for v in truth["violations"] if v["rule_id"] == "fuel.holiday_refuel")
    (alert,) = await analysis.alerts(rule="fuel.holiday_refuel")

    detail = (
        await analysis.http.get(f"/v1/alerts/{alert['alert_id']}", headers=analysis.analyst)
    ).json()

    assert detail["rule_version"] == 1
    assert detail["plate"] == holiday["subject"]["plate"]
    assert detail["unit_code"] == holiday["subject"]["unit_code"]
    assert detail["unit_name"].startswith("青山县")
    assert detail["category"] == "official_vehicle_misuse"
    assert detail["level"] == "yellow" and detail["level_label"] == "黄"
    feeds = {e["feed"] for e in detail["evidence"]}
    assert feeds == {"fuel_transactions", "holidays"}
    (row,) = [e for e in detail["evidence"] if e["feed"] == "fuel_transactions"]
    assert row["txn_id"] == holiday["evidence_key"]

    (drunk,) = await analysis.alerts(rule="drunk.dinner_lookback")
    detail = (
        await analysis.http.get(f"/v1/alerts/{drunk['alert_id']}", headers=analysis.analyst)
    ).json()
    dinner = next(v for v in truth["violations"] if v["rule_id"] == "drunk.dinner_lookback")
    invoice_no = dinner["note"].split("（")[1].rstrip("）")
    assert invoice_no in {e.get("invoice_no") for e in detail["evidence"]}
    assert detail["level"] == "red"


async def test_alerts_on_one_vehicle_from_card_and_track_escalate_with_a_reason(
    analysis: Analysis, county: Path
) -> None:
    truth = json.loads((county / "ground_truth.json").read_text())
    (escalation,) = truth["escalations"]

    alerts = await analysis.alerts(plate=escalation["subject"]["plate"])

    assert {a["rule_id"] for a in alerts} == {
        "fuel.far_from_jurisdiction",
        "vehicle.out_of_jurisdiction",
    }
    assert all(a["level"] == "red" and a["raised_level"] == "yellow" for a in alerts)
    assert all(
        "fuel_card" in a["escalation_reason"] and "gps" in a["escalation_reason"] for a in alerts
    )
    others = [a for a in await analysis.alerts() if a["escalation_reason"]]
    assert len(others) == 2


async def test_reingesting_a_batch_or_rerunning_the_period_raises_nothing_new(
    analysis: Analysis, county: Path
) -> None:
    before = len(await analysis.alerts())
    body = (county / "fuel_transactions.ndjson").read_bytes()

    replay = await analysis.send(
        "fuel_transactions", body, batch_id="fuel_transactions-1", expect=200
    )
    resent = await analysis.send("fuel_transactions", body, batch_id="fuel-again")
    rerun = await analysis.http.post(
        "/v1/rules/run",
        json={"period_from": "2025-12-01T00:00:00+08:00", "period_to": "2026-04-30T00:00:00+08:00"},
        headers=analysis.analyst,
    )

    assert replay["replayed"] is True
    assert resent["accepted"] == 0 and resent["duplicates"] == resent["received"]
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["raised"] == 0
    assert len(await analysis.alerts()) == before


async def test_a_parameter_change_applies_to_later_runs_only(analysis: Analysis) -> None:
    (old,) = await analysis.alerts(rule="invoice.per_person_over_standard")

    changed = await analysis.http.post(
        "/v1/rules/invoice.per_person_over_standard/versions",
        json={"params": {"standard_per_person": 1000}, "reason": "试行新标准"},
        headers=analysis.analyst,
    )
    lowered = await analysis.http.post(
        "/v1/rules/invoice.keywords/versions",
        json={"params": {"keywords": ["礼品", "购物卡", "茶叶"]}, "reason": "增加茶叶"},
        headers=analysis.analyst,
    )
    unit, person = old["unit_code"], old["person_id"]
    new_rows = [
        {
            "invoice_no": "NEW-1",
            "seller": "城南快餐店",
            "seller_type": "catering",
            "buyer_unit": unit,
            "claimant_id": person,
            "issued_at": "2026-03-20T12:00:00+08:00",
            "amount": 2400,
            "items": "公务接待餐费",
            "diners": 4,
        },
        {
            "invoice_no": "NEW-2",
            "seller": "城南百货",
            "seller_type": "retail",
            "buyer_unit": unit,
            "claimant_id": person,
            "issued_at": "2026-03-20T15:00:00+08:00",
            "amount": 300,
            "items": "茶叶",
            "diners": 1,
        },
    ]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in new_rows).encode()
    await analysis.send("invoices", body)

    assert changed.status_code == 201, changed.text
    assert changed.json()["version"] == 2
    assert changed.json()["params"]["seller_types"] == ["catering"]
    assert lowered.status_code == 201
    (still,) = await analysis.alerts(rule="invoice.per_person_over_standard")
    assert still["alert_id"] == old["alert_id"] and still["rule_version"] == 1
    (tea,) = [
        a for a in await analysis.alerts(rule="invoice.keywords") if a["evidence_key"] == "NEW-2"
    ]
    assert tea["rule_version"] == 2
    history = (
        await analysis.http.get(
            "/v1/rules/invoice.per_person_over_standard/versions", headers=analysis.analyst
        )
    ).json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[1]["params"]["standard_per_person"] == 150.0


async def test_a_parameter_of_the_wrong_type_or_name_is_refused_naming_it(
    analysis: Analysis,
) -> None:
    wrong_type = await analysis.http.post(
        "/v1/rules/fuel.over_tank/versions",
        json={"params": {"capacity_ratio": "big"}, "reason": "x"},
        headers=analysis.analyst,
    )
    unknown = await analysis.http.post(
        "/v1/rules/fuel.over_tank/versions",
        json={"params": {"ratio": 2}, "reason": "x"},
        headers=analysis.analyst,
    )

    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["field"] == "params.capacity_ratio"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "params.ratio"


async def test_verification_findings_give_each_rule_its_precision(analysis: Analysis) -> None:
    consumption = await analysis.alerts(rule="fuel.consumption_above_norm")
    assert len(consumption) >= 2
    verifier = analysis.investigator

    confirmed = await analysis.http.post(
        f"/v1/alerts/{consumption[0]['alert_id']}/verification",
        json={"finding": "confirmed", "notes": "司机承认为私车加油"},
        headers={**verifier, "Idempotency-Key": "v-1"},
    )
    retried = await analysis.http.post(
        f"/v1/alerts/{consumption[0]['alert_id']}/verification",
        json={"finding": "confirmed", "notes": "司机承认为私车加油"},
        headers={**verifier, "Idempotency-Key": "v-1"},
    )
    refuted = await analysis.http.post(
        f"/v1/alerts/{consumption[1]['alert_id']}/verification",
        json={"finding": "false_positive", "notes": "长途派车，里程数据缺失"},
        headers=analysis.investigator,
    )
    twice = await analysis.http.post(
        f"/v1/alerts/{consumption[1]['alert_id']}/verification",
        json={"finding": "confirmed"},
        headers=analysis.investigator,
    )

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["finding_label"] == "属实"
    assert retried.status_code == 200, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    assert refuted.status_code == 200
    assert twice.status_code == 409
    await analysis.settle()
    precision = (await analysis.http.get("/v1/rules/precision", headers=analysis.analyst)).json()
    assert precision["fuel.consumption_above_norm"]["precision"] == 0.5
    assert precision["fuel.consumption_above_norm"]["confirmed"] == 1
    assert precision["fuel.over_tank"]["precision"] is None


async def test_the_board_filters_and_pages(analysis: Analysis, county: Path) -> None:
    red = await analysis.alerts(level="red")
    vehicle = await analysis.alerts(category="official_vehicle_misuse")
    march = await analysis.alerts(period_from="2026-03-01", period_to="2026-03-31")
    first = (
        await analysis.http.get("/v1/alerts", params={"limit": 3}, headers=analysis.analyst)
    ).json()

    assert red and all(a["level"] == "red" for a in red)
    assert vehicle and all(a["category"] == "official_vehicle_misuse" for a in vehicle)
    assert march and all(a["occurred_on"].startswith("2026-03") for a in march)
    assert len(first["items"]) == 3 and first["next_cursor"]
    nxt = (
        await analysis.http.get(
            "/v1/alerts",
            params={"limit": 3, "cursor": first["next_cursor"]},
            headers=analysis.analyst,
        )
    ).json()
    assert not {a["alert_id"] for a in first["items"]} & {a["alert_id"] for a in nxt["items"]}


async def _board(analysis: Analysis) -> list[dict[str, Any]]:
    async with analysis.engine.connect() as conn:
        rows = await conn.execute(text("SELECT * FROM alerts ORDER BY alert_id"))
        return [dict(r) for r in rows.mappings()]


async def test_the_alert_board_rebuilt_from_the_store_equals_the_live_one(
    analysis: Analysis, schemas: Schemas
) -> None:
    # Every writer of the board's events: the engine raised and escalated the county's
    # alerts; a verifier records a finding; casework makes a red one a clue, then a case.
    (consumption, *_) = await analysis.alerts(rule="fuel.consumption_above_norm")
    verified = await analysis.http.post(
        f"/v1/alerts/{consumption['alert_id']}/verification",
        json={"finding": "confirmed", "notes": "司机承认为私车加油"},
        headers=analysis.investigator,
    )
    assert verified.status_code == 200, verified.text
    (red, *_) = await analysis.alerts(level="red")
    clue_id = uuid4()
    registered = ClueRegistered(
        clue_id=clue_id,
        clue_number="XS-2026-000009",
        status="registered",
        source_kind="analysis_alert",
        source_department=None,
        source_reference=red["alert_id"],
        reported_persons=[],
        categories=[red["category"]],
        narrative=red["summary"],
        received_at=T,
    )
    filed = CaseFiled(
        case_id=uuid4(),
        case_number="LA-2026-0009",
        clue_ids=[clue_id],
        subject=Subject(name="王伟", unit="青山县财政局"),
        categories=[red["category"]],
        filed_by="leader:1",
        filed_at=T,
    )
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    rt = analysis.app.state.runtime
    handle = make_handler(rt.store)
    for r in await casework.append(
        f"clue-{clue_id}", [registered, filed], expected_version=ANY, meta=Metadata(actor="t")
    ):
        async with rt.engine.begin() as conn:
            await handle(conn, r.envelope)
    await analysis.settle()
    live = await _board(analysis)
    shown = await analysis.http.get(
        f"/v1/alerts/{consumption['alert_id']}", headers=analysis.analyst
    )

    await ProjectionRunner(rt.store, [AlertBoardProjection()]).rebuild(
        AlertBoardProjection(), progress=False
    )

    assert await _board(analysis) == live
    assert verified.json() == shown.json()  # the answer was the board's row to be
    assert any(a["escalation_reason"] for a in live)
    (linked,) = [a for a in live if a["alert_id"] == UUID(red["alert_id"])]
    assert (linked["clue_id"], linked["case_number"]) == (clue_id, "LA-2026-0009")
