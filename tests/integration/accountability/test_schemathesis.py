"""Schemathesis against accountability's OpenAPI: no request, valid or not, gets a 5xx.

The harness is ``tests/integration/contract.py``; here accountability supplies its app
on the real test database with a responsibility list, an inquiry with a finding and a
measure proposed for the commission's decision, a rectification list and a survey that
exist, an operator holding every accountability role, an inspection group's partner
client and an event subscriber (a survey's form and responses are public).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from libs.events.asyncapi import FEED_SCOPE
from tests.conftest import Schemas
from tests.integration.accountability.conftest import (
    KEY,
    KID,
    OFFICER,
    Accountability,
    auth,
    start,
)
from tests.integration.accountability.factories import UNIT
from tests.integration.accountability.test_documents import _inquiry
from tests.integration.accountability.test_rectification import LIST
from tests.integration.contract import EXAMPLES, STATEFUL_SECONDS, Target, fuzz, serve

ROLES = ("accountability", "organisation", "reviewer", "supervisor", "leader", "director",
         "secretary", "auditor")  # fmt: skip


def _system(scope: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": f"client-{scope}", "kind": "system", "scope": scope, "iss": "zhengfeng",
              "aud": "zhengfeng", "iat": now, "exp": now + 3600}  # fmt: skip
    return {
        "Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='RS256', headers={'kid': KID})}"
    }


def _audience(method: str, path: str) -> str | None:
    if path.startswith("/v1/events"):
        return "subscriber"
    if path.startswith("/v1/inspection-findings"):
        return "partner"
    if path.startswith("/v1/surveys/{survey_id}/") and path.endswith(("/form", "/responses")):
        return None
    return "operator"


@pytest.fixture
async def target(database_url: str, schemas: Schemas) -> AsyncIterator[Target]:
    app, engine, schema = await start(database_url, schemas)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            inquiry_id, etag = await _inquiry(Accountability(app, http, engine, schema))
            measure = await http.post(
                f"/v1/inquiries/{inquiry_id}/measures",
                json={"party_id": "department_leader", "measure": "admonition"},
                headers={**OFFICER, "If-Match": etag},
            )
            assert measure.status_code == 201, measure.text
            measure_id = measure.json()["measures"][-1]["measure_id"]
            decision = await http.post(
                f"/v1/inquiries/{inquiry_id}/measures/{measure_id}/decision",
                json={"decided_by_body": "commission", "approved": True},
                headers={**OFFICER, "If-Match": measure.headers["ETag"]},
            )
            assert decision.status_code == 202, decision.text
            listed = await http.post("/v1/rectifications", json=LIST, headers=OFFICER)
            assert listed.status_code == 201, listed.text
            survey = await http.post(
                "/v1/surveys",
                json={"unit": UNIT, "period": "2026-H1", "tokens": 3},
                headers=OFFICER,
            )
            assert survey.status_code == 201, survey.text
        tokens = {
            "operator": auth(*ROLES, sub="officer-1"),
            "partner": _system("findings:report"),
            "subscriber": _system(FEED_SCOPE),
        }
        async with serve(app) as url:
            yield Target(
                url,
                tokens,
                _audience,
                known={
                    "inquiry_id": [inquiry_id],
                    "key": [inquiry_id],
                    "measure_id": [measure_id],
                    "proposal_id": [decision.json()["proposal_id"]],
                    "list_id": [listed.json()["list_id"]],
                    "item_id": [i["item_id"] for i in listed.json()["items"]],
                    "survey_id": [survey.json()["survey_id"]],
                    "unit": [UNIT],
                    "period": ["2026-06"],
                },
            )


@pytest.mark.slow  # the contract run: `make test-slow`
@pytest.mark.timeout(max(300, EXAMPLES * 30) + STATEFUL_SECONDS)
async def test_no_request_gets_a_server_error(target: Target) -> None:
    await fuzz(target)
