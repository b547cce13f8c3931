"""Pooled connections the server ended are never handed out again (issue 21).

After a database restart, a failover or an operator's ``pg_terminate_backend``, every
connection in a service's pool is dead. The next requests must be answered as usual — not
a 503 per dead connection, and not the append fast path failing on the same dead
connection again and again — because the pool replaces a connection the server closed
before handing it out.
"""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import Schemas
from tests.integration.kafka_support import wait_until
from tests.integration.test_small_pool import intake_service

ROUNDS = 3


async def terminate_backends(database_url: str, application: str) -> list[int]:
    """End every server session of ``application``; returns their pids once all are gone."""
    admin = await asyncpg.connect(database_url)
    try:
        pids: list[int] = [
            r["pid"]
            for r in await admin.fetch(
                # In the select list, so that it runs only for the rows the WHERE kept
                # (a qualifier may be evaluated before the other, whatever its place).
                """SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE application_name = $1""",
                application,
            )
        ]

        async def gone() -> bool:
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids
            )
            return left == 0

        await wait_until(gone, "the terminated sessions to end")
        return pids
    finally:
        await admin.close()


async def test_requests_after_every_connection_was_terminated_are_answered_as_usual(
    database_url: str, schemas: Schemas
) -> None:
    async with intake_service(database_url, schemas) as (http, calls):
        application = f"zhengfeng-{schemas.created[-1]}"
        # Several connections in the pool: the reads and merged transfers at once (two
        # merges into one clue at once may meet a 409, as they would any day).
        warm = await asyncio.gather(*(call(http, i) for i in range(4) for call in calls))
        assert all(r.status_code < 500 for r in warm), [r.text for r in warm]

        killed = await terminate_backends(database_url, application)
        assert len(killed) >= 2, "the pool held fewer connections than the test needs"

        one_by_one = [await call(http, i) for i in range(ROUNDS) for call in calls]
        killed += await terminate_backends(database_url, application)
        at_once = await asyncio.gather(*(call(http, i) for i in range(ROUNDS) for call in calls))

    for answer in one_by_one:
        assert answer.status_code < 300, (answer.request.url, answer.status_code, answer.text)
    for answer in at_once:  # no 500, no 503: a 409 is the merges' own race
        assert answer.status_code < 300 or answer.status_code == 409, (
            answer.request.url,
            answer.status_code,
            answer.text,
        )
