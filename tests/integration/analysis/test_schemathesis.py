"""Schemathesis against analysis's OpenAPI: no request, valid or not, gets a 5xx.

The harness is ``tests/integration/contract.py``; here analysis supplies its app on the
real test database with a unit, a person and a drunk-driving record fed in (so a batch,
a rule and an alert exist), an operator holding every analysis role, a feed partner with
every feed scope and an event subscriber.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from libs.events.asyncapi import FEED_SCOPE
from tests.conftest import Schemas
from tests.integration.analysis.support import ALL_FEED_SCOPES, running
from tests.integration.contract import EXAMPLES, STATEFUL_SECONDS, Target, fuzz, serve

ROLES = ("clerk", "supervisor", "investigator", "analyst", "leader", "auditor")


def _audience(method: str, path: str) -> str:
    if path.startswith("/v1/events"):
        return "subscriber"
    if path.startswith("/v1/feeds/"):
        return "partner"
    return "operator"


@pytest.fixture
async def target(database_url: str, schemas: Schemas) -> AsyncIterator[Target]:
    async with running(database_url, schemas) as analysis:
        await analysis.send(
            "units", '{"unit_code":"U001","name":"青山县财政局"}\n'.encode(), batch_id="units-1"
        )
        await analysis.send(
            "people",
            '{"person_id":"U001-001","name":"王伟","unit_code":"U001","post":"局长","rank":"正科"}\n'.encode(),
        )
        await analysis.send(
            "drunk_driving",
            '{"case_no":"JJ1","person_id":"U001-001","name":"王伟","unit_code":"U001","ts":"2026-03-06T22:30:00+08:00"}\n'.encode(),
        )
        await analysis.settle()
        (alert,) = await analysis.alerts()
        tokens = {
            "operator": analysis.mint.bearer(kind="operator", roles=ROLES),
            "partner": analysis.mint.bearer(kind="system", scopes=ALL_FEED_SCOPES),
            "subscriber": analysis.mint.bearer(kind="system", scopes=(FEED_SCOPE,)),
        }
        async with serve(analysis.app) as url:
            yield Target(
                url,
                tokens,
                _audience,
                known={
                    "kind": ["units"],
                    "batch_id": ["units-1"],
                    "rule_id": ["fuel.over_tank"],
                    "alert_id": [alert["alert_id"]],
                },
                valid_bodies={
                    "POST /v1/rules/{rule_id}/versions": {
                        "params": {"capacity_ratio": 1.1},
                        "reason": "油箱余量",
                    },
                    "POST /v1/alerts/{alert_id}/verification": {
                        "finding": "confirmed",
                        "notes": "属实",
                    },
                },
            )


@pytest.mark.slow  # the contract run: `make test-slow`
@pytest.mark.timeout(max(240, EXAMPLES * 20) + STATEFUL_SECONDS)
async def test_no_request_gets_a_server_error(target: Target) -> None:
    await fuzz(target)
