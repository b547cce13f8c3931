"""Database round trips per intake transfer and per event casework's consumer handles.

    .venv/bin/python -m bench.roundtrips            # 60 transfers, then casework takes them
    BENCH_TRANSFERS=200 .venv/bin/python -m bench.roundtrips
    BENCH_VAULT=own .venv/bin/python -m bench.roundtrips   # the vault on connections of its own

Every connection any engine of this process opens is counted at the driver: each
exchange with the server (prepare, bind/execute, a simple query such as BEGIN or COMMIT,
a statement closed, COPY) is one round trip. A count belongs to the work it was made for
(``RoundTrips.scope``: one transfer's request, one consumed event), so the projections and
jobs running beside it are not counted in. Intake runs in this process (no broker: the
relay is off), its transfers sent one after another; casework then takes intake's events
through its consumer's own path (no inbox look-up above its position, transactions that
claim their records' inbox rows first), as it does from the broker: the first half of
them one record at a time (a fetch holding one, as at a steady rate), the second half as
fetched batches whose ready records share transactions (as under load). Prints figures;
asserts nothing. Its schemas are dropped at the end unless BENCH_KEEP=1.

With ``BENCH_VAULT=own`` the personal-data vault is reached as ``zhengfeng up`` and
``bench.e2e`` run it, as a database of its own (``ZF_PII_VAULT_DATABASE_URL``, here the same
server and database): its statements then go over the vault's own connections, counted in
the work's total and apart (``vault``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import statistics
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from aiokafka.structs import ConsumerRecord
from sqlalchemy import event
from sqlalchemy.pool import Pool

from bench.infra import database_url
from bench.intake_transfers import body
from libs.events.consumer import ConsumerRunner
from libs.events.envelope import to_kafka
from libs.kit.issuer import create_client
from libs.kit.migrations import upgrade_async
from services.casework import app as casework_app
from services.casework.handlers import make_handler
from services.intake import app as intake_app

os.environ.setdefault("ZF_DEV_MODE", "1")  # generated event keys, as the tests use

TRANSFERS = int(os.environ.get("BENCH_TRANSFERS") or 60)
OWN_VAULT = os.environ.get("BENCH_VAULT", "") == "own"
BATCH = 20
"""Records a consumer fetch hands the handler at once (the inbox look-up is per batch)."""

# asyncpg protocol calls that are an exchange with the server.
_EXCHANGES = frozenset(
    {"prepare", "bind", "bind_execute", "bind_execute_many", "execute", "query",
     "close_statement", "copy_in", "copy_out"}
)  # fmt: skip


@dataclass
class Tally:
    """The round trips of one piece of work."""

    total: int = 0
    vault: int = 0
    """Of ``total``, those on the vault's own connections."""
    kinds: Counter[str] = field(default_factory=Counter)
    statements: list[str] = field(default_factory=list)
    under_number: int = 0
    """Round trips from taking a clue number (the year's row locked) to the commit."""
    _numbered: bool = False

    def add(self, kind: str, sql: str, vault: bool = False) -> None:
        self.total += 1
        self.vault += vault
        self.kinds[kind] += 1
        head = " ".join(sql.split())[:90]
        self.statements.append(f"{kind}{' (vault)' if vault else ''}: {head}")
        if "clue_numbers" in sql:
            self._numbered = True
        if self._numbered:
            self.under_number += 1
        if head.upper().startswith(("COMMIT", "ROLLBACK")):
            self._numbered = False


_current: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("roundtrips", default=None)


