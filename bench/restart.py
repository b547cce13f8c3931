"""What a restart costs: `python -m bench.restart` (prints figures, asserts nothing).

The embedded broker keeps nothing: after a platform restart every relay publishes its
whole store again and every consumer meets the whole history again, at new offsets. This
bench puts ``BENCH_RESTART_EVENTS`` (100 000) events in intake's store (bulk appends of
100 events per stream), lets a consumer with casework's tables catch up through the real
relay (signed, 6 partitions), then stops the consumer, the relay and the broker, starts an
empty broker, a new relay and a new consumer of the same group, and times

* restart → caught up: from the new broker's start until the new consumer has dealt with
  every record the relay published again (the relay's republish included);

next to peer figures of the same run:

* the first catch-up (relay and consumer from nothing, every event applied);
* the consumer alone over the whole republished topic, with its positions (another group
  given the same positions) and with none (another group: every record is checked and
  looked up in the inbox, as every restart was before positions);
* a raw consume of the same records (aiokafka, no checks): the ceiling for any consumer;
* a raw produce of as many records (aiokafka, keyed, acks=all, no store, no signing): the
  ceiling for the relay's republish.

Load average (``uptime``) before and after. ``BENCH_RESTART_EVENTS`` sets the size.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench import infra, raw
from bench.common import PAYLOAD
from bench.zhengfeng_store import BenchClueNoted
from libs.events import kafka, signing
from libs.events.consumer import ConsumerRunner, Trust
from libs.events.envelope import Envelope
from libs.events.relay import Relay
from libs.events.store import NO_STREAM, EventStore, Metadata
from libs.kit.db import make_engine
from libs.kit.migrations import upgrade_async
from libs.runtime.infra import EmbeddedBroker

EVENTS = int(os.environ.get("BENCH_RESTART_EVENTS") or 100_000)
PER_STREAM = 100
APPEND_AT_ONCE = 8
EFFECT = "CREATE TABLE bench_effect (event_id uuid NOT NULL, stream_id text NOT NULL)"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def say(what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {what}", flush=True)


async def fill(store: EventStore, n: int) -> None:
    event = BenchClueNoted.model_validate(PAYLOAD)
    meta = Metadata(actor="bench")
    streams = iter(range(n // PER_STREAM))

    async def writer() -> None:
        for s in streams:
            await store.append(
                f"clue-{s}", [event] * PER_STREAM, expected_version=NO_STREAM, meta=meta
            )

    await asyncio.gather(*(writer() for _ in range(APPEND_AT_ONCE)))


async def effect(conn: AsyncConnection, envelope: Envelope) -> None:
    """One row per event: the consumer's visible effect."""
    await conn.execute(
        text("INSERT INTO bench_effect (event_id, stream_id) VALUES (:i, :s)"),
        {"i": envelope.id, "s": envelope.subject},
    )


def settled(runner: ConsumerRunner) -> int:
    s = runner.stats
    return s.processed + s.duplicates + s.known + s.skipped + s.dead_letters


