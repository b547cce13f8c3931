"""Faults in the middle of the flow: the broker, a service process, the database.

The four services run as processes on a broker of this module's own (an embedded one,
which loses everything when it stops), so that killing it disturbs no other test. After
each fault the tests check what a user would: every clue the partner got a 201 for is
in casework's ledger, analysis's subject index and accountability's unit index, once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text

from libs.events.envelope import Envelope, envelope_hash, from_kafka, to_kafka
from libs.events.pii import mask_name
from libs.events.signing import Signer
from libs.runtime.infra import EmbeddedBroker, free_port
from tests.e2e.conftest import Platform, Tokens
from tests.factories import namesake_id_number
from tests.integration.kafka_support import header, read_topic

SETTLES_WITHIN = 180.0  # generous: a shared 2-core machine under load is slow, not lossy
"""How long the platform may take to converge after a fault (group session expiry on
the embedded broker alone is ~20 s)."""


@pytest.fixture(scope="module")
def broker(platform_logs: Path) -> Iterator[EmbeddedBroker]:
    """A broker only this module's platform uses."""
    b = EmbeddedBroker(port=free_port(), log_path=platform_logs / "broker.log")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def bootstrap(broker: EmbeddedBroker) -> str:
    """Overrides the run's shared broker for this module's platform."""
    return broker.bootstrap


def restart(broker: EmbeddedBroker) -> None:
    """Start the broker again on the same port (empty: it kept nothing)."""
    port = broker.port
    broker.start()
    assert broker.port == port, "the broker came back on another port"


def body(unit: str, name: str) -> dict[str, Any]:
    # A new ID number each time: namesakes in one unit, so every transfer is a clue of its
    # own (the same person and category again would be merged as a repeat report).
    person = {"name": name, "unit": unit, "post": "科长", "id_number": namesake_id_number()}
    return {
        "reference": f"SJ-2026-{uuid4().hex[:10]}",
        "reported_persons": [person],
        "categories": ["violation_gifts"],
        "narrative": "审计发现其违规收受礼品礼金。",
    }


async def send(
    client: httpx.AsyncClient,
    platform: Platform,
    tokens: Tokens,
    unit: str,
    name: str,
    answers: list[httpx.Response] | None = None,
) -> str:
    """One transfer, retried with its Idempotency-Key until it gets an answer; clue id.

    Every answer it got (each try's) is appended to ``answers`` when given."""
    key, payload = str(uuid4()), body(unit, name)
    for _ in range(50):
        with contextlib.suppress(httpx.TransportError):
            response = await client.post(
                platform.url("intake", "/v1/clue-transfers"),
                headers={**tokens.partner, "Idempotency-Key": key},
                json=payload,
            )
            if answers is not None:
                answers.append(response)
            if response.status_code == 201:
                return str(response.json()["clue_id"])
            assert response.status_code in (500, 503), response.text
        await asyncio.sleep(0.2)
    raise AssertionError("transfer never accepted")


