"""``zhengfeng dead-letters``: see what a consumer parked, and have it replayed.

A replay is done by the running service (its consumer holds the handlers and their
dependencies): this command marks the parked records, waits for the service to take them
through the same checks and the same inbox as a delivered record, and reports what was
applied and what still fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import deadletters, kafka

app = typer.Typer(help="Parked (dead-lettered) records: list, show, replay.", no_args_is_help=True)

T = TypeVar("T")
SERVICES = kafka.SERVICES
Services = Annotated[
    list[str] | None, typer.Option("--service", "-s", help="Only this service (repeatable)")
]


def _echo(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


async def _with(service: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    from libs.kit.db import make_engine
    from zhengfeng.cli import _settings

    settings = _settings(service)
    engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


def _chosen(services: list[str] | None) -> list[str]:
    unknown = [s for s in services or () if s not in SERVICES]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}; choose from {SERVICES}")
    return list(services or SERVICES)


@app.command("list")
def list_(
    services: Services = None,
    resolved: Annotated[bool, typer.Option(help="Also those already replayed")] = False,
) -> None:
    """Parked records per service, oldest first (not yet resolved unless --resolved)."""

    async def go() -> dict[str, Any]:
        return {
            s: await _with(s, lambda c: deadletters.listing(c, include_resolved=resolved))
            for s in _chosen(services)
        }

    found = asyncio.run(go())
    _echo(found)
    typer.echo(
        f"parked, not resolved: {sum(1 for rows in found.values() for r in rows if not r['resolved_at'])}",
        err=True,
    )


@app.command("show")
def show(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}")],
    record_id: Annotated[int, typer.Argument(help="The id `list` shows")],
) -> None:
    """One parked record: where it came from, why, its headers and value."""
    (service,) = _chosen([service])
    found = asyncio.run(_with(service, lambda c: deadletters.shown(c, record_id)))
    if found is None:
        typer.echo(f"{service} has no parked record {record_id}", err=True)
        raise typer.Exit(1)
    _echo(found)


@app.command("replay")
def replay(
    services: Services = None,
    record_id: Annotated[
        int | None, typer.Option("--id", help="Only this record (needs one --service)")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the outcomes")] = 60.0,
) -> None:
    """Have the running services replay parked records (one, a service's, or all) and report
    what was applied and what still fails. Safe to repeat: the inbox applies an event once."""
    chosen = _chosen(services)
    if record_id is not None and len(chosen) != 1:
        raise typer.BadParameter("--id needs exactly one --service")
    report = asyncio.run(_replay(chosen, record_id, wait))
    _echo(report)
    if report["still_failing"] or report["waiting"]:
        raise typer.Exit(1)


async def _replay(services: list[str], record_id: int | None, wait: float) -> dict[str, Any]:
    asked = {s: await _with(s, lambda c: deadletters.ask_replay(c, record_id)) for s in services}
    deadline = time.monotonic() + wait
    while True:
        states = {
            s: await _with(s, lambda c, ids=ids: deadletters.outcomes(c, ids))  # type: ignore[misc]
            for s, ids in asked.items()
            if ids
        }
        open_ = [
            (s, i)
            for s, rows in states.items()
            for i, r in rows.items()
            if r["replay_requested_at"]
        ]
        if not open_ or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    return _report(states)


def _report(states: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    report: dict[str, Any] = {"applied": [], "duplicate": [], "still_failing": [], "waiting": []}
    for service, rows in states.items():
        for row_id, row in sorted(rows.items()):
            ref = {"service": service, "id": row_id}
            if row["replay_requested_at"]:
                report["waiting"].append({**ref, "why": "the service has not taken it yet"})
            elif row["replay_outcome"] in ("applied", "duplicate"):
                report[row["replay_outcome"]].append(ref)
            else:
                report["still_failing"].append({**ref, "error": row["error"]})
    return report