async def until(done: Callable[[], Awaitable[bool] | bool], timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = done()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("gave up")
        await asyncio.sleep(0.05)


class Rig:
    def __init__(self, url: str, keys: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.url = url
        self.schemas = (f"bench_restart_src_{tag}", f"bench_restart_sink_{tag}")
        self.source = make_engine(url, self.schemas[0], app="zhengfeng-bench")
        self.sink = make_engine(url, self.schemas[1], app="zhengfeng-bench")
        self.store = EventStore(self.source, source="/zhengfeng/intake")
        signing.ensure_keys(keys, ["intake"])
        self.signer = signing.signer_for(keys, "intake")
        self.keyring = signing.Keyring(keys)
        self.topic = f"zhengfeng.bench.restart.{tag}"
        self.group = f"bench-restart-{tag}"

    async def migrate(self) -> None:
        await upgrade_async(self.url, "intake", self.schemas[0])
        await upgrade_async(self.url, "casework", self.schemas[1])
        async with self.sink.begin() as conn:
            await conn.execute(text(EFFECT))

    async def drop(self) -> None:
        for engine, schema in ((self.source, self.schemas[0]), (self.sink, self.schemas[1])):
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await engine.dispose()

    def relay(self, producer: object, bootstrap: str) -> Relay:
        return Relay(
            self.store,
            producer,
            self.topic,
            bootstrap=bootstrap,
            signer=self.signer,  # type: ignore[arg-type]
        )

    def runner(self, bootstrap: str, producer: object, group: str | None = None) -> ConsumerRunner:
        return ConsumerRunner(
            engine=self.sink,
            bootstrap=bootstrap,
            group_id=group or self.group,
            topics=[self.topic],
            handler=effect,
            dead_letter_topic=f"{self.topic}.dlq",
            producer=producer,  # type: ignore[arg-type]
            trust=Trust(self.keyring, {self.topic: "intake"}),
        )


async def catch_up(rig: Rig, bootstrap: str) -> tuple[float, float, ConsumerRunner]:
    """Relay and consumer until every event is dealt with: (relay done s, consumer done s)."""
    await kafka.ensure_topics(bootstrap, [rig.topic, f"{rig.topic}.dlq"])
    producer = kafka.producer(bootstrap)
    await producer.start()
    stop = asyncio.Event()
    start = time.perf_counter()
    try:
        relay = rig.relay(producer, bootstrap)
        await relay.reset_if_broker_was_wiped()
        runner = rig.runner(bootstrap, producer)
        tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(runner.run(stop))]
        relayed = 0.0

        async def relay_done() -> bool:
            return await rig.store.count_after(await relay.cursor()) == 0

        async def both() -> bool:
            nonlocal relayed
            if not relayed and await relay_done():
                relayed = time.perf_counter() - start
            return bool(relayed) and settled(runner) >= EVENTS

        await until(both)
        done = time.perf_counter() - start
        stop.set()
        await asyncio.gather(*tasks)
        return relayed, done, runner
    finally:
        stop.set()
        await producer.stop()


async def consume_alone(
    rig: Rig, bootstrap: str, *, positions: bool
) -> tuple[float, ConsumerRunner]:
    """A consumer of another group over the whole topic: with the positions of the first
    (copied), or with none (every record is checked and found in the inbox — what every
    restart cost before positions)."""
    group = f"{rig.group}-{'positioned' if positions else 'no-position'}"
    if positions:
        async with rig.sink.begin() as conn:
            await conn.execute(
                text(
                    """INSERT INTO consumer_positions
                       (consumer, topic, partitions, partition, tx_id, position)
                       SELECT :to, topic, partitions, partition, tx_id, position
                       FROM consumer_positions WHERE consumer = :of"""
                ),
                {"to": group, "of": rig.group},
            )
    producer = kafka.producer(bootstrap)
    await producer.start()
    stop = asyncio.Event()
    try:
        runner = rig.runner(bootstrap, producer, group=group)
        start = time.perf_counter()
        task = asyncio.create_task(runner.run(stop))
        await until(lambda: settled(runner) >= EVENTS)
        seconds = time.perf_counter() - start
        stop.set()
        await task
        return seconds, runner
    finally:
        stop.set()
        await producer.stop()


async def raw_consume(rig: Rig, bootstrap: str) -> tuple[float, int]:
    start = time.perf_counter()
    records = await kafka.read_whole_topic(bootstrap, rig.topic, timeout=3600)
    return time.perf_counter() - start, len(records)


async def main() -> None:
    say(f"load before: {uptime()}")
    url = await infra.database_url()
    with tempfile.TemporaryDirectory(prefix="zf-bench-restart-") as tmp:
        rig = Rig(url, Path(tmp) / "keys")
        await rig.migrate()
        broker: EmbeddedBroker | None = None
        try:
            t = time.perf_counter()
            await fill(rig.store, EVENTS)
            say(f"{EVENTS} events in intake's store in {time.perf_counter() - t:.1f} s")

            broker = EmbeddedBroker(port=0)
            bootstrap = await asyncio.to_thread(broker.start)
            relayed, first, runner = await catch_up(rig, bootstrap)
            say(
                f"first catch-up: relay published all in {relayed:.1f} s, consumer applied "
                f"{runner.stats.processed} in {first:.1f} s"
            )

            await asyncio.to_thread(broker.stop)  # everything it held is gone
            t = time.perf_counter()
            broker = EmbeddedBroker(port=broker.port)
            bootstrap = await asyncio.to_thread(broker.start)
            started = time.perf_counter() - t
            relayed_again, again, runner = await catch_up(rig, bootstrap)
            restart = started + again
            say(
                f"restart → caught up: {restart:.1f} s (broker start {started:.1f} s, relay "
                f"republished all in {relayed_again:.1f} s, consumer done at {again:.1f} s: "
                f"{runner.stats.known} skipped by position, {runner.stats.duplicates} found "
                f"in the inbox, {runner.stats.processed} applied)"
            )

            positioned, other = await consume_alone(rig, bootstrap, positions=True)
            say(
                f"peer: the consumer alone over the whole topic, with positions: "
                f"{positioned:.1f} s ({other.stats.known} skipped by position, "
                f"{other.stats.duplicates} found in the inbox, {other.stats.processed} applied)"
            )
            no_position, other = await consume_alone(rig, bootstrap, positions=False)
            say(
                f"peer: the same, no position (inbox look-ups): {no_position:.1f} s "
                f"({other.stats.duplicates} duplicates, {other.stats.processed} applied)"
            )
            seconds, n = await raw_consume(rig, bootstrap)
            say(f"ceiling: raw consume of the same {n} records: {seconds:.1f} s")
            _, produced = await raw.produce(bootstrap, EVENTS)
            say(f"ceiling: raw produce of {EVENTS} keyed records: {produced:.1f} s")
        finally:
            if broker is not None:
                await asyncio.to_thread(broker.stop)
            await rig.drop()
    print()
    print(f"events in the store                     {EVENTS}")
    print(f"restart → caught up (target < 30 s)      {restart:.1f} s")
    print(f"  of which the relay's republish         {relayed_again:.1f} s")
    print(f"first catch-up (peer)                    {first:.1f} s")
    print(f"consumer alone, with positions (peer)    {positioned:.1f} s")
    print(f"consumer alone, no position (peer)       {no_position:.1f} s")
    print(f"raw consume (ceiling)                    {seconds:.1f} s")
    print(f"raw produce (relay's ceiling)            {produced:.1f} s")
    say(f"load after: {uptime()}")


if __name__ == "__main__":
    asyncio.run(main())