def _sql_of(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    if kind == "prepare":
        return str(args[1] if len(args) > 1 else kwargs.get("query", ""))
    if kind == "query":
        return str(args[0] if args else kwargs.get("query", ""))
    state = args[0] if args else kwargs.get("state")
    return str(getattr(state, "query", "") or "")


class _CountingProtocol:
    """The driver's protocol, counting each exchange for the work in scope."""

    def __init__(self, inner: Any, vault: bool) -> None:
        self._inner = inner
        self._vault = vault

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _EXCHANGES:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            tally = _current.get()
            if tally is not None:
                tally.add(name, _sql_of(name, args, kwargs), self._vault)
            return attr(*args, **kwargs)

        return counted


def install() -> None:
    """Count the round trips of every pooled connection opened from now on."""

    @event.listens_for(Pool, "connect")
    def _count(dbapi_connection: Any, record: Any) -> None:
        driver = dbapi_connection.driver_connection
        settings = getattr(getattr(driver, "_params", None), "server_settings", None) or {}
        vault = str(settings.get("application_name", "")).startswith("zhengfeng-vault")
        driver._protocol = _CountingProtocol(driver._protocol, vault)


@contextlib.contextmanager
def scope(into: list[Tally]) -> Iterator[Tally]:
    """Count the round trips of the work done in this block (and the tasks it starts)."""
    tally = Tally()
    token = _current.set(tally)
    try:
        yield tally
    finally:
        _current.reset(token)
        into.append(tally)


def summary(name: str, tallies: list[Tally]) -> dict[str, Any]:
    totals = [t.total for t in tallies]
    kinds: Counter[str] = Counter()
    for t in tallies:
        kinds.update(t.kinds)
    per = {k: round(v / len(tallies), 2) for k, v in kinds.most_common()}
    under = [t.under_number for t in tallies]
    vault = [t.vault for t in tallies]
    print(
        f"{name:<34} {statistics.mean(totals):5.1f} round trips (median {statistics.median(totals):g},"
        f" max {max(totals)}) over {len(tallies)}; by kind {per}"
    )
    if any(vault):
        print(f"{'':<34} {statistics.mean(vault):5.1f} of them on the vault's own connections")
    if any(under):
        print(
            f"{'':<34} {statistics.mean(under):5.1f} of them with the year's clue-number row locked"
        )
    return {"mean": statistics.mean(totals), "median": statistics.median(totals),
            "under_number": statistics.mean(under), "vault": statistics.mean(vault),
            "kinds": per}  # fmt: skip


def show_one(name: str, tally: Tally) -> None:
    print(f"-- one {name}, statement by statement:")
    for line in tally.statements:
        print(f"   {line}")


async def main() -> None:
    install()
    url = await database_url()
    tag = uuid.uuid4().hex[:8]
    intake_schema, casework_schema = f"bench_rt_intake_{tag}", f"bench_rt_casework_{tag}"
    # Casework's vault (matters' keys) in a schema of this run's too, dropped with the rest.
    os.environ["ZF_PII_VAULT_SCHEMA"] = f"{casework_schema}_pii"
    if OWN_VAULT:  # one vault for both, in a "database of its own" (the same one here)
        os.environ["ZF_PII_VAULT_DATABASE_URL"] = url
    await upgrade_async(url, "intake", intake_schema)
    await upgrade_async(url, "casework", casework_schema)
    intake = intake_app.create(
        intake_app.Settings(
            database_url=url,
            db_schema=intake_schema,
            kafka_bootstrap_servers="",
            pii_vault_schema=f"{intake_schema}_pii",
        )
    )
    casework = casework_app.create(
        casework_app.Settings(
            database_url=url, db_schema=casework_schema, kafka_bootstrap_servers=""
        )
    )
    transfers: list[Tally] = []
    handled: list[Tally] = []
    batches: list[Tally] = []
    together: list[Tally] = []
    applied_together: list[int] = []
    async with intake.router.lifespan_context(intake), casework.router.lifespan_context(casework):
        irt, crt = intake.state.runtime, casework.state.runtime
        partner = await create_client(
            irt.engine, kind="partner", name="bench", department="audit", scopes=["clue:transfer"]
        )
        transport = httpx.ASGITransport(app=intake)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            token = (
                await http.post(
                    "/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": partner.client_id,
                        "client_secret": partner.client_secret,
                    },
                )
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            for n in range(TRANSFERS):
                headers = {**auth, "Idempotency-Key": f"bench-{n}"}
                with scope(transfers):
                    r = await http.post("/v1/clue-transfers", json=body(n), headers=headers)
                assert r.status_code == 201, r.text

        recorded = await irt.store.read_all(limit=100_000)
        handler = make_handler(crt.store, crt.deps.rules)
        runner = ConsumerRunner(
            engine=crt.engine,
            bootstrap="",
            group_id="bench-casework",
            topics=[],
            handler=handler,
            handles=getattr(handler, "handles", None),
            dead_letter_topic="",
            producer=None,
            store=crt.store,
        )
        records = []
        for offset, rec in enumerate(recorded):
            key, value, headers_ = to_kafka(rec.envelope)
            records.append(
                ConsumerRecord(
                    "bench", 0, offset, 0, 0, key, value, None, len(key), len(value), headers_
                )
            )
        types: Counter[str] = Counter(r.envelope.type.rsplit(".", 1)[-1] for r in recorded)
        # The first half one record at a time (a fetch of one record, as at a steady rate),
        # the second half as fetched batches of BATCH, whose ready records share transactions.
        half = len(records) // 2 // BATCH * BATCH
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            with scope(batches):  # as the runner does (no position yet: no look-up)
                applied = await runner._known_applied(batch, None)
            if start < half:
                for record in batch:
                    with scope(handled):
                        assert await runner.process(record, None, applied)
                continue
            before = runner.stats.processed
            with scope(together):
                assert await runner.process_batch(batch, None, applied)
            applied_together.append(runner.stats.processed - before)
        irt.stop.set()
        crt.stop.set()

    taken = [t for t in handled if t.total]
    print(f"database round trips, {TRANSFERS} transfers one after another; casework takes"
          f" intake's {len(recorded)} events {dict(types)} in batches of {BATCH}"
          f" ({len(handled) - len(taken)} of the first {len(handled)} not its business:"
          f" no round trip); the vault"
          f" {'on connections of its own' if OWN_VAULT else 'on the callers'}")  # fmt: skip
    figures = {
        "transfer": summary("intake POST /v1/clue-transfers", transfers),
        "handled": summary("casework, per event applied alone", taken),
        "batch": summary(f"casework, inbox look-up per batch of {BATCH}", batches),
    }
    if together:
        kinds: Counter[str] = Counter()
        for t in together:
            kinds.update(t.kinds)
        n = sum(applied_together)
        per = {k: round(v / n, 2) for k, v in kinds.most_common()}
        total = sum(t.total for t in together) / n
        print(f"{'casework, per event applied together':<34} {total:5.1f} round trips over {n}"
              f" ({n / len(together):.1f} a batch of {BATCH}); by kind {per}")  # fmt: skip
        figures["together"] = {"mean": total, "kinds": per, "per_batch": n / len(together)}
    show_one("transfer (the last)", transfers[-1])
    received = [
        t
        for t, r in zip(handled, recorded[: len(handled)], strict=True)
        if r.envelope.type.endswith("clue_received")
    ]
    show_one("clue_received handled alone (the last)", received[-1])
    if together:
        show_one("batch applied together (the last)", together[-1])
    print(figures)
    if not os.environ.get("BENCH_KEEP"):
        admin = await asyncpg.connect(url)
        for schema in (intake_schema, casework_schema):
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}_pii" CASCADE')
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
