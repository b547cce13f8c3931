"""Casework's own decision reaches accountability: two real services, a real broker.

The casework app runs a case from clue to a form-3 decision (撤职) over its HTTP API; its
relay publishes ``CaseDecided`` to the broker; accountability's consumer opens the
一案双查 inquiry naming the parties of the responsibility list valid on the misconduct date.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from libs.events import kafka
from libs.events.contracts.intake import ClueReceived, ReportedPerson
from libs.events.store import EventStore, Metadata
from services.casework import app as casework_app
from services.casework.handlers import make_handler as casework_handler
from tests.conftest import Schemas, unique
from tests.integration.accountability.conftest import (
    LEADER,
    OFFICER,
    Accountability,
    _jwks,
    auth,
    eventually,
    start,
)
from tests.integration.accountability.factories import UNIT, responsibility_list

INVESTIGATOR = auth("investigator", sub="duty-officer-1")
REVIEWER = auth("reviewer", sub="reviewer-1")
CASE_LEADER = auth("leader", sub="leader-1")
SIGNERS = {
    "director": auth("director", sub="director-1"),
    "leader": CASE_LEADER,
    "secretary": auth("secretary", sub="secretary-1"),
}
"""Who signs each role's step of casework's approval chains."""
DINING_CHECKLIST = [
    "who_decided",
    "who_organised",
    "who_paid",
    "which_fund",
    "who_attended",
    "what_requested",
    "what_consumed",
]


@pytest.fixture
async def two_services(
    database_url: str, bootstrap: str, schemas: Schemas, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Accountability]]:
    monkeypatch.setenv("ZF_TOPIC_PREFIX", unique("cw2acc"))
    await kafka.ensure_topics(bootstrap, kafka.all_topics())
    await schemas.migrated("casework")
    cw_schema = schemas.created[-1]
    casework = casework_app.create(
        casework_app.Settings(
            database_url=database_url,
            db_schema=cw_schema,
            kafka_bootstrap_servers=bootstrap,
            run_consumers=False,
            run_scheduler=False,
        ),
        jwks_fetcher=lambda app: _jwks,
    )
    acc_app, engine, schema = await start(
        database_url,
        schemas,
        kafka_bootstrap_servers=bootstrap,
        run_relay=False,
        consumer_session_timeout_ms=1000,
    )
    async with (
        casework.router.lifespan_context(casework),
        acc_app.router.lifespan_context(acc_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=casework), base_url="http://casework"
        ) as cw_http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=acc_app), base_url="http://acc"
        ) as acc_http,
    ):
        yield cw_http, casework, Accountability(acc_app, acc_http, engine, schema)


async def receive_clue(casework: Any, intake: EventStore) -> UUID:
    clue_id = uuid4()
    received = ClueReceived(
        clue_id=clue_id,
        clue_number=f"XS-{clue_id.hex[:6]}",
        source_kind="hotline",
        reported_persons=[ReportedPerson(name="季某", unit=UNIT)],
        categories=["violation_dining"],
        narrative="财务科科长以公款在私人会所宴请",
        received_at=datetime.now(UTC),
    )
    [recorded] = await intake.append(
        f"clue-{clue_id}", [received], expected_version=0, meta=Metadata(actor="system:intake")
    )
    store = casework.state.runtime.store
    async with store.engine.begin() as conn:
        await casework_handler(store, casework.state.deps.rules)(conn, recorded.envelope)
    await casework.state.runtime.projections.catch_up()
    return clue_id


async def command(
    http: httpx.AsyncClient,
    casework: Any,
    case_id: UUID,
    name: str,
    who: dict[str, str],
    **body: Any,
) -> dict[str, Any]:
    await casework.state.runtime.projections.catch_up()
    current = await http.get(f"/v1/cases/{case_id}", headers=CASE_LEADER)
    body.setdefault("reason", f"{name} 的理由")
    r = await http.post(
        f"/v1/cases/{case_id}/{name}",
        json=body,
        headers={**who, "If-Match": current.headers["ETag"]},
    )
    while r.status_code == 202 or "proposal_id" in r.json():  # signed step by step
        step = r.json()["current_step"]
        action, minutes = "approve", {"opinion": "agree"}
        if step["kind"] == "meeting":
            action = "meeting"
            minutes = {"session": "2026年第9次", "held_on": "2026-09-01",
                       "attendees": ["operator:secretary-1"], "conclusion": "agree"}  # fmt: skip
        r = await http.post(
            f"{r.json()['location']}/{action}",
            json=minutes,
            headers={**SIGNERS[step["role"]], "If-Match": f'"{r.json()["version"]}"'},
        )
    assert r.status_code == 200, (name, r.text)
    return dict(r.json())


async def test_a_case_decided_in_casework_opens_the_inquiry_in_accountability(
    two_services: tuple[httpx.AsyncClient, Any, Accountability], schemas: Schemas
) -> None:
    cw_http, casework, acc = two_services
    for body in (
        responsibility_list("2025-01-01", chief="陈局长", finance_leader="林副局长"),
        responsibility_list("2026-06-01", chief="周局长", finance_leader="黄副局长"),
    ):
        r = await acc.http.post("/v1/responsibility-lists", json=body, headers=OFFICER)
        assert r.status_code == 201

    intake = EventStore(await schemas.migrated("intake"), source="/zhengfeng/intake")
    case_id = await receive_clue(casework, intake)
    subject = {"name": "季某", "unit": UNIT, "department": "财务科", "post": "财务科科长"}
    for name, body in (
        ("dispose", {"method": "preliminary_verification"}),
        ("conclude_verification", {"outcome": "propose_filing"}),
        (
            "file_case",
            {
                "case_number": "泰纪立〔2026〕7号",
                "subject": subject,
                "misconduct_date": "2026-03-04",
            },
        ),
        ("start_investigation", {}),
        ("answer_checklist", {"answers": dict.fromkeys(DINING_CHECKLIST, "已查明")}),
        ("transfer_for_review", {}),
    ):
        await command(cw_http, casework, case_id, name, INVESTIGATOR, **body)
    opinion = {"form": 3, "measures": ["removal_from_party_post"], "facts": "违规公款宴请"}
    await command(cw_http, casework, case_id, "review_opinion", REVIEWER, **opinion)
    decided = await command(
        cw_http,
        casework,
        case_id,
        "decide",
        INVESTIGATOR,
        form=3,
        measures=["removal_from_party_post"],
    )
    assert decided["form"] == 3

    async def inquiries() -> list[dict[str, Any]]:
        r = await acc.http.get("/v1/inquiries", params={"unit": UNIT}, headers=LEADER)
        return list(r.json()["items"])

    (row,) = await eventually(inquiries, "casework's decision to open an inquiry", timeout=60)
    inquiry = (await acc.http.get(f"/v1/inquiries/{row['inquiry_id']}", headers=LEADER)).json()
    assert inquiry["trigger"]["case_ids"] == [str(case_id)]
    assert (inquiry["direct_subject"], inquiry["direct_measures"]) == (
        "季*",  # sealed in casework: accountability receives the masked name only
        ["removal_from_party_post"],
    )
    assert inquiry["parties"][1]["name"] == "陈**"  # masked unless revealed
    revealed = await acc.http.get(
        f"/v1/inquiries/{row['inquiry_id']}", params={"reveal": "true"}, headers=LEADER
    )
    inquiry = revealed.json()
    assert inquiry["direct_subject"] == "季某"  # casework's token opens in accountability
    assert {p["party_id"]: p["name"] for p in inquiry["parties"]} == {
        "party_committee": f"中共{UNIT}党组",
        "first_responsible": "陈局长",
        "discipline_body": "县纪委监委派驻第三纪检监察组",
        "discipline_head": "吴组长",
        "department_leader": "林副局长",
    }
