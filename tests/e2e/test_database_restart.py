"""The database stopped and started again under load: 503s while it is away, nothing lost.

The platform of this module runs on a PostgreSQL of its own (embedded, in a temporary
directory, on a Unix socket), so that stopping it disturbs no other test and no other
user of the machine's server. Transfers arrive at a steady rate throughout; the partner
retries what got a 503 with the same Idempotency-Key, as the answer tells it to.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from libs.events import kafka
from libs.runtime.infra import EmbeddedPostgres, ensure_database
from tests.e2e.conftest import Platform, Tokens
from tests.e2e.test_faults import everywhere_once, nothing_caused_twice, nothing_parked_since
from tests.e2e.test_faults import send as send_transfer

RATE = 5.0
"""Transfers started per second, before, during and after the outage."""
DOWN_FOR = 4.0
"""Seconds the database stays stopped."""
BACK_WITHIN = 30.0
"""How long every service may take to say ready again once the database is back."""


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL only this module's platform uses (never the machine's shared one)."""
    with tempfile.TemporaryDirectory(prefix="zf-dbfault-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pgdata")
        pg.start()
        try:
            yield pg
        finally:
            pg.stop()


@pytest.fixture(scope="module")
async def database_url(private_postgres: EmbeddedPostgres) -> AsyncIterator[str]:
    """Overrides the run's database for this module's platform."""
    # Already running: start() joins it and says where it is.
    yield await ensure_database(private_postgres.start(), "zhengfeng")


async def readiness(client: httpx.AsyncClient, platform: Platform) -> dict[str, int]:
    """Each service's ``/readyz`` status code (0: no answer)."""
    codes = {}
    for service in kafka.SERVICES:
        codes[service] = 0
        with contextlib.suppress(httpx.TransportError):
            response = await client.get(platform.url(service, "/readyz"))
            codes[service] = response.status_code
            if response.status_code == 503:
                assert response.json()["status"] == "not ready", response.text
    return codes


async def test_database_stopped_and_restarted_under_load_answers_503_and_loses_nothing(
    platform: Platform, tokens: Tokens, private_postgres: EmbeddedPostgres
) -> None:
    unit, name = "某县住房和城乡建设局", "吴七"
    started = datetime.now(UTC)
    answers: list[httpx.Response] = []
    transfers: list[asyncio.Task[str]] = []
    stop = asyncio.Event()

    async with httpx.AsyncClient(timeout=30) as client:

        async def steady() -> None:
            while not stop.is_set():
                transfers.append(
                    asyncio.create_task(
                        send_transfer(client, platform, tokens, unit, name, answers)
                    )
                )
                await asyncio.sleep(1 / RATE)

        load = asyncio.create_task(steady())
        await asyncio.sleep(2)
        await asyncio.to_thread(private_postgres.stop)
        down_at = time.monotonic()
        while_down = await readiness(client, platform)
        await asyncio.sleep(max(DOWN_FOR - (time.monotonic() - down_at), 0))
        await asyncio.to_thread(private_postgres.start)
        back_at = time.monotonic()
        while True:
            after = await readiness(client, platform)
            if set(after.values()) == {200}:
                answered_before_ready = len(answers)
                break
            assert time.monotonic() - back_at < BACK_WITHIN, f"not ready again: {after}"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # load goes on after the database is back
        stop.set()
        await load
        sent = await asyncio.gather(*transfers)
        where = await everywhere_once(client, platform, tokens, unit, name, sent)
        converged = time.monotonic() - back_at

    assert set(while_down.values()) == {503}, f"ready while the database was down: {while_down}"
    codes = [r.status_code for r in answers]
    assert set(codes) <= {201, 503}, f"answers other than 201 and 503: {sorted(set(codes))}"
    assert 503 in codes, "no request met the outage: the test tested nothing"
    for refused in (r for r in answers if r.status_code == 503):
        assert refused.headers.get("Retry-After"), refused.headers
        assert refused.json()["type"] == "/problems/database-unavailable", refused.text
    await nothing_caused_twice(platform)
    await nothing_parked_since(platform, started)
    ledger = where["casework"]
    print(
        f"\ndatabase stopped {DOWN_FOR:.0f}s under load: sent {len(sent)}; "
        f"answers {codes.count(201)}x201 {codes.count(503)}x503; "
        f"lost {len(set(sent) - set(ledger))}; duplicated {len(ledger) - len(set(ledger))}; "
        f"parked 0; converged {converged:.1f}s after restart; "
        f"503 once ready: {[r.status_code for r in answers[answered_before_ready:]].count(503)}"
    )
