"""Another government system subscribes: replays history over HTTP, then follows Kafka.

Runs ``examples/subscriber.py`` — plain httpx and aiokafka, nothing of Zhengfeng's — as
its own process against the four running services.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx

from tests.e2e.conftest import ROOT, Platform, Tokens
from tests.e2e.test_walking_skeleton import ARRIVES_WITHIN, eventually, in_ledger, transfer

CLUE_REGISTERED = "zhengfeng.casework.clue_registered"


async def next_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=ARRIVES_WITHIN)
    assert line, "the subscriber exited early"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_a_subscriber_replays_casework_history_then_follows_its_topic(
    platform: Platform, tokens: Tokens
) -> None:
    system = json.loads(
        (
            await asyncio.to_thread(
                platform.cli,
                "clients",
                "create",
                "--kind",
                "system",
                "--name",
                "统计局数据平台",
                "--scope",
                "events:read",
            )
        ).stdout
    )
    async with httpx.AsyncClient(timeout=10) as client:
        history = [
            (await transfer(client, platform, tokens, name="周八", unit="某县交通局"))["clue_id"]
            for _ in range(2)
        ]
        for clue_id in history:
            await eventually(
                in_ledger(client, platform, tokens, clue_id),
                within=ARRIVES_WITHIN,
                what="clue in casework's ledger",
            )

        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "examples" / "subscriber.py"),
            "--service",
            "casework",
            "--service-url",
            platform.url("casework"),
            "--token-url",
            platform.url("intake", "/oauth/token"),
            "--client-id",
            system["client_id"],
            "--client-secret",
            system["client_secret"],
            "--bootstrap",
            platform.bootstrap,
            "--follow",
            "120",
            env=platform.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            seen: list[dict[str, Any]] = []
            while "switching_to" not in (line := await next_line(process)):
                seen.append(line)
            live = [
                (await transfer(client, platform, tokens, name="周八", unit="某县交通局"))[
                    "clue_id"
                ]
                for _ in range(2)
            ]
            wanted = {f"clue-{c}" for c in history + live}
            while not wanted <= {e["subject"] for e in seen if e["type"] == CLUE_REGISTERED}:
                seen.append(await next_line(process))
        finally:
            process.terminate()
            await process.wait()

    registered = [e for e in seen if e["type"] == CLUE_REGISTERED]
    by_subject = {e["subject"]: e["via"] for e in registered}
    assert {by_subject[f"clue-{c}"] for c in history} == {"feed"}
    assert {by_subject[f"clue-{c}"] for c in live} == {"kafka"}
    assert len({e["id"] for e in seen}) == len(seen), "an event was handled twice"
    assert line["switching_to"].endswith(".casework.events")