async def listed(
    client: httpx.AsyncClient, platform: Platform, tokens: Tokens, service: str, path: str, **q: str
) -> list[dict[str, Any]]:
    """Every item of a listing, page after page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {**q, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            platform.url(service, path), params=params, headers=tokens.operator
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def placement(
    client: httpx.AsyncClient, platform: Platform, tokens: Tokens, unit: str, name: str
) -> dict[str, list[str]]:
    """Where the clues about ``name`` of ``unit`` are, per service (with repeats)."""
    clues = await listed(client, platform, tokens, "casework", "/v1/clues", limit="200")
    ledger = [c["clue_id"] for c in clues if any(p["unit"] == unit for p in c["reported_persons"])]
    # Names travel sealed (ClueReceived v3): analysis indexes the masked name.
    subjects = await listed(
        client,
        platform,
        tokens,
        "analysis",
        "/v1/subjects",
        name=mask_name(name),
        unit=unit,
        limit="200",
    )
    units = await listed(client, platform, tokens, "accountability", "/v1/units", unit=unit)
    return {
        "casework": ledger,
        "analysis": [c for s in subjects for c in s["clue_ids"]],
        "accountability": [c for u in units for c in u["clue_ids"]],
    }


async def everywhere_once(
    client: httpx.AsyncClient,
    platform: Platform,
    tokens: Tokens,
    unit: str,
    name: str,
    clue_ids: list[str],
) -> dict[str, list[str]]:
    """Wait until each service holds exactly ``clue_ids``; fail showing where they are."""
    wanted = sorted(clue_ids)
    deadline = time.monotonic() + SETTLES_WITHIN
    while True:
        where = await placement(client, platform, tokens, unit, name)
        if all(sorted(ids) == wanted for ids in where.values()):
            return where
        for service, ids in where.items():
            assert len(ids) == len(set(ids)), f"{service} applied a clue twice: {ids}"
            assert set(ids) <= set(wanted), f"{service} holds clues nobody sent"
        if time.monotonic() > deadline:
            missing = {s: sorted(set(wanted) - set(ids)) for s, ids in where.items()}
            raise AssertionError(f"not everywhere within {SETTLES_WITHIN:.0f}s; missing {missing}")
        await asyncio.sleep(0.5)


async def nothing_caused_twice(platform: Platform) -> None:
    """No consumer recorded the same effect of one incoming event twice."""
    for service in ("casework", "analysis", "accountability"):
        engine = platform.engine(service)
        try:
            async with engine.connect() as conn:
                repeats = (
                    await conn.execute(
                        text(
                            """SELECT causation_id, type, stream_id, count(*) FROM events
                               WHERE causation_id IS NOT NULL
                               GROUP BY 1, 2, 3 HAVING count(*) > 1"""
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        assert repeats == [], f"{service} applied events twice: {repeats}"


async def nothing_parked_since(platform: Platform, started: datetime) -> None:
    """No consumer parked an event since ``started`` (a transient fault is never poison)."""
    for service in ("casework", "analysis", "accountability"):
        engine = platform.engine(service)
        try:
            async with engine.connect() as conn:
                parked = (
                    await conn.execute(
                        text("SELECT event_id, error FROM dead_letters WHERE parked_at >= :t"),
                        {"t": started},
                    )
                ).all()
        finally:
            await engine.dispose()
        assert parked == [], f"{service} parked valid events for a transient fault: {parked}"


async def test_broker_killed_and_restarted_mid_flow_loses_and_repeats_nothing(
    platform: Platform, tokens: Tokens, broker: EmbeddedBroker
) -> None:
    unit, name = "某县水利局", "钱一"
    async with httpx.AsyncClient(timeout=10) as client:
        before = [await send(client, platform, tokens, unit, name) for _ in range(6)]
        # Some of these are on the broker, some may not be consumed yet: then it dies.
        await asyncio.to_thread(broker.stop)
        during = [await send(client, platform, tokens, unit, name) for _ in range(4)]
        await asyncio.to_thread(restart, broker)
        after = [await send(client, platform, tokens, unit, name) for _ in range(2)]

        await everywhere_once(client, platform, tokens, unit, name, before + during + after)
    await nothing_caused_twice(platform)


async def test_a_consumer_killed_mid_consuming_and_restarted_loses_and_repeats_nothing(
    platform: Platform, tokens: Tokens
) -> None:
    unit, name = "某县农业农村局", "孙二"
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await asyncio.gather(
            *(send(client, platform, tokens, unit, name) for _ in range(20))
        )
        # Analysis is somewhere in the middle of these when it is killed.
        platform.kill("analysis")
        more = [await send(client, platform, tokens, unit, name) for _ in range(3)]
        platform.start("analysis")
        await asyncio.to_thread(platform.wait_ready, "analysis")

        await everywhere_once(client, platform, tokens, unit, name, [*sent, *more])
    await nothing_caused_twice(platform)


async def test_database_connections_dropped_during_commands_leave_no_half_applied_transfer(
    platform: Platform, tokens: Tokens
) -> None:
    unit, name = "某县市场监管局", "李三"
    outcomes: list[int] = []

    async def attempt(client: httpx.AsyncClient, key: str, payload: dict[str, Any]) -> None:
        response = await client.post(
            platform.url("intake", "/v1/clue-transfers"),
            headers={**tokens.partner, "Idempotency-Key": key},
            json=payload,
        )
        outcomes.append(response.status_code)
        if response.status_code != 201:
            assert response.status_code == 503, response.text
            problem = response.json()
            assert problem["type"] == "/problems/database-unavailable"
            assert "Idempotency-Key" in problem["detail"]

    async def kill_intake_connections() -> None:
        engine = platform.engine("intake")
        try:
            for _ in range(10):
                async with engine.connect() as conn:
                    await conn.execute(
                        text(
                            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                               WHERE application_name = :app AND pid <> pg_backend_pid()"""
                        ),
                        {"app": f"zhengfeng-{platform.schemas['intake']}"},
                    )
                await asyncio.sleep(0.05)
        finally:
            await engine.dispose()

    requests = [(str(uuid4()), body(unit, name)) for _ in range(30)]
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(
            kill_intake_connections(),
            *(attempt(client, key, payload) for key, payload in requests),
        )
        # The partner retries whatever failed, with the same key: one clue each.
        clue_ids = []
        for key, payload in requests:
            for _ in range(20):
                response = await client.post(
                    platform.url("intake", "/v1/clue-transfers"),
                    headers={**tokens.partner, "Idempotency-Key": key},
                    json=payload,
                )
                if response.status_code == 201:
                    clue_ids.append(response.json()["clue_id"])
                    break
                await asyncio.sleep(0.1)
        assert len(clue_ids) == len(set(clue_ids)) == len(requests)

        await everywhere_once(client, platform, tokens, unit, name, clue_ids)

    engine = platform.engine("intake")
    try:
        async with engine.connect() as conn:
            references = (
                await conn.execute(
                    text(
                        """SELECT r.reference, r.clue_id, count(e.event_id) AS events
                           FROM partner_references r
                           LEFT JOIN events e ON e.stream_id = 'clue-' || r.clue_id
                                AND e.type = 'zhengfeng.intake.clue_received'
                           WHERE r.reference = ANY(:refs) GROUP BY 1, 2"""
                    ),
                    {"refs": [p["reference"] for _, p in requests]},
                )
            ).all()
    finally:
        await engine.dispose()
    assert sorted(str(r.clue_id) for r in references) == sorted(clue_ids)
    assert {r.events for r in references} == {1}, "a reference without its event, or two"
    assert 503 in outcomes or set(outcomes) == {201}


