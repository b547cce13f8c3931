"""A store with 10 000 clues in intake and 10 000 cases in casework, made in minutes.

    async with seeded_platform(url, bootstrap, logs, clues=10_000, cases=10_000) as (p, report):
        ...  # the four services running on the seeded stores, read models caught up

or ``await seed(platform, ...)`` on a migrated platform whose services are not running yet.
Every event goes through the stores' own ``EventStore.append`` (hash chain and versions as
any command's), so ``zhengfeng verify`` holds and every read model is the projections'
own work once the services start. Fifty streams a transaction; the vault's statements of a
chunk run in one transaction on the vault's database.

* **intake**: each clue is a partner transfer (部门移送) recorded as intake's receive path
  records one naming a person no clue names yet: the person sealed (``seal_persons``), a
  clue number, the event decided by the domain (``receive_transfer``), the narrative
  sealed, the jurisdiction assessment (``on_receipt``), free text sealed with the matter's
  key (``TextSealer``, as the store does on append), the append and the duplicate index.
  Left out: the idempotency key and the partner's reference kept for retries (no retry),
  and the per-person lock (no two transfers name one person).
* **casework**: each clue intake received is registered in casework's ledger (待处置线索) as
  casework's consumer registers it (``register`` with ``clue_fields`` and the routing's
  assignment), so the ledger need not wait for the broker; and each case is a matter's
  stream made by the pure domain (``register`` then ``decide`` for 线索处置, 初核结论, 立案
  and, for half of them, 审查调查), its person and subject sealed under the case's id.

``seeded_platform`` runs the services with their relays off unless ``publish``: what the
seed appends is not published, so analysis and accountability do not learn of it and no
consumer works through 100 000 records while a bench measures. Distinct persons
throughout: no repeat report (重复件) is merged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import kafka, pii
from libs.events.contracts import Event
from libs.events.contracts.casework import Subject
from libs.events.contracts.intake import ClueReceived
from libs.events.sealing import TextSealer
from libs.events.store import NO_STREAM, EventStore, Metadata
from libs.kit.db import make_engine
from services.casework.domain import (
    COMMANDS,
    CaseState,
    clue_fields,
    decide,
    load_rules,
    register,
    replay,
)
from services.casework.handlers import ROUTING, route
from services.intake import app as intake_app
from services.intake.api.transfers import PersonIn
from services.intake.domain import TransferClue, check_character, clue_stream, receive_transfer
from services.intake.domain.duplicates import PersonKeys
from services.intake.personal import seal_narrative, seal_persons
from services.intake.references import next_clue_number
from services.intake.service.repeats import index_clue
from services.intake.settings import Settings as IntakeSettingsOf
from tests.e2e.conftest import Platform

CONCURRENCY = int(os.environ.get("BENCH_SEED_CONCURRENCY") or 4)
PER_TRANSACTION = 50
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = (
    "建国志强秀英丽娟海军文静德明玉兰春华庆红梅桂芳宏伟晓东立新永刚俊峰光辉振华学军"
    "金凤卫东爱民淑珍成龙家豪子涵思远浩然雨轩嘉怡欣悦佳琪梓萱博文天宇锦程若曦亦凡"
    "诗雨晨阳泽楷明轩瑞霖雅婷慧敏秋菊冬梅"
)
UNITS = [f"某市{d}" for d in ("住建局", "交通局", "财政局", "教育局", "卫健委", "水务局")] + [
    f"某县{d}" for d in ("自然资源局", "农业农村局", "市场监管局", "人社局")
]
CATEGORIES = ["violation_gifts", "violation_dining", "gift_cards", "violation_public_travel"]
DEPARTMENTS = ["第一审查调查室", "第二审查调查室", "第三审查调查室"]


def resident_id(n: int) -> str:
    """A valid resident ID number, different for each ``n`` (below 36 500 000)."""
    born = datetime(1950, 1, 1) + timedelta(days=n // 1000)
    first17 = f"110105{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def person_name(n: int) -> str:
    """A name of three characters, different for each ``n`` (below 180 500)."""
    g = len(GIVEN)
    return SURNAMES[n % 20] + GIVEN[(n // 20) % g] + GIVEN[(n // (20 * g)) % g]


@contextlib.contextmanager
def platform_env(platform: Platform) -> Iterator[None]:
    """This process configured as the platform's processes are (settings, vault)."""
    with mock.patch.dict(os.environ, platform.env):
        yield


