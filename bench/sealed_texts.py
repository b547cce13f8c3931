"""What sealing free text costs: an append with a reason sealed vs. the same append unsealed,
and an answer whose reasons are opened vs. the same answer in clear.

    .venv/bin/python -m bench.sealed_texts            # 300 appends each, 50-entry answers
    BENCH_APPENDS=1000 .venv/bin/python -m bench.sealed_texts

Each append is its own transaction, on the caller's connection as the command pipeline
gives it (one event with a 40-character reason; to a new matter's stream, then again to
those matters); the same store with and without its sealer, in the same run,
on a schema and a vault made for the run. The ceiling is a bare ``SELECT 1`` transaction.
The answer rows open a timeline-like JSON answer of 50 entries with one reason each (one
matter, so one key look-up) through ``pii.open_texts``, beside ``json.loads`` of the same
answer in clear. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from bench.infra import database_url
from libs.events import pii
from libs.events.contracts.casework import CaseAssigned
from libs.events.sealing import TextSealer
from libs.events.store import ANY, NO_STREAM, EventStore, Metadata
from libs.kit.db import make_engine
from libs.kit.migrations import upgrade_async

APPENDS = int(os.environ.get("BENCH_APPENDS", "300"))
ENTRIES = 50
REASON = "经分管领导批办，由第一审查调查室承办，承办人核实后于十五个工作日内报告处置意见。"


def _event() -> CaseAssigned:
    fields: dict[str, Any] = {f: None for f in CaseAssigned.model_fields}
    return CaseAssigned.model_construct(**fields).model_copy(
        update={
            "case_id": uuid.uuid4(),
            "department": "第一审查调查室",
            "officer": "officer-1",
            "reason": REASON,
            "at": datetime.now(UTC),
        }
    )


async def _appends(store: EventStore, n: int, again: list[Any] | None = None) -> float:
    """``n`` appends, each to a new matter's stream — or to the matters of ``again``."""
    start = time.perf_counter()
    for i in range(n):
        event = _event()
        if again is not None:
            event = event.model_copy(update={"case_id": again[i % len(again)]})
        async with store.engine.begin() as conn:  # as a command runs: one transaction
            await store.append(
                f"case-{event.case_id}",
                [event],
                expected_version=ANY if again is not None else NO_STREAM,
                meta=Metadata("bench"),
                conn=conn,
            )
        if again is None and store.sealer is not None:
            made.append(event.case_id)
    return n / (time.perf_counter() - start)


made: list[Any] = []


async def main() -> None:
    url = await database_url()
    schema = f"bench_seal_{uuid.uuid4().hex[:8]}"
    vault_schema = f"bench_vault_{uuid.uuid4().hex[:8]}"
    await upgrade_async(url, "casework", schema)
    engine = make_engine(url, schema)
    try:
        vault = pii.Vault(engine, os.urandom(32), vault_schema)
        await vault.ensure()
        plain = EventStore(engine, source="bench")
        sealed = EventStore(engine, source="bench")
        sealed.sealer = TextSealer(vault)
        await _appends(plain, 20)  # warm both
        await _appends(sealed, 20)
        start = time.perf_counter()
        for _ in range(APPENDS):
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
        ceiling = APPENDS / (time.perf_counter() - start)
        unsealed_rate = await _appends(plain, APPENDS)
        sealed_rate = await _appends(sealed, APPENDS)
        unsealed_again = await _appends(plain, APPENDS, again=list(made))
        sealed_again = await _appends(sealed, APPENDS, again=list(made))

        matter = str(uuid.uuid4())
        token = await vault.seal_matter_text(None, REASON, context=matter)
        clear = json.dumps({"events": [{"reason": REASON, "n": i} for i in range(ENTRIES)]})
        tokens = json.dumps({"events": [{"reason": token, "n": i} for i in range(ENTRIES)]})
        start = time.perf_counter()
        for _ in range(100):
            json.loads(clear)
        clear_ms = (time.perf_counter() - start) * 1000 / 100
        start = time.perf_counter()
        for _ in range(100):
            await pii.open_texts(vault, json.loads(tokens))
        opened_ms = (time.perf_counter() - start) * 1000 / 100

        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("| workload | rate or time |")
        print("|---|---|")
        print(f"| bare transaction (SELECT 1), ceiling | {ceiling:,.0f}/s |")
        print(f"| append, reason in clear | {unsealed_rate:,.0f}/s |")
        print(
            f"| append, reason sealed with the matter's key (new matter) | {sealed_rate:,.0f}/s |"
        )
        print(f"| append to an existing matter, reason in clear | {unsealed_again:,.0f}/s |")
        print(f"| append to an existing matter, reason sealed | {sealed_again:,.0f}/s |")
        print(f"| answer of {ENTRIES} entries in clear (json.loads) | {clear_ms:.2f} ms |")
        print(f"| same answer, {ENTRIES} sealed reasons opened | {opened_ms:.2f} ms |")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{vault_schema}" CASCADE'))
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