async def test_a_poison_message_is_parked_on_the_dead_letter_topic_and_the_rest_flow(
    platform: Platform, tokens: Tokens, bootstrap: str
) -> None:
    unit, name = "某县卫健委", "周四"
    topic = platform_topic(platform, "intake")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            key=b"clue-poison",
            value=b'{"not": "a clue"',
            headers=[("ce_specversion", b"1.0"), ("ce_type", b"zhengfeng.intake.clue_received")],
        )
    finally:
        await producer.stop()
    async with httpx.AsyncClient(timeout=10) as client:
        sent = [await send(client, platform, tokens, unit, name) for _ in range(3)]
        await everywhere_once(client, platform, tokens, unit, name, sent)

    for service in ("casework", "analysis", "accountability"):
        engine = platform.engine(service)
        try:
            async with engine.connect() as conn:
                parked = (await conn.execute(text("SELECT topic, error FROM dead_letters"))).all()
        finally:
            await engine.dispose()
        assert [p.topic for p in parked] == [topic], service
        assert "not a Zhengfeng CloudEvent" in parked[0].error
    dead = await read_topic(bootstrap, f"{platform.prefix}.casework.dlq")
    assert [r.key for r in dead] == [b"clue-poison"]
    assert dict(dead[0].headers)["x-original-topic"] == topic.encode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def platform_topic(platform: Platform, service: str) -> str:
    return f"{platform.prefix}.{service}.events"


async def test_consumers_whose_connections_keep_dropping_park_no_valid_event(
    platform: Platform, tokens: Tokens
) -> None:
    """Every consuming service's database connections are terminated every 50 ms while
    transfers flow: each consumer waits the faults out; nothing is parked, lost or doubled."""
    unit, name = "某县交通运输局", "钱五"
    consumers = ("casework", "analysis", "accountability")
    started = datetime.now(UTC)
    stop = asyncio.Event()

    async def keep_killing() -> int:
        engine, killed = platform.engine("intake"), 0
        apps = [f"zhengfeng-{platform.schemas[s]}" for s in consumers]
        try:
            while not stop.is_set():
                async with engine.connect() as conn:
                    killed += len(
                        (
                            await conn.execute(
                                text(
                                    """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                       WHERE application_name = ANY(:apps)"""
                                ),
                                {"apps": apps},
                            )
                        ).all()
                    )
                await asyncio.sleep(0.05)
        finally:
            await engine.dispose()
        return killed

    async with httpx.AsyncClient(timeout=30) as client:
        killer = asyncio.create_task(keep_killing())
        sent = [await send(client, platform, tokens, unit, name) for _ in range(40)]
        await asyncio.sleep(3)  # the consumers are still catching up under the faults
        stop.set()
        killed = await killer
        await everywhere_once(client, platform, tokens, unit, name, sent)
    await nothing_caused_twice(platform)
    assert killed > 0, "no connection was ever dropped: the test tested nothing"
    await nothing_parked_since(platform, started)
    print(f"\nconnections dropped: {killed}; transfers: {len(sent)}; parked: 0; lost: 0")


