"""Shared fixtures: a real PostgreSQL and a real Kafka-protocol broker for the whole run.

PostgreSQL: ``DATABASE_URL`` when set, else the machine's server at 127.0.0.1:5432 when it
answers, else an embedded one. Broker: ``KAFKA_BOOTSTRAP_SERVERS`` when set, else an
embedded Tansu. Each test gets fresh schemas, so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.store import EventStore
from libs.kit.db import make_engine
from libs.kit.migrations import upgrade_async
from libs.runtime.infra import EmbeddedBroker, EmbeddedPostgres, ensure_database, postgres_reachable

# The suite makes up the keys a deployment gets from secrets (libs/events/devmode.py).
os.environ.setdefault("ZF_DEV_MODE", "1")

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/{db}"
# One database per checkout: readers by position wait for every older transaction of
# their database to end, so two checkouts' suites sharing one database would hold back
# each other's reads. ``ZF_TEST_DATABASE`` names it explicitly.
_CHECKOUT = str(Path(__file__).resolve().parents[1])
TEST_DATABASE = os.environ.get("ZF_TEST_DATABASE") or (
    "zhengfeng_test_" + hashlib.sha256(_CHECKOUT.encode()).hexdigest()[:8]
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        elif f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A URL of a real PostgreSQL database for the run."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    if asyncio.run(postgres_reachable(LOCAL_POSTGRES.format(db="postgres"))):
        yield asyncio.run(ensure_database(LOCAL_POSTGRES, TEST_DATABASE))
        return
    with tempfile.TemporaryDirectory(prefix="zf-pg-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pgdata")
        try:
            yield asyncio.run(ensure_database(pg.start(), TEST_DATABASE))
        finally:
            pg.stop()


@pytest.fixture(scope="session")
def bootstrap() -> Iterator[str]:
    """``host:port`` of a real Kafka-protocol broker for the run."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
        return
    with tempfile.TemporaryDirectory(prefix="zf-broker-") as tmp:
        broker = EmbeddedBroker(port=0, log_path=Path(tmp) / "broker.log")
        broker.start()
        try:
            yield broker.bootstrap
        finally:
            broker.stop()


def unique(prefix: str) -> str:
    """A name no other test uses (schemas, topics, groups)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class Schemas:
    """Creates migrated schemas for a test and drops them afterwards."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.created: list[str] = []
        self.engines: list[AsyncEngine] = []

    async def migrated(self, service: str = "analysis", *, pool_size: int = 10) -> AsyncEngine:
        """An engine on a fresh schema carrying ``service``'s migrations."""
        schema = unique(f"t_{service}")
        await upgrade_async(self.database_url, service, schema)
        self.created.append(schema)
        engine = make_engine(self.database_url, schema, pool_size=pool_size)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()
        if not self.created:
            return
        admin = make_engine(self.database_url, "public", pooled=False)
        try:
            async with admin.begin() as conn:
                for schema in self.created:
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await admin.dispose()


@pytest.fixture
async def schemas(database_url: str) -> AsyncIterator[Schemas]:
    """Factory of fresh, migrated schemas (dropped after the test)."""
    s = Schemas(database_url)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def engine(schemas: Schemas) -> AsyncEngine:
    """An engine on a fresh schema with the event store tables."""
    return await schemas.migrated()


@pytest.fixture
async def store(engine: AsyncEngine) -> EventStore:
    """An event store on a fresh schema."""
    return EventStore(engine, source="/zhengfeng/test")
