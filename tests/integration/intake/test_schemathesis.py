"""Schemathesis against intake's OpenAPI: no request, valid or not, gets a 5xx.

Intake is served by uvicorn on the real test database; each operation is called with a
token of the audience it is for (operator with every operator role, partner department,
12345 system client), with both valid and invalid data generated from the schema, half
of the calls aimed at a clue, receipt and work order that exist so that the paths past
"not found" are exercised too. Responses are also checked against the schema: status
codes the OpenAPI declares, and the bodies of every answer, problems included
(``libs/kit/openapi.py`` describes them).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from libs.events.asyncapi import FEED_SCOPE
from libs.kit.issuer import create_client
from services.intake import app as intake_app
from tests.conftest import Schemas, unique
from tests.integration.contract import STATEFUL_SECONDS, Target, fuzz, serve
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_public_reports import SECRET, report

EXAMPLES = int(os.environ.get("ZF_SCHEMATHESIS_EXAMPLES", "25"))
"""Intake, the public face, is fuzzed deeper than the other services by default."""

VALID_BODIES: dict[str, Any] = {
    "POST /v1/clue-transfers": transfer("SJ-FUZZ-2"),
    "POST /v1/reports": report(),
    "POST /v1/clues/{clue_id}/messages": {"text": "已收到，正在办理。"},
    "POST /v1/reports/{code}/messages": {"text": "请问进展如何？"},
}


@pytest.fixture
async def target(database_url: str, schemas: Schemas, tmp_path: Path) -> AsyncIterator[Target]:
    engine = await schemas.migrated("intake")
    vault_schema = unique("t_pii")
    settings_ = intake_app.Settings(
        database_url=database_url,
        db_schema=schemas.created[-1],
        pii_vault_schema=vault_schema,
        kafka_bootstrap_servers="",
        attachments_dir=tmp_path / "attachments",
        attachment_max_bytes=64 * 1024,
        reports_per_address_per_hour=100_000,
        report_secret_max_failures=100_000,
    )
    schemas.created.append(vault_schema)
    app = intake_app.create(settings_)
    async with serve(app, lifespan="on") as url:
        async with httpx.AsyncClient(base_url=url) as http:
            tokens = {
                "operator": await _token(
                    http,
                    await create_client(
                        engine,
                        kind="operator",
                        name="全角色",
                        roles=["clerk", "supervisor", "investigator", "leader", "auditor", "admin"],
                        client_id="fuzz-operator",
                    ),
                    "password",
                ),
                "partner": await _token(
                    http,
                    await create_client(
                        engine,
                        kind="partner",
                        name="审计局",
                        department="audit",
                        scopes=["clue:transfer"],
                        client_id="fuzz-partner",
                    ),
                ),
                "system": await _token(
                    http,
                    await create_client(
                        engine, kind="system", name="12345平台", scopes=["hotline:orders"]
                    ),
                ),
                "subscriber": await _token(
                    http,
                    await create_client(
                        engine, kind="system", name="统计平台", scopes=[FEED_SCOPE]
                    ),
                ),
            }
            clue = await http.post(
                "/v1/clue-transfers", json=transfer("SJ-FUZZ-1"), headers=tokens["partner"]
            )
            filed = await http.post("/v1/reports", json=report())
            real_name = await http.post(
                "/v1/reports",
                json=report(
                    anonymous=False, secret=None, reporter={"name": "孙七", "phone": "13800000000"}
                ),
            )
            order = await http.post(
                "/v1/hotline-orders",
                json={
                    "order_number": "GD-FUZZ-1",
                    "unit": "某区住建局",
                    "category": "城乡建设",
                    "content": "反映小区违建问题。",
                    "status": "processing",
                },
                headers=tokens["system"],
            )
            statuses = [r.status_code for r in (clue, filed, real_name, order)]
            assert statuses == [201, 201, 201, 201]
        async with engine.connect() as conn:
            reports = [
                r.stream_id.removeprefix("clue-")
                for r in await conn.execute(
                    text("SELECT stream_id FROM events WHERE type LIKE '%report_received'")
                )
            ]
        yield Target(
            url,
            tokens,
            _audience,
            known={
                "clue_id": [clue.json()["clue_id"], *reports],
                "code": [filed.json()["receipt_code"]],
                "order_number": ["GD-FUZZ-1"],
                "account_id": ["fuzz-operator"],
                "client_id": ["fuzz-partner"],
            },
            valid_bodies=VALID_BODIES,
            fixed_headers=_report_secret,
            examples=EXAMPLES,
        )


async def _token(http: httpx.AsyncClient, client: Any, grant: str = "client_credentials") -> dict:
    if grant == "password":
        form = {"grant_type": "password", "username": client.client_id}
        form["password"] = client.client_secret
    else:
        form = {
            "grant_type": grant,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        }
    response = await http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _report_secret(path: str) -> dict[str, str] | None:
    return {"X-Report-Secret": SECRET} if "{code}" in path else None


def _audience(method: str, path: str) -> str | None:
    """Whose token a path is for (public paths get none)."""
    if path.startswith(("/v1/clue-transfers", "/v1/attachments")):
        return "partner"
    if path.startswith("/v1/hotline-orders"):
        return "system"
    if path.startswith("/v1/events"):
        return "subscriber"
    if path.startswith(("/v1/reports", "/oauth", "/.well-known")):
        return None
    return "operator"


@pytest.mark.slow  # the contract run: `make test-slow`
@pytest.mark.timeout(max(300, EXAMPLES * 24) + STATEFUL_SECONDS)
async def test_no_request_gets_a_server_error(target: Target) -> None:
    await fuzz(target)