def vault_of(platform: Platform, engine: AsyncEngine) -> pii.Vault:
    """The platform's vault, its statements on the connection the seed passes (one
    transaction per chunk on the vault's database, instead of one per statement)."""
    with platform_env(platform):
        vault = pii.Vault.from_env(engine)
    vault.separate = False
    return vault


async def seed_intake(
    platform: Platform, n: int, *, first: int = 0
) -> tuple[float, list[ClueReceived]]:
    """``n`` partner transfers (部门移送) into intake's store; seconds taken, and the
    clues received (for casework's ledger, see ``seed_casework``).

    What ``POST /v1/clue-transfers`` records for a transfer naming a person no clue names
    yet, step by step as ``services.intake.service.receive`` takes them: the person sealed
    (``seal_persons``), a clue number, the event decided by the domain
    (``receive_transfer``), the narrative sealed, the jurisdiction assessment
    (``on_receipt``), the append, and the duplicate index (``index_clue``). Left out: the
    request's idempotency key and the partner's reference kept for retries (no retry here),
    and the per-person lock (no two transfers name one person)."""
    with platform_env(platform):
        settings = IntakeSettingsOf()
        deps = intake_app.create(settings).state.deps  # the rules it loads at start
    engine = make_engine(
        platform.database_of("intake"), platform.schemas["intake"], pool_size=CONCURRENCY
    )
    vault = vault_of(platform, engine)
    await vault.ensure()  # as the service does at start
    store = EventStore(engine, source=settings.source)
    meta = Metadata(actor="partner:bench-audit")
    out: list[ClueReceived] = []
    queue = list(range(first, first + n))
    started = time.perf_counter()
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue:
            chunk, queue[-PER_TRANSACTION:] = queue[-PER_TRANSACTION:], []
            now = datetime.now(UTC)
            async with engine.begin() as conn:  # short: the year's counter is a hot row
                numbers = [await next_clue_number(conn, now) for _ in chunk]
            received: list[tuple[list[Event], ClueReceived, PersonKeys, uuid.UUID | None]] = []
            async with vault.engine.begin() as vconn:
                for k, number in zip(chunk, numbers, strict=True):
                    clue_id = uuid.uuid4()
                    person = PersonIn(
                        name=person_name(k),
                        id_number=resident_id(k),
                        unit=UNITS[k % len(UNITS)],
                        post="副局长" if k % 3 else "科长",
                    )
                    sealed = await seal_persons(
                        vault, vconn, [person], context=str(clue_id), now=now
                    )
                    command = TransferClue(
                        department="audit",
                        reference=f"审计移〔2026〕{k:06d}号",
                        reported_persons=list(sealed),
                        categories=[CATEGORIES[k % len(CATEGORIES)]],
                        narrative="反映其节日期间收受管理服务对象购物卡，金额较大。",
                    )
                    (event,) = receive_transfer(
                        command, clue_id=clue_id, clue_number=number, now=now
                    )
                    event = await seal_narrative(vault, vconn, event, [person])
                    keys = PersonKeys(
                        name_unit=vault.blind_index("name_unit", person.name, person.unit),
                        id_number=vault.blind_index("id", person.id_number or ""),
                    )
                    events = await TextSealer(vault)(
                        vconn, clue_stream(clue_id), deps.jurisdiction.on_receipt([event])
                    )
                    received.append((events, event, keys, sealed[0].person_ref))
            async with engine.begin() as conn:
                for events, event, keys, ref in received:
                    await store.append(
                        clue_stream(event.clue_id),
                        events,
                        expected_version=NO_STREAM,
                        meta=meta,
                        conn=conn,
                    )
                    await index_clue(conn, event, [(keys, ref)])
                    out.append(event)
            done += len(chunk)
            if done % 1000 < PER_TRANSACTION:
                rate = done / (time.perf_counter() - started)
                print(f"  intake: {done:,} clues ({rate:,.0f}/s)", flush=True)

    try:
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    finally:
        await engine.dispose()
    return time.perf_counter() - started, out


RULES = load_rules()


