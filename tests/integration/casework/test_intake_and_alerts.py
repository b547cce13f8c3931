"""Clues and red alerts enter the ledger once, pending disposal, assigned."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from libs.events import pii
from libs.events.contracts.analysis import AlertEscalated, AlertLevel, AlertRaised, AlertSubject
from libs.events.contracts.casework import ClueRegistered
from libs.events.store import Metadata
from services.casework.domain import clue_stream
from services.casework.handlers import alert_case_id, make_handler
from tests.integration.casework.conftest import LEADER, Casework


def alert(level: AlertLevel) -> AlertRaised:
    return AlertRaised(
        alert_id=uuid4(),
        identity=f"fuel-holiday:{uuid4()}",
        rule_id="fuel_card_holiday_refuel",
        rule_version=3,
        level=level,
        category="official_vehicle_misuse",
        subject=AlertSubject(person_name="孙八", unit="某县水利局"),
        summary="国庆假期内公务加油卡加油 3 次",
        evidence=[{"source": "fuel_card", "row": "FC-881", "liters": 52.0}],
        raised_at=datetime(2026, 10, 3, 8, tzinfo=UTC),
    )


async def test_a_red_alert_enters_the_ledger_with_its_evidence(cw: Casework) -> None:
    red, yellow = alert(AlertLevel.RED), alert(AlertLevel.YELLOW)

    await cw.deliver(red, f"alert-{red.alert_id}")
    await cw.deliver(yellow, f"alert-{yellow.alert_id}")

    case = await cw.http.get(f"/v1/cases/{alert_case_id(red.alert_id)}", headers=LEADER)
    ignored = await cw.http.get(f"/v1/cases/{alert_case_id(yellow.alert_id)}", headers=LEADER)
    assert case.status_code == 200
    body = case.json()
    assert body["status"] == "pending_disposal" and body["source_kind"] == "analysis_alert"
    assert body["evidence"] == [{"source": "fuel_card", "row": "FC-881", "liters": 52.0}]
    assert body["department"] == "第一监督检查室"  # hedonism group: official vehicles
    assert ignored.status_code == 404


async def test_a_redelivered_clue_is_registered_once(cw: Casework) -> None:
    clue_id = await cw.receive()
    records = await cw.intake.read_stream(f"clue-{clue_id}")
    handler = make_handler(cw.store, cw.app.state.deps.rules)
    async with cw.store.engine.begin() as conn:
        await handler(conn, records[0].envelope)

    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    assert case["version"] == 3  # registered, its limit started, assigned — once


async def test_a_yellow_alert_escalated_to_red_enters_the_ledger_with_the_reason(
    cw: Casework,
) -> None:
    yellow = alert(AlertLevel.YELLOW)
    stream = f"alert-{yellow.alert_id}"
    await cw.deliver(yellow, stream)
    assert (
        await cw.http.get(f"/v1/cases/{alert_case_id(yellow.alert_id)}", headers=LEADER)
    ).status_code == 404

    escalated = AlertEscalated(
        alert_id=yellow.alert_id,
        from_level=AlertLevel.YELLOW,
        to_level=AlertLevel.RED,
        reason="孙八 在 30 天内有来自 2 个数据源（fuel_card、gps）的 2 条预警",
        related_alert_ids=[uuid4()],
        escalated_at=datetime(2026, 10, 9, 8, tzinfo=UTC),
    )
    [recorded] = await cw.intake.append(
        stream, [escalated], expected_version=1, meta=Metadata(actor="system:analysis")
    )
    handler = make_handler(cw.store, cw.app.state.deps.rules)
    for _ in range(2):  # a redelivery changes nothing
        async with cw.store.engine.begin() as conn:
            await handler(conn, recorded.envelope)
    await cw.settle()

    case = await cw.http.get(f"/v1/cases/{alert_case_id(yellow.alert_id)}", headers=LEADER)
    assert case.status_code == 200
    body = case.json()
    assert body["status"] == "pending_disposal"
    assert body["evidence"] == yellow.evidence
    [registered] = [
        r.event
        for r in await cw.store.read_stream(clue_stream(alert_case_id(yellow.alert_id)))
        if isinstance(r.event, ClueRegistered)
    ]
    assert registered.source_reference == str(yellow.alert_id)  # analysis links alert → clue
    assert pii.MATTER_TEXT_PREFIX in registered.narrative  # sealed with the clue's key
    narrative = await pii.open_texts(pii.Vault.from_env(cw.engine), registered.narrative)
    assert "升级为红色预警" in narrative and "2 个数据源" in narrative
