"""Schemathesis against casework's OpenAPI: no request, valid or not, gets a 5xx.

The harness is ``tests/integration/contract.py``; here casework supplies its app on the
real test database with two clues in the register (one with a disposal proposal waiting
for sign-off), an operator holding every casework role and a feed subscriber.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import jwt
import pytest

from libs.events.asyncapi import FEED_SCOPE
from tests.conftest import Schemas
from tests.integration.casework.conftest import KEY, KID, OFFICER, auth, running
from tests.integration.contract import EXAMPLES, STATEFUL_SECONDS, Target, fuzz, serve

ROLES = ("clerk", "investigator", "reviewer", "leader", "supervisor", "director", "secretary")


@pytest.fixture
async def target(database_url: str, schemas: Schemas) -> AsyncIterator[Target]:
    async with running(database_url, schemas) as cw:
        clues = [await cw.receive(), await cw.receive()]
        proposed = await cw.command(
            clues[1], "dispose", OFFICER, method="talk_or_inquiry", reason="问题较轻，函询说明"
        )
        assert proposed.status_code == 202, proposed.text
        operator = auth(*ROLES, "auditor", sub="duty-officer-1", dept="第一监督检查室")
        subscriber = _subscriber()
        async with serve(cw.app) as url:
            yield Target(
                url,
                {"operator": operator, "subscriber": subscriber},
                lambda method, path: "subscriber" if path.startswith("/v1/events") else "operator",
                known={
                    "case_id": [str(c) for c in clues],
                    "clue_id": [str(c) for c in clues],
                    "key": [str(clues[1])],
                    "proposal_id": [proposed.json()["proposal_id"]],
                },
                valid_bodies={
                    "POST /v1/cases/{case_id}/dispose": {
                        "method": "talk_or_inquiry",
                        "reason": "问题较轻，函询说明",
                    },
                },
            )


def _subscriber() -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": "统计平台", "kind": "system", "scope": FEED_SCOPE, "iss": "zhengfeng",
              "aud": "zhengfeng", "iat": now, "exp": now + 3600}  # fmt: skip
    token = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID})
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.slow  # the contract run: `make test-slow`
@pytest.mark.timeout(max(240, EXAMPLES * 20) + STATEFUL_SECONDS)
async def test_no_request_gets_a_server_error(target: Target) -> None:
    await fuzz(target)
