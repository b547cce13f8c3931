"""What the vault costs a command in CPU, where it has a database of its own (as ``zhengfeng
up`` and ``bench.e2e`` run it): a matter text sealed (casework's ``TextSealer``), and a
transfer's persons and texts sealed (intake: one person, or three through its
``seal_persons``), each inside a command's transaction.

    .venv/bin/python -m bench.vault_calls            # 300 commands each
    BENCH_COMMANDS=1000 .venv/bin/python -m bench.vault_calls

Each workload is ``BENCH_COMMANDS`` transactions of the caller's (begun with one statement,
as a command's first statement begins it), measured in this process's CPU time and in wall
time; its peer in the same run is the same transaction with no vault call, so the figures
that matter are the differences (CPU per sealed text, per sealed transfer). The vault is
in this run's schema of the same server and database, reached as one of its own
(``ZF_PII_VAULT_DATABASE_URL``). Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.infra import database_url
from libs.events import pii
from libs.kit.db import make_engine
from services.intake.personal import seal_persons

COMMANDS = int(os.environ.get("BENCH_COMMANDS") or 300)


@dataclass
class _Person:
    name: str
    id_number: str | None
    unit: str
    post: str | None = None
    rank: str | None = None
    top_leader: bool = False
    key_minority: bool = False


REASON = "经分管领导批办，由第一审查调查室承办，承办人核实后于十五个工作日内报告处置意见。"
NARRATIVE = "反映其节日期间收受企业购物卡，并多次接受宴请。"


async def main() -> None:
    url = await database_url()
    schema = f"bench_vault_{uuid.uuid4().hex[:8]}"
    os.environ[pii.VAULT_URL_ENV] = url
    os.environ["ZF_PII_VAULT_SCHEMA"] = schema
    os.environ.setdefault("ZF_DEV_MODE", "1")  # the generated development master key
    engine = make_engine(url, "public")  # the caller's database (a service's)
    vault = pii.Vault.from_env(engine)
    assert vault.separate
    await vault.ensure()
    matters = [str(uuid.uuid4()) for _ in range(20)]
    now = datetime.now(UTC)
    serial = iter(range(10**9))

    async def nothing(conn: AsyncConnection, i: int) -> None:
        pass

    async def text_existing(conn: AsyncConnection, i: int) -> None:
        await vault.seal_matter_text(conn, REASON, context=matters[i % len(matters)])

    async def three_texts_existing(conn: AsyncConnection, i: int) -> None:
        for _ in range(3):  # an event with three free-text fields
            await vault.seal_matter_text(conn, REASON, context=matters[i % len(matters)])

    async def text_new(conn: AsyncConnection, i: int) -> None:
        await vault.seal_matter_text(conn, REASON, context=str(uuid.uuid4()))

    async def transfer(conn: AsyncConnection, i: int) -> None:
        # What intake seals for a transfer naming one person with an ID number.
        context = str(uuid.uuid4())
        number = f"110105{next(serial):011d}X"
        index = vault.blind_index("id", number)
        ref = await vault.person_for(conn, index, now, sealed_in=context)
        await vault.seal(conn, ref, "王建国", context=context, field="name")
        await vault.seal(conn, ref, number, context=context, field="id_number")
        await pii.seal_text(vault, conn, [ref], NARRATIVE, context=context)
        await vault.seal_matter_text(conn, REASON, context=context)

    async def three_persons(conn: AsyncConnection, i: int) -> None:
        # What intake seals for a transfer naming three persons (seal_persons, as intake).
        context = str(uuid.uuid4())
        persons = [_Person(f"王{n}", f"110105{next(serial):011d}X", "某市住建局") for n in range(3)]
        sealed = await seal_persons(vault, conn, persons, context=context, now=now)
        refs = [p.person_ref for p in sealed if p.person_ref is not None]
        await pii.seal_text(vault, conn, refs, NARRATIVE, context=context)
        await vault.seal_matter_text(conn, REASON, context=context)

    async def run(work: Callable[[AsyncConnection, int], Awaitable[None]]) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(COMMANDS):
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))  # the command's first statement
                await work(conn, i)
        return (
            (time.process_time() - cpu) * 1000 / COMMANDS,
            (time.perf_counter() - wall) * 1000 / COMMANDS,
        )

    workloads = {
        "command, no vault call (peer)": nothing,
        "+ a text sealed, existing matter": text_existing,
        "+ three texts sealed, existing matter": three_texts_existing,
        "+ a text sealed, new matter": text_new,
        "+ a transfer's person, fields, narrative, text": transfer,
        "+ the same naming three persons (intake's seal_persons)": three_persons,
    }
    try:
        for work in workloads.values():  # warm: pools, prepared statements
            for _ in range(3):
                async with engine.begin() as conn:
                    await conn.execute(text("SELECT 1"))
                    await work(conn, 0)
        figures = {name: await run(work) for name, work in workloads.items()}
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {COMMANDS} commands each")
        print("| workload | CPU ms/command | over the peer | wall ms/command |")
        print("|---|---|---|---|")
        base_cpu, _ = figures["command, no vault call (peer)"]
        for name, (cpu, wall) in figures.items():
            print(f"| {name} | {cpu:.3f} | {cpu - base_cpu:+.3f} | {wall:.2f} |")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
        await vault.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
