"""The walking skeleton: a partner's clue transfer travels through all four services.

Each service runs as its own process (``zhengfeng serve``) on real PostgreSQL and a real
Kafka-protocol broker; the tests talk to them only over HTTP and the CLI, and look into
a service's schema only to count what its store recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import uuid4

import httpx
from sqlalchemy import text

from libs.events.pii import mask_name
from tests.e2e.conftest import Platform, Tokens
from tests.factories import namesake_id_number

T = TypeVar("T")

ARRIVES_WITHIN = 20.0
"""How long a clue may take to reach the other services once all of them are up."""

RESUMES_WITHIN = 45.0
"""How long a restarted consumer may take to catch up. Its group must first expire the
killed member's session (no clean leave after SIGKILL): about 18 s on the embedded broker."""


async def eventually(check: Callable[[], Awaitable[T | None]], *, within: float, what: str) -> T:
    """Poll ``check`` until it returns something other than None; fail after ``within``."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {within:.0f}s")
        await asyncio.sleep(0.2)


async def transfer(
    client: httpx.AsyncClient, platform: Platform, tokens: Tokens, *, name: str, unit: str
) -> dict[str, Any]:
    """Transfer one clue from the partner; returns intake's answer."""
    response = await client.post(
        platform.url("intake", "/v1/clue-transfers"),
        headers={**tokens.partner, "Idempotency-Key": str(uuid4())},
        json={
            "reference": f"SJ-2026-{uuid4().hex[:8]}",
            # A namesake each time (own ID number): a clue of its own, not a repeat report.
            "reported_persons": [
                {"name": name, "unit": unit, "post": "副局长", "id_number": namesake_id_number()}
            ],
            "categories": ["violation_gifts"],
            "narrative": "审计发现其在节日期间收受管理服务对象购物卡。",
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "received"
    return body


def in_ledger(
    client: httpx.AsyncClient, platform: Platform, tokens: Tokens, clue_id: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """A check: casework's ledger entry for the clue, or None while it is not there."""

    async def check() -> dict[str, Any] | None:
        response = await client.get(
            platform.url("casework", f"/v1/clues/{clue_id}"), headers=tokens.operator
        )
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        clue: dict[str, Any] = response.json()
        return clue

    return check


def in_subject_index(
    client: httpx.AsyncClient, platform: Platform, tokens: Tokens, name: str, clue_ids: set[str]
) -> Callable[[], Awaitable[list[dict[str, Any]] | None]]:
    """A check: analysis's subjects called ``name`` once they list all of ``clue_ids``."""

    async def check() -> list[dict[str, Any]] | None:
        response = await client.get(
            platform.url("analysis", "/v1/subjects"), params={"name": name}, headers=tokens.operator
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        listed = {c for item in items for c in item["clue_ids"]}
        return items if clue_ids <= listed else None

    return check


def in_unit_index(
    client: httpx.AsyncClient, platform: Platform, tokens: Tokens, unit: str, clue_ids: set[str]
) -> Callable[[], Awaitable[list[dict[str, Any]] | None]]:
    """A check: accountability's rows for ``unit`` once they count all of ``clue_ids``."""

    async def check() -> list[dict[str, Any]] | None:
        response = await client.get(
            platform.url("accountability", "/v1/units"),
            params={"unit": unit},
            headers=tokens.operator,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        listed = {c for item in items for c in item["clue_ids"]}
        return items if clue_ids <= listed else None

    return check


async def test_a_partner_transfer_reaches_the_ledger_the_subject_index_and_the_unit_index(
    platform: Platform, tokens: Tokens
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await transfer(client, platform, tokens, name="王五", unit="某县财政局")
        clue_id = sent["clue_id"]

        clue = await eventually(
            in_ledger(client, platform, tokens, clue_id),
            within=ARRIVES_WITHIN,
            what="clue in casework's ledger",
        )
        subjects = await eventually(
            in_subject_index(client, platform, tokens, mask_name("王五"), {clue_id}),
            within=ARRIVES_WITHIN,
            what="clue in analysis's subject index",
        )
        units = await eventually(
            in_unit_index(client, platform, tokens, "某县财政局", {clue_id}),
            within=ARRIVES_WITHIN,
            what="clue in accountability's unit index",
        )

    assert clue["status"] == "pending_disposal"
    assert clue["status_label"] == "待处置"
    assert clue["clue_number"] == sent["clue_number"]
    assert clue["source_department"] == "audit"
    # Personal data travels sealed: other services hold only the masked name.
    assert clue["reported_persons"][0]["name"] == "王*"
    assert [(s["name"], s["unit"], s["clue_ids"]) for s in subjects] == [
        ("王*", "某县财政局", [clue_id])
    ]
    assert [(u["unit"], u["clue_count"], u["clue_ids"]) for u in units] == [
        ("某县财政局", 1, [clue_id])
    ]


async def test_transfers_sent_while_casework_is_killed_reach_its_ledger_exactly_once(
    platform: Platform, tokens: Tokens
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        # Casework is a live member of its consumer group when it dies.
        before = await transfer(client, platform, tokens, name="赵六", unit="某市住建局")
        await eventually(
            in_ledger(client, platform, tokens, before["clue_id"]),
            within=ARRIVES_WITHIN,
            what="clue in casework's ledger before the kill",
        )

        platform.kill("casework")
        during = [
            await transfer(client, platform, tokens, name="赵六", unit="某市住建局")
            for _ in range(2)
        ]
        missed = {c["clue_id"] for c in during}
        # The other services carry on (and so the events are on the broker).
        await eventually(
            in_subject_index(client, platform, tokens, mask_name("赵六"), missed),
            within=ARRIVES_WITHIN,
            what="clues in analysis while casework is down",
        )

        platform.start("casework")
        await asyncio.to_thread(platform.wait_ready, "casework")
        arrived = [
            await eventually(
                in_ledger(client, platform, tokens, clue_id),
                within=RESUMES_WITHIN,
                what=f"clue {clue_id} in casework's ledger after the restart",
            )
            for clue_id in sorted(missed)
        ]
        listed = await client.get(
            platform.url("casework", "/v1/clues"), params={"limit": 200}, headers=tokens.operator
        )

    assert {c["clue_number"] for c in arrived} == {c["clue_number"] for c in during}
    assert all(c["status"] == "pending_disposal" for c in arrived)
    assert listed.status_code == 200, listed.text
    ledger_ids = [c["clue_id"] for c in listed.json()["items"]]
    assert sorted(i for i in ledger_ids if i in missed) == sorted(missed)

    engine = platform.engine("casework")
    try:
        async with engine.connect() as conn:
            registered = dict(
                (
                    await conn.execute(
                        text(
                            """SELECT data->>'clue_id', count(*) FROM events
                               WHERE type = 'zhengfeng.casework.clue_registered'
                               GROUP BY 1"""
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert {clue_id: registered.get(clue_id) for clue_id in missed} == dict.fromkeys(missed, 1)
    assert registered.get(before["clue_id"]) == 1


async def test_verify_accepts_the_stores_after_the_flow_and_names_a_tampered_event(
    platform: Platform, tokens: Tokens
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await transfer(client, platform, tokens, name="孙七", unit="某区教育局")
        clue = await eventually(
            in_ledger(client, platform, tokens, sent["clue_id"]),
            within=ARRIVES_WITHIN,
            what="clue in casework's ledger",
        )
    stream = f"clue-{clue['clue_id']}"

    intact = await asyncio.to_thread(platform.cli, "verify", check=False)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "BROKEN" not in intact.stdout

    engine = platform.engine("casework")
    try:
        async with engine.begin() as conn:
            original = (
                await conn.execute(
                    text(
                        "SELECT data::text FROM events WHERE stream_id = :s AND stream_version = 1"
                    ),
                    {"s": stream},
                )
            ).scalar_one()
            # The immutability trigger refuses this unless triggers are off for the transaction.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text(
                    """UPDATE events SET data = jsonb_set(data::jsonb, '{narrative}', '"（已篡改）"')
                       WHERE stream_id = :s AND stream_version = 1"""
                ),
                {"s": stream},
            )
        try:
            broken = await asyncio.to_thread(platform.cli, "verify", check=False)
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL session_replication_role = replica"))
                await conn.execute(
                    text(
                        """UPDATE events SET data = CAST(:d AS json)
                           WHERE stream_id = :s AND stream_version = 1"""
                    ),
                    {"d": original, "s": stream},
                )
    finally:
        await engine.dispose()

    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "casework: BROKEN" in broken.stdout
    assert f"stream {stream} version 1" in broken.stdout


async def test_one_trace_id_follows_a_partners_post_to_the_event_casework_applies(
    platform: Platform, tokens: Tokens
) -> None:
    # The partner's system traces its call (W3C trace context); the platform carries the
    # trace id on every event the call causes, across services, as correlation id and as
    # the CloudEvents traceparent.
    trace = uuid4().hex
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            platform.url("intake", "/v1/clue-transfers"),
            headers={
                **tokens.partner,
                "Idempotency-Key": str(uuid4()),
                "traceparent": f"00-{trace}-{uuid4().hex[:16]}-01",
            },
            json={
                "reference": f"SJ-2026-{uuid4().hex[:8]}",
                "reported_persons": [
                    {"name": "冯七", "unit": "某县林业局", "id_number": namesake_id_number()}
                ],
                "categories": ["violation_gifts"],
                "narrative": "审计发现其收受购物卡。",
            },
        )
        assert response.status_code == 201, response.text
        clue_id = response.json()["clue_id"]
        await eventually(
            in_ledger(client, platform, tokens, clue_id), within=ARRIVES_WITHIN, what="ledger"
        )

    engine = platform.engine("casework")
    try:
        async with engine.connect() as conn:
            applied = (
                await conn.execute(
                    text(
                        "SELECT type, correlation_id FROM events WHERE stream_id = :s"
                        " ORDER BY stream_version"
                    ),
                    {"s": f"clue-{clue_id}"},
                )
            ).all()
    finally:
        await engine.dispose()

    assert response.headers["x-correlation-id"] == trace
    assert applied and applied[0].type.endswith("clue_registered")
    assert {row.correlation_id for row in applied} == {trace}
