"""The relay's republish alone: `python -m bench.relay_republish` (prints figures, asserts nothing).

What dominates a restart (bench/restart.py) is the relay publishing the whole store again.
This bench puts ``BENCH_RELAY_EVENTS`` (20 000) events in intake's store as bench.restart
does, then times ``BENCH_RELAY_ROUNDS`` (2) republishes of all of them by the real relay
(leading, signed, 6 partitions, to an embedded broker) from an empty cursor, with the CPU
time the process spent, next to a raw produce of as many keyed records (the ceiling).
Load average (``uptime``) before and after: the machine is shared, compare runs taken
one after the other.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench import infra, raw
from bench.restart import Rig, fill, say, until, uptime
from libs.events import kafka
from libs.runtime.infra import EmbeddedBroker

EVENTS = int(os.environ.get("BENCH_RELAY_EVENTS") or 20_000)
ROUNDS = int(os.environ.get("BENCH_RELAY_ROUNDS") or 2)


async def republish(rig: Rig, bootstrap: str) -> tuple[float, float]:
    """(seconds, CPU seconds) for the relay to publish the whole store from the start."""
    await kafka.ensure_topics(bootstrap, [rig.topic])
    producer = kafka.producer(bootstrap)
    await producer.start()
    stop = asyncio.Event()
    try:
        relay = rig.relay(producer, bootstrap)
        await relay.reset()
        start, cpu = time.perf_counter(), time.process_time()
        task = asyncio.create_task(relay.run(stop))

        async def done() -> bool:
            return await rig.store.count_after(await relay.cursor()) == 0

        await until(done)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        stop.set()
        await task
        return seconds, cpu
    finally:
        stop.set()
        await producer.stop()


async def main() -> None:
    say(f"load before: {uptime()}")
    url = await infra.database_url()
    with tempfile.TemporaryDirectory(prefix="zf-bench-relay-") as tmp:
        rig = Rig(url, Path(tmp) / "keys")
        await rig.migrate()
        broker: EmbeddedBroker | None = None
        try:
            await fill(rig.store, EVENTS)
            broker = EmbeddedBroker(port=0)
            bootstrap = await asyncio.to_thread(broker.start)
            for n in range(ROUNDS):
                seconds, cpu = await republish(rig, bootstrap)
                say(
                    f"round {n + 1}: the relay republished {EVENTS} in {seconds:.1f} s "
                    f"({EVENTS / seconds:.0f}/s, {cpu:.1f} s CPU)"
                )
            _, produced = await raw.produce(bootstrap, EVENTS)
            say(f"ceiling: raw produce of {EVENTS} keyed records: {produced:.1f} s")
        finally:
            if broker is not None:
                await asyncio.to_thread(broker.stop)
            await rig.drop()
    say(f"load after: {uptime()}")


if __name__ == "__main__":
    asyncio.run(main())