def case_events(cid: uuid.UUID, k: int, person: dict[str, Any], subject: Subject) -> list[Event]:
    """One matter's stream: registered, disposed, verified, filed (and half investigated)."""
    received = datetime.now(UTC) - timedelta(days=2 + k % 20, minutes=k % 600)
    at = received + timedelta(hours=1)
    events = register(
        CaseState(),
        {
            "clue_id": cid,
            "clue_number": f"XS-2026-{900000 + k:06d}",
            "source_kind": "hotline",
            "source_department": None,
            "source_reference": None,
            "reported_persons": [person],
            "categories": [CATEGORIES[k % len(CATEGORIES)]],
            "narrative": "反映其违规接受宴请并收受礼金。",
            "received_at": received,
        },
        at,
        RULES,
        assignment={
            "department": DEPARTMENTS[k % len(DEPARTMENTS)],
            "officer": OFFICERS[k % len(OFFICERS)],
            "supervisor": "supervisor-1",
        },
    )
    state = replay(events)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("dispose", {"method": "preliminary_verification"}),
        ("conclude_verification", {"outcome": "propose_filing"}),
        ("file_case", {"case_number": f"AJ-2026-{k:06d}", "subject": subject}),
    ]
    if k % 2:
        steps.append(("start_investigation", {}))
    for i, (name, fields) in enumerate(steps, start=1):
        cmd = COMMANDS[name](reason="依据初核材料", documents=["初核报告"], **fields)
        new = decide(state, cmd, at + timedelta(hours=i), RULES, actor="operator:bench")
        state = replay(new, state)
        events += new
    return events


OFFICERS: list[str] = [f"officer-{i}" for i in range(50)]


async def seed_casework(
    platform: Platform,
    n: int,
    *,
    officer: str | None = None,
    first: int = 0,
    received: Sequence[ClueReceived] = (),
) -> float:
    """``n`` cases appended to casework's store, one in fifty assigned to ``officer``; and
    each clue intake ``received`` registered in casework's ledger (待处置线索) as casework's
    consumer registers it (``register`` with ``clue_fields`` and the routing's
    assignment), so that casework's ledger need not wait for the broker."""
    if officer is not None:
        OFFICERS[0] = officer
    engine = make_engine(
        platform.database_of("casework"), platform.schemas["casework"], pool_size=CONCURRENCY
    )
    vault = vault_of(platform, engine)
    sealer = TextSealer(vault)  # free text sealed with the matter's key, as on append
    store = EventStore(engine, source="/zhengfeng/casework")
    queue = list(range(first, first + n))
    started = time.perf_counter()
    done = 0
    now = datetime.now(UTC)
    routing = json.loads(ROUTING.read_text(encoding="utf-8"))
    clues = list(received)

    async def registrar() -> None:
        while clues:
            chunk, clues[-PER_TRANSACTION * 4 :] = clues[-PER_TRANSACTION * 4 :], []
            registered = []
            async with vault.engine.begin() as vconn:
                for event in chunk:
                    fields = clue_fields(event)
                    assignment = route(fields["categories"], routing)
                    events = register(CaseState(), fields, now, RULES, assignment=assignment)
                    stream = clue_stream(event.clue_id)
                    registered.append((stream, await sealer(vconn, stream, events)))
            async with engine.begin() as conn:
                for stream, events in registered:
                    await store.append(
                        stream,
                        events,
                        expected_version=NO_STREAM,
                        meta=Metadata(actor="service:intake"),
                        conn=conn,
                    )

    async def worker() -> None:
        nonlocal done
        while queue:
            chunk, queue[-PER_TRANSACTION:] = queue[-PER_TRANSACTION:], []
            streams: list[tuple[uuid.UUID, list[Event]]] = []
            async with vault.engine.begin() as vconn:
                for k in chunk:
                    cid = uuid.uuid4()
                    name, unit = person_name(k + 100_000), UNITS[(k * 7) % len(UNITS)]
                    sealed = await pii.sealed_person(
                        vault, vconn, name=name, unit=unit, context=str(cid), now=now
                    )
                    person = {"unit": unit, "post": "处长", **sealed}
                    subject = Subject(name=name, unit=unit).model_copy(update=sealed)
                    events = case_events(cid, k, person, subject)
                    streams.append((cid, await sealer(vconn, f"clue-{cid}", events)))
            async with engine.begin() as conn:
                for cid, events in streams:
                    await store.append(
                        f"clue-{cid}",
                        events,
                        expected_version=NO_STREAM,
                        meta=Metadata(actor="operator:bench"),
                        conn=conn,
                    )
            done += len(chunk)
            if done % 1000 < PER_TRANSACTION:
                rate = done / (time.perf_counter() - started)
                print(f"  casework: {done:,} cases ({rate:,.0f}/s)", flush=True)

    try:
        await asyncio.gather(registrar(), *(worker() for _ in range(CONCURRENCY - 1)))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def counts(platform: Platform) -> dict[str, int]:
    """Rows of the read models the console's lists read."""
    out: dict[str, int] = {}
    for service, tables in (
        ("intake", ("clue_desk",)),
        ("casework", ("clue_ledger", "cases")),
    ):
        engine = platform.engine(service)
        try:
            async with engine.connect() as conn:
                for table in tables:
                    n = await conn.scalar(text(f"SELECT count(*) FROM {table}"))
                    out[f"{service}.{table}"] = int(n or 0)
                if service == "casework":
                    filed = await conn.scalar(
                        text("SELECT count(*) FROM cases WHERE case_number IS NOT NULL")
                    )
                    out["casework.cases filed"] = int(filed or 0)
        finally:
            await engine.dispose()
    return out


