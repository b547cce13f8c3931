"""Load: partners transfer clues at a steady rate; afterwards every service counts the same.

Small by default so that CI runs it in seconds; ``make load`` runs it bigger
(``LOAD_RATE`` transfers per second for ``LOAD_SECONDS``). Rates and times are printed,
not asserted: what is asserted is zero loss, zero duplicates and an intact hash chain.
"""

from __future__ import annotations

import asyncio
import os
import time
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import Platform, Tokens

RATE = float(os.environ.get("LOAD_RATE") or 20)
SECONDS = float(os.environ.get("LOAD_SECONDS") or 5)
SETTLES_WITHIN = 120.0 + SECONDS

COUNTS = {
    "intake": "SELECT count(*) FROM events WHERE type = 'zhengfeng.intake.clue_received'",
    "casework": "SELECT count(*) FROM clue_ledger",
    "analysis": "SELECT coalesce(sum(cardinality(clue_ids)), 0) FROM subject_index",
    "accountability": "SELECT coalesce(sum(cardinality(clue_ids)), 0) FROM unit_index",
}
DISTINCT = {
    "casework": "SELECT count(DISTINCT clue_id) FROM clue_ledger",
    "analysis": "SELECT count(DISTINCT c) FROM subject_index, unnest(clue_ids) AS c",
    "accountability": "SELECT count(DISTINCT c) FROM unit_index, unnest(clue_ids) AS c",
}


async def count(platform: Platform, queries: dict[str, str]) -> dict[str, int]:
    out = {}
    for service, sql in queries.items():
        engine = platform.engine(service)
        try:
            async with engine.connect() as conn:
                out[service] = int((await conn.execute(text(sql))).scalar_one())
        finally:
            await engine.dispose()
    return out


@pytest.mark.slow
async def test_clues_sent_at_a_steady_rate_are_counted_once_in_every_service(
    platform: Platform, tokens: Tokens
) -> None:
    total = max(1, round(RATE * SECONDS))
    statuses: list[int] = []

    async def one(client: httpx.AsyncClient, i: int) -> None:
        response = await client.post(
            platform.url("intake", "/v1/clue-transfers"),
            headers={**tokens.partner, "Idempotency-Key": str(uuid4())},
            json={
                "reference": f"SJ-LOAD-{uuid4().hex[:12]}",
                # Many subjects across a few units, as a county's transfers are.
                "reported_persons": [{"name": f"对象{i}", "unit": f"某县第{i % 7}局"}],
                "categories": ["violation_gifts"],
                "narrative": "负载测试线索。",
            },
        )
        statuses.append(response.status_code)

    async with httpx.AsyncClient(timeout=60) as client:
        start = time.monotonic()
        sends = []
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / RATE - time.monotonic()))
            sends.append(asyncio.create_task(one(client, i)))
        await asyncio.gather(*sends)
        sent_in = time.monotonic() - start

    assert statuses == [201] * total
    deadline = time.monotonic() + SETTLES_WITHIN
    while (counts := await count(platform, COUNTS)) != dict.fromkeys(COUNTS, total):
        assert all(n <= total for n in counts.values()), f"more than sent: {counts}"
        assert time.monotonic() < deadline, f"not all arrived: {counts} of {total}"
        await asyncio.sleep(0.25)
    settled_in = time.monotonic() - start
    print(
        f"\nload: {total} transfers in {sent_in:.1f}s ({total / sent_in:.0f}/s asked {RATE:g}/s);"
        f" all four services counted {total} after {settled_in:.1f}s"
    )

    assert await count(platform, DISTINCT) == dict.fromkeys(DISTINCT, total)
    verified = await asyncio.to_thread(platform.cli, "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count(": ok") == 4
