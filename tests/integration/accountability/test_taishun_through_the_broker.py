"""The 泰顺-style example end to end: casework's CaseDecided crosses the real broker.

A form-3 decision (the 财务科 chief removed from post, 撤职) is appended to casework's
store and published by the real relay; accountability's consumer opens the inquiry,
naming the bureau chief, the deputy in charge of the 财务科 and the bureau's discipline
head from the list valid on the misconduct date (not the newer one). Measures are then
proposed, reviewed by the three offices, decided by the right bodies and take effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from libs.events import kafka, signing
from libs.events.contracts.casework import CaseDecided, Subject
from libs.events.relay import Relay
from libs.events.store import NO_STREAM, EventStore, Metadata
from tests.conftest import Schemas, unique
from tests.integration.accountability.conftest import (
    LEADER,
    OFFICER,
    REVIEWER,
    Accountability,
    eventually,
    signed,
    start,
)
from tests.integration.accountability.factories import UNIT, responsibility_list
from tests.integration.kafka_support import running, started_producer


@pytest.fixture
async def platform(
    database_url: str, bootstrap: str, schemas: Schemas, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Accountability, EventStore, str]]:
    """Accountability consuming a casework store's relayed events, on their own topics."""
    monkeypatch.setenv("ZF_TOPIC_PREFIX", unique("taishun"))
    await kafka.ensure_topics(bootstrap, kafka.all_topics())
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    app, engine, schema = await start(
        database_url,
        schemas,
        kafka_bootstrap_servers=bootstrap,
        run_relay=False,
        consumer_session_timeout_ms=1000,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            yield Accountability(app, http, engine, schema), casework, bootstrap


def removal_from_post() -> CaseDecided:
    return CaseDecided(
        case_id=uuid4(),
        case_number="泰纪立〔2026〕7号",
        clue_ids=[uuid4()],
        subject=Subject(
            name="季某", unit=UNIT, department="财务科", post="财务科科长", rank="科级"
        ),
        categories=["embezzlement"],
        form=3,
        measures=["removal_from_post"],
        misconduct_date=date(2026, 3, 4),
        decided_by="泰顺县纪委常委会",
        decided_at=datetime(2026, 9, 1, 10, tzinfo=UTC),
        summary="季某利用职务便利侵占公款，给予撤职处分。",
    )


async def post(
    acc: Accountability, path: str, body: dict[str, Any], etag: str, who: dict[str, str] = OFFICER
) -> httpx.Response:
    return await acc.http.post(path, json=body, headers={**who, "If-Match": etag})


async def test_a_form_3_removal_opens_an_inquiry_whose_measures_are_reviewed_and_take_effect(
    platform: tuple[Accountability, EventStore, str],
) -> None:
    acc, casework, bootstrap = platform
    for body in (
        responsibility_list("2025-01-01", chief="陈局长", finance_leader="林副局长"),
        responsibility_list("2026-06-01", chief="周局长", finance_leader="黄副局长"),
    ):
        assert (
            await acc.http.post("/v1/responsibility-lists", json=body, headers=OFFICER)
        ).status_code == 201

    decided = removal_from_post()
    await casework.append(
        f"case-{decided.case_id}",
        [decided],
        expected_version=NO_STREAM,
        meta=Metadata(actor="operator:casework-leader", correlation_id="corr-taishun"),
    )
    async with started_producer(bootstrap) as producer:
        signer, _ = signing.load("casework", kafka.SERVICES)  # consumers apply signed events only
        topic = kafka.events_topic("casework")
        relay = Relay(casework, producer, topic, bootstrap=bootstrap, signer=signer)
        async with running(relay.run):

            async def opened() -> list[dict[str, Any]]:
                r = await acc.http.get("/v1/inquiries", params={"unit": UNIT}, headers=LEADER)
                return list(r.json()["items"])

            (row,) = await eventually(opened, "the inquiry opened from CaseDecided", timeout=60)

    inquiry_id = row["inquiry_id"]
    assert row["trigger_kind"] == "case_form"
    revealed = {"reveal": "true"}  # names are masked unless revealed (the read is recorded)
    got = await acc.http.get(f"/v1/inquiries/{inquiry_id}", params=revealed, headers=LEADER)
    inquiry = got.json()
    parties = {p["party_id"]: p for p in inquiry["parties"]}
    assert {k: (p["name"], p["responsibility_label"]) for k, p in parties.items()} == {
        "party_committee": (f"中共{UNIT}党组", "主体责任"),
        "first_responsible": ("陈局长", "主体责任"),
        "discipline_body": ("县纪委监委派驻第三纪检监察组", "监督责任"),
        "discipline_head": ("吴组长", "监督责任"),
        "department_leader": ("林副局长", "领导责任"),
    }
    assert {p["list_version"] for p in parties.values()} == {1}
    # 双问责: the person directly responsible was removed from post (撤职) by casework,
    # and the inquiry pursues those who failed to supervise.
    assert (inquiry["direct_subject"], inquiry["direct_measures"]) == (
        "季某",
        ["removal_from_post"],
    )
    assert inquiry["key_area"] is True
    etag = got.headers["ETag"]

    path = f"/v1/inquiries/{inquiry_id}"
    for party_id, reasons in [
        ("first_responsible", ["对财务管理长期失察，未履行第一责任人职责"]),
        ("department_leader", ["分管财务科，未落实一岗双责"]),
        ("discipline_head", ["对财务科问题线索处置不力"]),
        ("party_committee", ["未经常性开展警示教育"]),
    ]:
        r = await post(
            acc,
            f"{path}/findings",
            {"party_id": party_id, "fulfilled": False, "reasons": reasons},
            etag,
        )
        assert r.status_code == 200, r.text
        etag = r.headers["ETag"]
    r = await post(
        acc, f"{path}/findings", {"party_id": "discipline_body", "fulfilled": True}, etag
    )
    etag = r.headers["ETag"]

    measures: dict[str, str] = {}
    for party_id, measure in [
        ("department_leader", "dismissal"),
        ("first_responsible", "admonition"),
        ("discipline_head", "circulation"),
        ("party_committee", "inspection"),
    ]:
        r = await post(acc, f"{path}/measures", {"party_id": party_id, "measure": measure}, etag)
        assert r.status_code == 201, r.text
        etag = r.headers["ETag"]
        measures[measure] = r.json()["measures"][-1]["measure_id"]

    # 组织调整 (免职): the commission may only propose it.
    refused = await post(
        acc,
        f"{path}/measures/{measures['dismissal']}/decision",
        {"decided_by_body": "commission", "approved": True},
        etag,
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/beyond-commission-authority"
    assert refused.json()["errors"][0]["field"] == "decided_by_body"

    # The body with authority decides it; the commission decides its own measures.
    r = await post(
        acc,
        f"{path}/measures/{measures['dismissal']}/decision",
        {
            "decided_by_body": "泰顺县委组织部",
            "approved": True,
            "document_number": "泰组〔2026〕31号",
        },
        etag,
    )
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    for m in ("admonition", "circulation", "inspection"):  # proposed, then signed
        r = await post(
            acc,
            f"{path}/measures/{measures[m]}/decision",
            {"decided_by_body": "commission", "approved": True},
            etag,
        )
        assert r.status_code == 202, r.text
        r = await signed(acc.http, r)
        etag = r.headers["ETag"]
    assert {m["status"] for m in r.json()["measures"]} == {"decided"}

    # Key area: nothing takes effect before the three offices agree.
    for measure_id in measures.values():
        for office in ("liaison_office", "trial_office", "conduct_office"):
            r = await post(
                acc,
                f"{path}/measures/{measure_id}/reviews",
                {"office": office, "agreed": True},
                etag,
                REVIEWER,
            )
            assert r.status_code == 200, r.text
            etag = r.headers["ETag"]
    final = r.json()
    assert {(m["label"], m["status"]) for m in final["measures"]} == {
        ("免职", "in_effect"),
        ("诫勉", "in_effect"),
        ("通报", "in_effect"),
        ("检查", "in_effect"),
    }

    stale = await post(acc, f"{path}/conclusion", {"summary": "x"}, '"1"')
    assert stale.status_code == 409
    r = await post(acc, f"{path}/conclusion", {"summary": "一案双查完毕，问责4个责任主体"}, etag)
    assert r.status_code == 202, r.text  # the 常委会 concludes it collectively
    r = await signed(acc.http, r)
    assert r.json()["status"] == "concluded"
    assert (await acc.http.delete(path, headers=OFFICER)).status_code == 405