async def wait_for_read_models(
    platform: Platform, want: dict[str, int], within: float = 900.0
) -> dict[str, int]:
    """Poll until each read model has at least ``want`` rows (the projections and the
    consumer caught up), or ``within`` seconds have passed; the last counts."""
    deadline = time.monotonic() + within
    while True:
        have = await counts(platform)
        if all(have.get(k, 0) >= v for k, v in want.items()):
            return have
        if time.monotonic() > deadline:
            print(f"  read models not caught up after {within:.0f} s: {have}", flush=True)
            return have
        print(f"  waiting for the read models: {have}", flush=True)
        await asyncio.sleep(10)


async def seed(
    platform: Platform, *, clues: int = 10_000, cases: int = 10_000, officer: str | None = None
) -> dict[str, Any]:
    """Both stores filled (intake's first: casework registers its clues); seconds taken.
    Run it on a migrated platform before its services start (no projection or relay
    competes for the two cores), then ``wait_for_read_models(platform, want(...))``."""
    started = time.perf_counter()
    intake_s, received = await seed_intake(platform, clues)
    casework_s = await seed_casework(platform, cases, officer=officer, received=received)
    return {
        "intake_seconds": round(intake_s, 1),
        "casework_seconds": round(casework_s, 1),
        "appended_seconds": round(time.perf_counter() - started, 1),
    }


def want(clues: int, cases: int) -> dict[str, int]:
    """The read models' rows once the projections have folded what ``seed`` appended."""
    return {
        "intake.clue_desk": clues,
        "casework.clue_ledger": clues + cases,
        "casework.cases filed": cases,
    }


class SeededPlatform(Platform):
    """The platform of the e2e tests, its relays off unless ``publish``: what the seed
    appends stays in intake's and casework's stores (the other services do not learn of
    it, and no consumer works through it while a bench measures)."""

    publish: bool = False

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        if not self.publish:
            for service in self.ports:
                env[f"ZF_{service.upper()}_RUN_RELAY"] = "false"
        return env


@contextlib.asynccontextmanager
async def seeded_platform(
    database_url: str,
    bootstrap: str,
    logs: Path,
    *,
    clues: int = 10_000,
    cases: int = 10_000,
    before_seed: Callable[[Platform], Awaitable[str | None]] | None = None,
    publish: bool = False,
) -> AsyncIterator[tuple[Platform, dict[str, Any]]]:
    """Migrated, seeded, started, its read models caught up; stopped and dropped on leaving.

    ``before_seed`` runs on the migrated platform before the seed (e.g. to make operators)
    and may name the officer that one case in fifty is assigned to."""
    p = SeededPlatform(database_url, bootstrap, logs)
    p.publish = publish
    try:
        await p.make_databases()
        await kafka.wait_for_broker(bootstrap)
        await asyncio.gather(
            asyncio.to_thread(p.cli, "migrate"),
            asyncio.to_thread(p.cli, "topics", "create", "--partitions", "3"),
        )
        officer = await before_seed(p) if before_seed else None
        print(f"seeding {clues:,} clues and {cases:,} cases …", flush=True)
        report = await seed(p, clues=clues, cases=cases, officer=officer)
        started = time.perf_counter()
        for service in p.ports:
            p.start(service)
        await asyncio.to_thread(p.wait_ready, *p.ports)
        report["counts"] = await wait_for_read_models(p, want(clues, cases))
        report["read_models_seconds"] = round(time.perf_counter() - started, 1)
        yield p, report
    finally:
        await asyncio.to_thread(p.stop_all)
        await p.drop()
