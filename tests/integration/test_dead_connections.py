"""Pooled connections the server ended are never handed out again (issue 21).

After a database restart, a failover or an operator's ``pg_terminate_backend``, every
connection in a service's pool is dead. The next requests must be answered as usual — not
a 503 per dead connection, and not the append fast path failing on the same dead
connection again and again — because the pool replaces a connection the server closed
before handing it out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from libs.kit.db import driver, noting_checkouts
from libs.kit.problems import connection_lost
from tests.conftest import Schemas
from tests.integration.kafka_support import wait_until
from tests.integration.test_small_pool import intake_app_and_calls, intake_service

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


async def _end_session(database_url: str, driver: asyncpg.Connection) -> None:
    """End ``driver``'s server session and wait until the driver has heard of it."""
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", driver.get_server_pid())
    finally:
        await admin.close()

    async def heard() -> bool:
        return driver.is_closed()

    await wait_until(heard, "the driver to hear that its session ended", interval=0.01)


async def test_a_request_whose_connection_dies_before_its_first_query_is_answered_as_usual(
    database_url: str, schemas: Schemas, caplog: pytest.LogCaptureFixture
) -> None:
    """The server ends the session of the connection a request was just handed — its goodbye
    arriving after the checkout, before the request's first query, the instant the pool
    cannot see. The driver refuses to send on it, nothing reached the database, and the
    request runs again on a fresh connection: answered as usual, not 503."""
    caplog.set_level(logging.INFO, logger="libs.kit.reconnect")
    async with intake_app_and_calls(database_url, schemas) as (app, http, calls):
        engine = app.state.runtime.engine
        ended: list[int] = []
        armed = False

        def end_after_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            # After the pool's own check (registered first) let the connection through.
            nonlocal armed
            if armed and noting_checkouts():  # a request's, not a background loop's
                armed = False
                driver = dbapi_connection.driver_connection
                ended.append(driver.get_server_pid())
                await_only(_end_session(database_url, driver))

        event.listen(engine.sync_engine, "checkout", end_after_checkout)
        try:
            answers = []
            for i in range(ROUNDS):
                for call in calls:
                    armed = True
                    answers.append(await call(http, i))
        finally:
            event.remove(engine.sync_engine, "checkout", end_after_checkout)

    assert len(ended) == ROUNDS * len(calls), "a call took no pooled connection"
    again = [r for r in caplog.records if "running it again on a fresh one" in r.getMessage()]
    assert len(again) == len(ended), "a request whose connection died was not run again"
    for answer in answers:
        assert answer.status_code < 300, (answer.request.url, answer.status_code, answer.text)


async def test_a_transaction_begun_at_the_driver_on_a_dead_connection_fails_as_sqlalchemy_would(
    database_url: str, schemas: Schemas
) -> None:
    """``driver`` begins a transaction with its BEGIN alone; on a connection the server has
    ended, that fails as a first statement through SQLAlchemy fails: wrapped, the
    connection invalidated (so a request is answered 503 or run again), not as a bare
    driver error that would answer 500."""
    engine = await schemas.migrated()
    with pytest.raises(DBAPIError) as failed:
        async with engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await _end_session(database_url, raw)
            await driver(conn)
    assert failed.value.connection_invalidated
    assert connection_lost(failed.value)
    async with engine.connect() as conn:  # the pool hands out a live one
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
