"""Other services' events: casework's clues and cases link alerts; intake's 12345 orders feed rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from libs.events.contracts.casework import CaseFiled, ClueRegistered, Subject
from libs.events.contracts.intake import HotlineOrderReceived, HotlineOrderUpdated, ReportedPerson
from libs.events.store import ANY, EventStore, Metadata
from services.analysis.handlers import make_handler
from tests.conftest import Schemas
from tests.integration.analysis.support import running

T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

DRUNK = [
    '{"person_id":"U001-001","name":"王伟","unit_code":"U001","post":"局长","rank":"正科"}\n',
]


async def test_a_case_filed_from_an_alerts_clue_links_the_alert(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send("units", '{"unit_code":"U001","name":"青山县财政局"}\n'.encode())
        await analysis.send("people", "".join(DRUNK).encode())
        await analysis.send(
            "drunk_driving",
            '{"case_no":"JJ1","person_id":"U001-001","name":"王伟","unit_code":"U001","ts":"2026-03-06T22:30:00+08:00"}\n'.encode(),
        )
        (alert,) = await analysis.alerts()
        assert alert["level"] == "red"

        casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
        clue_id = uuid4()
        registered = ClueRegistered(
            clue_id=clue_id,
            clue_number="XS-2026-000009",
            status="registered",
            source_kind="analysis_alert",
            source_department=None,
            source_reference=alert["alert_id"],
            reported_persons=[ReportedPerson(name="王伟", unit="青山县财政局")],
            categories=["drunk_driving"],
            narrative="由酒驾查吃喝",
            received_at=T,
        )
        filed = CaseFiled(
            case_id=uuid4(),
            case_number="LA-2026-0003",
            clue_ids=[clue_id],
            subject=Subject(name="王伟", unit="青山县财政局"),
            categories=["drunk_driving"],
            filed_by="leader:1",
            filed_at=T,
        )
        recorded = await casework.append(
            f"clue-{clue_id}", [registered, filed], expected_version=ANY, meta=Metadata(actor="t")
        )
        rt = analysis.app.state.runtime
        handle = make_handler(rt.store)
        for r in recorded:
            async with rt.engine.begin() as conn:
                await handle(conn, r.envelope)
        await analysis.settle()

        detail = (
            await analysis.http.get(f"/v1/alerts/{alert['alert_id']}", headers=analysis.analyst)
        ).json()
        assert detail["clue_id"] == str(clue_id)
        assert detail["case_id"] == str(filed.case_id)
        assert detail["case_number"] == "LA-2026-0003"
        linked = await analysis.scalar(
            "SELECT count(*) FROM events WHERE type = 'zhengfeng.analysis.alert_linked_to_case'"
        )
        assert linked == 1


async def test_12345_orders_arriving_from_intake_feed_the_hotline_rules(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send("units", '{"unit_code":"U007","name":"青山县住建局"}\n'.encode())
        intake = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
        events: list[Any] = []
        for n in range(6):
            opened = datetime(2026, 3, 2 + n, 1, 0, tzinfo=UTC)
            events.append(
                HotlineOrderReceived(
                    order_number=f"12345-{n}",
                    unit="青山县住建局",
                    category=f"topic-{n}",
                    content="反映问题",
                    deadline=opened + timedelta(days=5),
                    status="processing",
                    received_at=opened,
                )
            )
            events.append(
                HotlineOrderUpdated(
                    order_number=f"12345-{n}",
                    unit="青山县住建局",
                    status="closed",
                    satisfaction="不满意",
                    updated_at=opened + timedelta(days=12),
                )
            )
        recorded = await intake.append(
            "hotline", events, expected_version=ANY, meta=Metadata(actor="t")
        )
        rt = analysis.app.state.runtime
        handle = make_handler(rt.store)
        for r in recorded:
            async with rt.engine.begin() as conn:
                await handle(conn, r.envelope)

        run = await analysis.http.post(
            "/v1/rules/run",
            json={
                "period_from": "2026-03-01T00:00:00+08:00",
                "period_to": "2026-03-31T00:00:00+08:00",
            },
            headers=analysis.analyst,
        )

        assert run.status_code == 200, run.text
        (alert,) = await analysis.alerts(rule="hotline.unit_sloth")
        assert alert["unit_code"] == "U007"
        assert alert["unit_name"] == "青山县住建局"
        assert alert["evidence_key"] == "U007|2026-03"
