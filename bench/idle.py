"""What an idle platform costs: CPU share of the four services, their PostgreSQL backends
and the broker, with nothing to do.

    .venv/bin/python -m bench.idle          # settle 40 s, then measure 60 s
    BENCH_IDLE_SETTLE=10 BENCH_IDLE_SECONDS=30 .venv/bin/python -m bench.idle

The platform is started as ``bench.e2e`` starts it (a database per service, an embedded
broker unless ``KAFKA_BOOTSTRAP_SERVERS``), given 20 transfers so that every relay and
consumer has worked once, left alone ``BENCH_IDLE_SETTLE`` seconds and then measured for
``BENCH_IDLE_SECONDS`` from /proc (CPU time, which a busy machine barely inflates). The
idle work is the platform's own: fallback polls of the store, the services' looks at
their topics, the relays' looks at whether the broker kept what they published, jobs.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from bench import cpu, infra
from bench.e2e import SERVICES, Bench, load, offer, platform_processes
from tests.e2e.conftest import Platform

SETTLE = float(os.environ.get("BENCH_IDLE_SETTLE") or 40)
SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS") or 60)


async def main() -> None:
    url = await infra.database_url()
    async with infra.broker() as (bootstrap, _):
        with tempfile.TemporaryDirectory(prefix="zf-idle-") as logs:
            platform = Platform(url, bootstrap, Path(logs))
            print(f"load average at start: {load()}")
            await platform.make_databases()
            b = Bench(platform)
            try:
                await asyncio.gather(
                    asyncio.to_thread(platform.cli, "migrate"),
                    asyncio.to_thread(platform.cli, "topics", "create"),
                )
                for service in SERVICES:
                    platform.start(service)
                await asyncio.to_thread(platform.wait_ready, *SERVICES, within=600)
                await b.login()
                await offer(b, 10, 2)
                groups = await platform_processes(platform, url)
                await asyncio.sleep(SETTLE)
                used = await cpu.measure(groups, asyncio.sleep(SECONDS))
            finally:
                await asyncio.to_thread(platform.stop_all)
                await b.close()
                await platform.drop()
    shares = {k: f"{100 * v / SECONDS:.1f} %" for k, v in used.items()}
    total = sum(used.values())
    print(
        f"idle {SECONDS:g} s after {SETTLE:g} s settling, share of one core: {shares};"
        f" total {100 * total / SECONDS:.1f} %"
    )
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    asyncio.run(main())
