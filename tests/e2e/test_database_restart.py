"""The database stopped and started again, or out of connection slots, under load: 503s
while it refuses, nothing lost.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
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


@dataclass
class Load:
    """Transfers started at ``RATE`` a second until stopped, each resent with its
    Idempotency-Key until it gets a 201; every answer kept."""

    answers: list[httpx.Response] = field(default_factory=list)
    transfers: list[asyncio.Task[str]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(
        self, client: httpx.AsyncClient, platform: Platform, tokens: Tokens, unit: str, name: str
    ) -> None:
        while not self.stop.is_set():
            self.transfers.append(
                asyncio.create_task(
                    send_transfer(client, platform, tokens, unit, name, self.answers)
                )
            )
            await asyncio.sleep(1 / RATE)

    def check_answers(self) -> list[int]:
        """Every answer a 201 or a 503 telling the client when to resend; the codes."""
        codes = [r.status_code for r in self.answers]
        assert set(codes) <= {201, 503}, f"answers other than 201 and 503: {sorted(set(codes))}"
        assert 503 in codes, "no request met the fault: the test tested nothing"
        for refused in (r for r in self.answers if r.status_code == 503):
            assert refused.headers.get("Retry-After"), refused.headers
            assert refused.json()["type"] == "/problems/database-unavailable", refused.text
        return codes


async def ready_again(client: httpx.AsyncClient, platform: Platform) -> None:
    """Wait until every service answers ``/readyz`` with 200."""
    since = time.monotonic()
    while (codes := await readiness(client, platform)) != dict.fromkeys(kafka.SERVICES, 200):
        assert time.monotonic() - since < BACK_WITHIN, f"not ready again: {codes}"
        await asyncio.sleep(0.2)


def figures(fault: str, sent: list[str], codes: list[int], ledger: list[str], took: float) -> str:
    return (
        f"\n{fault}: sent {len(sent)}; answers {codes.count(201)}x201 {codes.count(503)}x503; "
        f"lost {len(set(sent) - set(ledger))}; duplicated {len(ledger) - len(set(ledger))}; "
        f"parked 0; converged {took:.1f}s after it ended"
    )


async def test_database_stopped_and_restarted_under_load_answers_503_and_loses_nothing(
    platform: Platform, tokens: Tokens, private_postgres: EmbeddedPostgres
) -> None:
    unit, name = "某县住房和城乡建设局", "吴七"
    started = datetime.now(UTC)
    load = Load()
    async with httpx.AsyncClient(timeout=30) as client:
        running = asyncio.create_task(load.run(client, platform, tokens, unit, name))
        await asyncio.sleep(2)
        await asyncio.to_thread(private_postgres.stop)
        down_at = time.monotonic()
        while_down = await readiness(client, platform)
        await asyncio.sleep(max(DOWN_FOR - (time.monotonic() - down_at), 0))
        await asyncio.to_thread(private_postgres.start)
        back_at = time.monotonic()
        await ready_again(client, platform)
        answered_before_ready = len(load.answers)
        await asyncio.sleep(2)  # load goes on after the database is back
        load.stop.set()
        await running
        sent = await asyncio.gather(*load.transfers)
        where = await everywhere_once(client, platform, tokens, unit, name, sent)
        converged = time.monotonic() - back_at

    assert set(while_down.values()) == {503}, f"ready while the database was down: {while_down}"
    codes = load.check_answers()
    await nothing_caused_twice(platform)
    await nothing_parked_since(platform, started)
    once_ready = [r.status_code for r in load.answers[answered_before_ready:]].count(503)
    print(
        figures(f"database stopped {DOWN_FOR:.0f}s", sent, codes, where["casework"], converged)
        + f"; 503 once ready: {once_ready}"
    )


async def fill_connection_slots(url: str, into: list[asyncpg.Connection]) -> None:
    """Open connections until the server refuses more (``too many clients``)."""
    while True:
        try:
            into.append(await asyncpg.connect(url))
        except asyncpg.TooManyConnectionsError:
            return


async def test_database_at_max_connections_answers_503_and_loses_nothing(
    platform: Platform, tokens: Tokens, database_url: str
) -> None:
    """Every connection slot taken by another client: intake, whose pooled connections
    were ended, cannot get one; it answers 503 and says not ready until slots free up."""
    unit, name = "某县城市管理局", "郑八"
    started = datetime.now(UTC)
    load = Load()
    hogs: list[asyncpg.Connection] = []
    intake_app = f"zhengfeng-{platform.schemas['intake']}"
    async with httpx.AsyncClient(timeout=30) as client:
        running = asyncio.create_task(load.run(client, platform, tokens, unit, name))
        try:
            await asyncio.sleep(1)
            await fill_connection_slots(database_url, hogs)
            # Intake's own connections end; the slots they free are taken at once (again,
            # should intake win one back in between).
            while await hogs[0].fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE application_name = $1""",
                intake_app,
            ):
                await fill_connection_slots(database_url, hogs)
            await asyncio.sleep(1)
            intake_ready = (await readiness(client, platform))["intake"]
            await asyncio.sleep(2)
        finally:
            await asyncio.gather(*(h.close() for h in hogs), return_exceptions=True)
        freed_at = time.monotonic()
        await ready_again(client, platform)
        await asyncio.sleep(1)
        load.stop.set()
        await running
        sent = await asyncio.gather(*load.transfers)
        where = await everywhere_once(client, platform, tokens, unit, name, sent)
        converged = time.monotonic() - freed_at

    assert intake_ready == 503, "intake said ready while it could get no connection"
    codes = load.check_answers()
    await nothing_caused_twice(platform)
    await nothing_parked_since(platform, started)
    print(
        figures(
            f"max_connections ({len(hogs)} slots taken)", sent, codes, where["casework"], converged
        )
    )
