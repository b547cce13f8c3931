"""A relay in a process of its own, so that a test can SIGKILL it mid-batch.

    python -m tests.integration.relay_worker DATABASE_URL SCHEMA BOOTSTRAP TOPIC [BATCH_SIZE [LEASE]]

Runs ``Relay(...).run(stop)`` on the store in ``SCHEMA`` until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from libs.events import kafka
from libs.events.relay import Relay
from libs.events.store import EventStore
from libs.kit.db import make_engine


async def main(
    database_url: str, schema: str, bootstrap: str, topic: str, batch_size: int, lease: float
) -> None:
    """Relay ``schema``'s store to ``topic`` until asked to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = make_engine(database_url, schema, pool_size=2)
    producer = kafka.producer(bootstrap)
    await producer.start()
    try:
        store = EventStore(engine, source="/zhengfeng/relay-worker")
        relay = Relay(
            store,
            producer,
            topic,
            bootstrap=bootstrap,
            batch_size=batch_size,
            backlog_batch_size=batch_size,  # a crash repeats at most one batch of this size
            standby_interval=0.1,
            lease=lease,
        )
        await relay.run(stop)
    finally:
        await producer.stop()
        await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    url, schema_name, servers, topic_name, *rest = sys.argv[1:]
    size = int(rest[0]) if rest else 50
    lease = float(rest[1]) if len(rest) > 1 else 8.0
    asyncio.run(main(url, schema_name, servers, topic_name, size, lease))
