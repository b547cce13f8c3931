"""转办 across two services and the real broker.

A partner transfers a clue about a city unit to intake over HTTP; intake's relay publishes
``ClueReceived`` and ``ClueMarkedForForwarding``; casework's consumer registers the clue
and moves it to 待转办 with no disposal limit. The clerk forwards it over HTTP; casework
closes it as 已转办 and the partner reads 已转办 with the body it went to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from libs.events import kafka
from services.casework import app as casework_app
from services.intake import app as intake_app
from tests.conftest import Schemas, unique
from tests.integration.casework.conftest import LEADER, _jwks
from tests.integration.fixtures import Intake, eventually
from tests.integration.intake.conftest import resident_id, transfer
from tests.integration.intake.test_personal_data import operator_auth


@dataclass
class Both:
    intake: Intake
    casework: httpx.AsyncClient
    casework_app: FastAPI


@pytest.fixture
async def both(
    database_url: str,
    bootstrap: str,
    schemas: Schemas,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[Both]:
    monkeypatch.setenv("ZF_TOPIC_PREFIX", unique("fwd"))
    await kafka.ensure_topics(bootstrap, kafka.all_topics())
    intake_engine = await schemas.migrated("intake")
    intake_schema, vault = schemas.created[-1], unique("t_pii")
    schemas.created.append(vault)
    # One vault for both, as `zhengfeng up` gives them: casework opens what intake sealed.
    monkeypatch.setenv("ZF_PII_VAULT_SCHEMA", vault)
    await schemas.migrated("casework")
    casework_schema = schemas.created[-1]
    common: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "consumer_session_timeout_ms": 1000,
        "run_scheduler": False,
    }
    intake = intake_app.create(
        intake_app.Settings(
            db_schema=intake_schema,
            pii_vault_schema=vault,
            attachments_dir=tmp_path,
            **common,
        )
    )
    casework = casework_app.create(
        casework_app.Settings(db_schema=casework_schema, **common),
        jwks_fetcher=lambda app: _jwks,
    )
    async with (
        intake.router.lifespan_context(intake),
        casework.router.lifespan_context(casework),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake), base_url="http://intake"
        ) as intake_http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=casework), base_url="http://casework"
        ) as casework_http,
    ):
        yield Both(Intake(intake, intake_http, intake_engine), casework_http, casework)


async def test_a_clue_for_the_city_commission_waits_then_is_forwarded_in_both_services(
    both: Both,
) -> None:
    intake = both.intake
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    body = transfer(
        "SJ-2026-0099",
        reported_persons=[{"name": "赵六", "id_number": resident_id(), "unit": "市财政局"}],
    )
    sent = await intake.http.post("/v1/clue-transfers", json=body, headers=partner)
    assert sent.status_code == 201, sent.text
    clue_id = sent.json()["clue_id"]

    def ledger_status(wanted: str) -> Any:
        async def check() -> dict[str, Any] | None:
            r = await both.casework.get(f"/v1/clues/{clue_id}", headers=LEADER)
            return r.json() if r.status_code == 200 and r.json()["status"] == wanted else None

        return check

    waiting = await eventually(
        ledger_status("awaiting_forwarding"), "casework to hold the clue as 待转办", timeout=60
    )
    case = (await both.casework.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()

    forwarded = await intake.http.post(
        f"/v1/clues/{clue_id}/forwarding",
        json={"method": "document_system", "letter_number": "某纪转〔2026〕9号"},
        headers=clerk,
    )
    closed = await eventually(
        ledger_status("forwarded"), "casework to close the clue as 已转办", timeout=60
    )
    followed = (await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=partner)).json()

    assert waiting["status_label"] == "待转办"
    assert case["deadlines"] == {}
    assert forwarded.status_code == 201, forwarded.text
    assert closed["status_label"] == "已转办"
    assert (followed["status"], followed["outcome"]) == ("forwarded", "已转市纪委监委办理")
