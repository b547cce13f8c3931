"""Oversize bodies cost a service no memory: eight concurrent unauthenticated 50 MB
bodies to casework leave its resident memory within 50 MB of what it was idle."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from uuid import uuid4

from tests.e2e.conftest import Platform

BODY = 50 * 1024 * 1024
CHUNK = 1024 * 1024
SENDERS = 8
ALLOWED_GROWTH = 50 * 1024 * 1024


def rss(pid: int) -> int:
    """Resident memory of a process in bytes (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def _write_body(writer: asyncio.StreamWriter, chunked: bool) -> None:
    chunk = b"x" * CHUNK
    framed = b"%x\r\n%s\r\n" % (CHUNK, chunk) if chunked else chunk
    with contextlib.suppress(ConnectionError):
        for _ in range(BODY // CHUNK):
            writer.write(framed)
            await writer.drain()


async def send_oversize(port: int, path: str, chunked: bool) -> int:
    """POST 50 MB without a token (declared or chunked); the status the service answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % BODY
    writer.write(
        b"POST %s HTTP/1.1\r\nHost: casework\r\nContent-Type: application/json\r\n%s\r\n\r\n"
        % (path.encode(), length)
    )
    sending = asyncio.create_task(_write_body(writer, chunked))
    status = await reader.readline()
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await sending
    writer.close()
    return int(status.split()[1])


async def test_concurrent_oversize_bodies_leave_casework_memory_as_it_was(
    platform: Platform,
) -> None:
    pid = platform.pid("casework")
    idle = rss(pid)
    peak = idle
    path = f"/v1/cases/{uuid4()}/assign"
    senders = asyncio.gather(
        *(send_oversize(platform.ports["casework"], path, i % 2 == 1) for i in range(SENDERS))
    )
    started = time.monotonic()
    while not senders.done():
        peak = max(peak, rss(pid))
        await asyncio.sleep(0.02)
    statuses = await senders
    peak = max(peak, rss(pid))

    print(
        f"\n卷宗服务常驻内存：空闲 {idle / 2**20:.1f} MB，"
        f"{SENDERS} 个并发 50 MB 请求期间峰值 {peak / 2**20:.1f} MB，"
        f"耗时 {time.monotonic() - started:.2f} 秒"
    )
    assert statuses == [413] * SENDERS
    assert peak - idle <= ALLOWED_GROWTH
