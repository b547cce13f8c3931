"""Every service's store, after a case from 立案 to its decision, the 问责 inquiry it opens
and a red alert: no clear name of the persons this test names (its own seed), and once a
person is shredded no answer reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import pii
from libs.events.contracts.analysis import AlertLevel, AlertRaised, AlertSubject
from libs.events.store import EventStore, Metadata
from services.analysis.personal import seal_alert
from services.casework.handlers import make_handler as casework_handler
from tests.conftest import Schemas
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability, eventually
from tests.integration.accountability.factories import UNIT, responsibility_list
from tests.integration.accountability.test_casework_to_accountability import (
    CASE_LEADER,
    DINING_CHECKLIST,
    INVESTIGATOR,
    REVIEWER,
    command,
)
from tests.integration.accountability.test_casework_to_accountability import (
    two_services as two_services,  # the fixture: casework and accountability on a broker
)
from tests.integration.fixtures import sealed_clue

SUBJECT, CHIEF, FINANCE, DRIVER = "季志远", "陈建国", "林晓梅", "韩立新"
SEEDED = (SUBJECT, CHIEF, FINANCE, DRIVER)


async def _deliver(casework: Any, recorded: Any) -> None:
    store = casework.state.runtime.store
    async with store.engine.begin() as conn:
        await casework_handler(store, casework.state.deps.rules)(conn, recorded.envelope)
    await casework.state.runtime.projections.catch_up()


async def _sealed_clue(casework: Any, intake: EventStore) -> tuple[UUID, UUID]:
    """A clue as intake records it since v3: the person sealed under their own key."""
    received = await sealed_clue(
        intake.engine,
        SUBJECT,
        UNIT,
        categories=["violation_dining"],
        narrative="财务科科长以公款在私人会所宴请",
    )
    clue_id, ref = received.clue_id, received.reported_persons[0].person_ref
    [recorded] = await intake.append(
        f"clue-{clue_id}", [received], expected_version=0, meta=Metadata(actor="system:intake")
    )
    await _deliver(casework, recorded)
    return clue_id, ref


async def _red_alert(casework: Any, analysis: EventStore) -> UUID:
    """A red alert as analysis raises it (its person sealed), taken into casework's ledger."""
    now, alert_id = datetime.now(UTC), uuid4()
    alert = AlertRaised(
        alert_id=alert_id,
        identity=f"drunk.dinner_lookback|{alert_id}",
        rule_id="drunk.dinner_lookback",
        rule_version=1,
        level=AlertLevel.RED,
        category="violation_dining",
        subject=AlertSubject(person_id="P-9", person_name=DRIVER, unit=UNIT),
        summary=f"{DRIVER}（U001）酒驾，当晚可查餐饮发票 1 张",
        evidence=[{"feed": "drunk_driving", "case_no": "JJ9", "name": DRIVER}],
        raised_at=now,
    )
    vault = pii.Vault.from_env(analysis.engine)
    async with analysis.engine.begin() as conn:
        sealed = await seal_alert(vault, conn, alert, now)
        [recorded] = await analysis.append(
            f"alert-{alert_id}", [sealed], expected_version=0, meta=Metadata(actor="engine"),
            conn=conn,
        )  # fmt: skip
    await _deliver(casework, recorded)
    return alert_id


async def _stored(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
    return "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in rows)


async def _case_to_decision(cw_http: httpx.AsyncClient, casework: Any, case_id: UUID) -> None:
    subject = {"name": SUBJECT, "unit": UNIT, "department": "财务科", "post": "财务科科长"}
    filing = {
        "case_number": "泰纪立〔2026〕8号",
        "subject": subject,
        "misconduct_date": "2026-03-04",
    }
    for name, body in (
        ("dispose", {"method": "preliminary_verification"}),
        ("conclude_verification", {"outcome": "propose_filing"}),
        ("file_case", filing),
        ("start_investigation", {}),
        ("answer_checklist", {"answers": dict.fromkeys(DINING_CHECKLIST, "已查明")}),
        ("transfer_for_review", {}),
    ):
        await command(cw_http, casework, case_id, name, INVESTIGATOR, **body)
    opinion = {"form": 3, "measures": ["removal_from_party_post"], "facts": "违规公款宴请"}
    await command(cw_http, casework, case_id, "review_opinion", REVIEWER, **opinion)
    decision = {"form": 3, "measures": ["removal_from_party_post"]}
    await command(cw_http, casework, case_id, "decide", INVESTIGATOR, **decision)


async def test_no_store_names_the_persons_and_a_shred_leaves_no_readable_trace(
    two_services: tuple[httpx.AsyncClient, Any, Accountability], schemas: Schemas
) -> None:
    cw_http, casework, acc = two_services
    lst = responsibility_list("2025-01-01", chief=CHIEF, finance_leader=FINANCE)
    assert (await acc.http.post("/v1/responsibility-lists", json=lst, headers=OFFICER)).is_success
    intake = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
    analysis = EventStore(await schemas.migrated("analysis"), source="/zhengfeng/analysis")
    case_id, ref = await _sealed_clue(casework, intake)
    await _red_alert(casework, analysis)
    await _case_to_decision(cw_http, casework, case_id)

    async def opened() -> list[dict[str, Any]]:
        r = await acc.http.get("/v1/inquiries", params={"unit": UNIT}, headers=LEADER)
        return list(r.json()["items"])

    (row,) = await eventually(opened, "the inquiry opened from CaseDecided", timeout=60)
    stores = [intake.engine, casework.state.runtime.store.engine, acc.engine, analysis.engine]
    stored = [await _stored(engine) for engine in stores]
    assert [[n for n in SEEDED if n in text_] for text_ in stored] == [[], [], [], []]

    inquiry = f"/v1/inquiries/{row['inquiry_id']}"
    revealed = {"reveal": "true"}
    assert (await acc.http.get(inquiry, params=revealed, headers=LEADER)).json()[
        "direct_subject"
    ] == SUBJECT  # casework's token, opened in accountability
    await pii.Vault.from_env(acc.engine).shred(ref, by="test", reason="测试", now=pii.now())
    answers = [
        await cw_http.get(f"/v1/cases/{case_id}", params=revealed, headers=CASE_LEADER),
        await cw_http.get(f"/v1/cases/{case_id}/timeline", headers=CASE_LEADER),
        await cw_http.get("/v1/cases", headers=CASE_LEADER),
        await acc.http.get(inquiry, params=revealed, headers=LEADER),
        await acc.http.get("/v1/inquiries", headers=LEADER),
    ]
    assert [SUBJECT in a.text for a in answers] == [False] * len(answers)
    assert answers[0].json()["subject"]["name"] == pii.SHREDDED
    assert answers[3].json()["direct_subject"] == pii.SHREDDED
