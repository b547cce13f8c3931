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

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import text

from libs.events.asyncapi import FEED_SCOPE
from libs.kit.issuer import create_client
from services.intake import app as intake_app
from tests.conftest import Schemas, unique
from tests.integration.fixtures import eventually
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_public_reports import SECRET, report

EXAMPLES = int(os.environ.get("ZF_SCHEMATHESIS_EXAMPLES", "25"))
"""Generated calls per operation and mode (valid, invalid); raise it for a deeper run."""


VALID_BODIES: dict[str, Any] = {
    "POST /v1/clue-transfers": transfer("SJ-FUZZ-2"),
    "POST /v1/reports": report(),
    "POST /v1/clues/{clue_id}/messages": {"text": "已收到，正在办理。"},
    "POST /v1/reports/{code}/messages": {"text": "请问进展如何？"},
}


@dataclass
class Served:
    url: str
    tokens: dict[str, dict[str, str]]
    known: dict[str, list[str]]
    """Path parameter -> values that exist (a transfer, two reports, a work order)."""


@pytest.fixture
async def served(database_url: str, schemas: Schemas, tmp_path: Path) -> AsyncIterator[Served]:
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
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, "uvicorn to serve intake")
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            tokens = {
                "operator": await _token(
                    http,
                    await create_client(
                        engine,
                        kind="operator",
                        name="全角色",
                        roles=["clerk", "supervisor", "investigator", "leader", "auditor"],
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
        yield Served(
            url,
            tokens,
            {
                "clue_id": [clue.json()["clue_id"], *reports],
                "code": [filed.json()["receipt_code"]],
                "order_number": ["GD-FUZZ-1"],
            },
        )
    finally:
        server.should_exit = True
        await task


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


def _audience(path: str) -> str | None:
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


def _fuzz_operation(served: Served, operation: Any, stats: list[int]) -> str | None:
    """Call one operation with generated cases; the first failure found, if any."""
    audience = _audience(operation.path)
    headers = served.tokens[audience] if audience else {}
    known = [
        {name: value}
        for name, values in served.known.items()
        if f"{{{name}}}" in operation.path
        for value in values
    ]
    fixed_headers = {"X-Report-Secret": SECRET} if "{code}" in operation.path else None
    strategies = [
        operation.as_strategy(generation_mode=mode)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    strategies += [
        operation.as_strategy(path_parameters=exists, headers=fixed_headers) for exists in known
    ]
    if (body := VALID_BODIES.get(operation.label)) is not None:
        # Generated data rarely passes the domain's own checks (ID check digits,
        # taxonomy codes); a valid body with generated headers gets past them.
        strategies += [
            operation.as_strategy(body=body, path_parameters=exists, headers=fixed_headers)
            for exists in known or [None]
        ]
    failed: list[str] = []

    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def check(case: Any) -> None:
        response = case.call(base_url=served.url, headers=headers, timeout=30)
        stats.append(response.status_code)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except Exception as exc:  # kept, so that one run reports every operation
            failed.append(f"{operation.label}: {exc}")
            raise

    try:
        check()
    except Exception as exc:
        return failed[-1] if failed else f"{operation.label}: {exc!r}"
    return None


def _fuzz(served: Served, document: dict[str, Any]) -> tuple[list[str], dict[str, list[int]]]:
    failures: list[str] = []
    stats: dict[str, list[int]] = {}
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        operation = result.ok()
        failure = _fuzz_operation(served, operation, stats.setdefault(operation.label, []))
        if failure is not None:
            failures.append(failure)
    return failures, stats


@pytest.mark.timeout(max(300, EXAMPLES * 12))
async def test_no_request_gets_a_server_error(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        document = (await http.get("/openapi.json")).json()

    failures, stats = await asyncio.to_thread(_fuzz, served, document)

    answered = {label: dict(Counter(codes)) for label, codes in stats.items()}
    assert failures == [], "\n\n".join(failures) + f"\n\nstatus codes per operation: {answered}"
    # Every operation was reached past authentication at least once.
    assert all(set(codes) - {401, 403} for codes in answered.values()), answered