async def test_forged_and_unsigned_events_are_parked_by_every_consumer_and_applied_by_none(
    platform: Platform, tokens: Tokens, bootstrap: str
) -> None:
    """A writer with access to intake's topic takes a real clue event, changes it, gives it a
    new id and recomputes its hash with the documented algorithm: unsigned, with the old
    signature, or signed by a key that is not intake's, no consumer applies it."""
    unit, name = "某县自然资源局", "孙六"
    async with httpx.AsyncClient(timeout=10) as client:
        clue_id = await send(client, platform, tokens, unit, name)
        await everywhere_once(client, platform, tokens, unit, name, [clue_id])
    topic = platform_topic(platform, "intake")
    (record,) = [
        r
        for r in await read_topic(bootstrap, topic)
        if r.key == f"clue-{clue_id}".encode()
        and header(r, "ce_type") == "zhengfeng.intake.clue_received"
    ]
    genuine = from_kafka(record.value, record.headers)
    async with httpx.AsyncClient(timeout=10) as client:
        published = await client.get(platform.url("intake", "/.well-known/event-keys.json"))
    keys = {k["kid"]: k for k in published.json()["keys"]}
    assert {k["service"] for k in keys.values()} == {"intake"}
    # What a subscriber outside the platform does with a stock library (docs/event-store.md).
    public = Ed25519PublicKey.from_public_bytes(
        _unb64(keys[header(record, "ce_signingkeyid")]["x"])
    )
    public.verify(
        _unb64(header(record, "ce_signature") or ""),
        b"zhengfeng-event-signature-v1:" + (header(record, "ce_eventhash") or "").encode(),
    )
    stranger = Signer("intake", "intake-20261207-forged", Ed25519PrivateKey.generate())

    def forged() -> Envelope:
        data = {**genuine.data, "narrative": "伪造：并无此事。"}
        changed = dataclasses.replace(genuine, id=uuid4(), data=data, encoded_data=None)
        return dataclasses.replace(changed, eventhash=envelope_hash(changed))

    unsigned = dataclasses.replace(forged(), signature=None, signingkeyid=None)
    old_signature = forged()  # keeps the genuine event's signature and key id
    wrong_key = stranger.sign(forged())
    fakes = [unsigned, old_signature, wrong_key]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for fake in fakes:
            key, value, headers = to_kafka(fake)
            await producer.send_and_wait(topic, key=key, value=value, headers=headers)
    finally:
        await producer.stop()

    fake_ids = sorted(str(f.id) for f in fakes)
    deadline = time.monotonic() + SETTLES_WITHIN
    for service in ("casework", "analysis", "accountability"):
        engine = platform.engine(service)
        try:
            while True:
                async with engine.connect() as conn:
                    parked = (
                        await conn.execute(
                            text(
                                "SELECT event_id, error FROM dead_letters WHERE event_id = ANY(:ids)"
                            ),
                            {"ids": fake_ids},
                        )
                    ).all()
                    applied = (
                        await conn.execute(
                            text("SELECT count(*) FROM inbox WHERE event_id::text = ANY(:ids)"),
                            {"ids": fake_ids},
                        )
                    ).scalar_one()
                assert applied == 0, f"{service} applied a forged event"
                if len(parked) == len(fakes) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        finally:
            await engine.dispose()
        assert sorted(p.event_id for p in parked) == fake_ids, service
        assert all("not signed by the service that owns the topic" in p.error for p in parked)
    print(f"\nforged events sent: {len(fakes)}; parked by 3 consumers; applied by none")

    # The operator's check of the topics: intake's holds the forgeries, casework's is clean.
    intake_check = platform.cli("verify", "intake", "--published", check=False)
    assert intake_check.returncode == 1, intake_check.stdout + intake_check.stderr
    assert "SUSPECT RECORDS" in intake_check.stdout
    for why in ("unsigned", "does not verify", "unknown key"):
        assert why in intake_check.stdout, intake_check.stdout
    casework_check = platform.cli("verify", "casework", "--published", check=False)
    assert casework_check.returncode == 0, casework_check.stdout + casework_check.stderr
    assert "signed by casework and equal to its store" in casework_check.stdout
