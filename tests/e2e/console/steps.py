"""What the console's browser tests do through the services' APIs: a partner's transfer,
an operator's token, a command on a case, a proposal carried through its chain."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

import httpx

from tests.e2e.conftest import Platform, Tokens
from tests.factories import namesake_id_number

SYNCED_WITHIN = 20.0


async def transfer(
    platform: Platform,
    tokens: Tokens,
    name: str,
    unit: str,
    namesake: bool = True,
    categories: tuple[str, ...] = ("violation_gifts",),
) -> dict[str, Any]:
    """A partner's clue transfer about ``name`` of ``unit``: a namesake (an ID number of
    their own), or without an ID number, the same person as any other of that name and unit."""
    person = {"name": name, "unit": unit, "post": "副局长"}
    if namesake:
        person["id_number"] = namesake_id_number()
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            platform.url("intake", "/v1/clue-transfers"),
            headers={**tokens.partner, "Idempotency-Key": str(uuid4())},
            json={
                "reference": f"SJ-2026-{uuid4().hex[:8]}",
                "reported_persons": [person],
                "categories": list(categories),
                "narrative": "审计发现其在节日期间收受管理服务对象购物卡。",
            },
        )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def as_operator(platform: Platform, account: dict[str, Any]) -> dict[str, str]:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            platform.url("intake", "/oauth/token"),
            data={
                "grant_type": "password",
                "username": account["client_id"],
                "password": account["client_secret"],
            },
        )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def case_of(platform: Platform, headers: dict[str, str], case_id: str) -> httpx.Response:
    """Casework's case, once it has arrived there."""
    deadline = time.monotonic() + SYNCED_WITHIN
    async with httpx.AsyncClient() as client:
        while True:
            answer = await client.get(
                platform.url("casework", f"/v1/cases/{case_id}"), headers=headers
            )
            if answer.status_code == 200 or time.monotonic() > deadline:
                assert answer.status_code == 200, answer.text
                return answer
            await asyncio.sleep(0.2)


async def case_command(
    platform: Platform, headers: dict[str, str], case_id: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A command on a case through casework's API, pinned to the version it has now."""
    etag = (await case_of(platform, headers, case_id)).headers["ETag"]
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            platform.url("casework", f"/v1/cases/{case_id}/{name}"),
            headers={**headers, "If-Match": etag, "Idempotency-Key": str(uuid4())},
            json=body,
        )
    assert answer.status_code in (200, 202), answer.text
    return dict(answer.json())


async def assigned_case(
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
    name: str,
    categories: tuple[str, ...] = ("violation_gifts",),
) -> str:
    """A clue the leader has assigned to the officer; its case id."""
    unit = f"青山县住建局{uuid4().hex[:4]}"
    sent = await transfer(platform, tokens, name, unit, categories=categories)
    leader = await as_operator(platform, operators["leader"])
    await case_of(platform, leader, sent["clue_id"])
    officer_id = operators["officer"]["client_id"]
    await case_command(platform, leader, sent["clue_id"], "assign",
                       {"department": "第一监督检查室", "officer": officer_id, "reason": "分管领导批办"})  # fmt: skip
    return str(sent["clue_id"])


async def signed(
    platform: Platform,
    operators: dict[str, dict[str, Any]],
    case_id: str,
    proposal_id: str,
    signers: tuple[str, ...],
) -> None:
    """Each signer approves the proposal in turn; ``secretary`` records the 常委会 meeting."""
    for who in signers:
        headers = await as_operator(platform, operators[who])
        path = f"proposals/{proposal_id}/{'meeting' if who == 'secretary' else 'approve'}"
        body: dict[str, Any] = {"opinion": "agree", "comment": "同意"}
        if who == "secretary":
            body = {
                "session": "2026年第12次",
                "held_on": time.strftime("%Y-%m-%d"),
                "attendees": [operators["secretary"]["client_id"]],
                "conclusion": "agree",
            }
        await case_command(platform, headers, case_id, path, body)


async def carried(
    platform: Platform,
    operators: dict[str, dict[str, Any]],
    case_id: str,
    proposer: str,
    name: str,
    body: dict[str, Any],
    signers: tuple[str, ...] = ("director", "leader"),
) -> None:
    """A command proposed by ``proposer`` and signed by its chain until it takes effect."""
    proposal = await case_command(
        platform, await as_operator(platform, operators[proposer]), case_id, name, body
    )
    await signed(platform, operators, case_id, proposal["proposal_id"], signers)
