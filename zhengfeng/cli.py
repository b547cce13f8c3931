"""``zhengfeng``: run, migrate, verify and administer the platform."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from libs.events import kafka
from zhengfeng import deadletters, eventkeys, vaultkeys

app = typer.Typer(
    help="Zhengfeng (正风) platform commands.", no_args_is_help=True, add_completion=False
)
clients_app = typer.Typer(
    help="Partner/system clients and operator accounts.", no_args_is_help=True
)
topics_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(topics_app, name="topics")
app.add_typer(projections_app, name="projections")
schemas_app = typer.Typer(help="Event contracts: JSON Schema and AsyncAPI.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
pii_app = typer.Typer(help="Personal data: the key vault, crypto-shredding.", no_args_is_help=True)
app.add_typer(pii_app, name="pii")
pii_app.command("index-key")(vaultkeys.index_key)
pii_app.command("rewrap")(vaultkeys.rewrap)
app.add_typer(deadletters.app, name="dead-letters")
app.add_typer(eventkeys.app, name="keys")

SERVICES = kafka.SERVICES
ServiceArg = Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}")]


def _service_module(service: str, module: str = "app"):  # type: ignore[no-untyped-def]
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; choose from {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.{module}")


def _settings(service: str):  # type: ignore[no-untyped-def]
    settings = _service_module(service).Settings()
    if not settings.database_url:
        typer.echo(
            "DATABASE_URL is not set (zhengfeng up sets it for the services it starts).", err=True
        )
        raise typer.Exit(2)
    return settings


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="Where embedded PostgreSQL keeps its data")] = Path(
        ".zhengfeng"
    ),
    demo: Annotated[bool, typer.Option(help="Send one demo clue through all four services")] = True,
    broker_port: Annotated[int, typer.Option(help="Port for the embedded broker")] = 9092,
    scenario: Annotated[
        bool, typer.Option(help="Then play the demo scenario once (as `zhengfeng demo`)")
    ] = False,
) -> None:
    """Run the whole platform: infrastructure, migrations, topics, the four services."""
    from zhengfeng.up import run_platform

    raise typer.Exit(
        run_platform(data_dir=data_dir, demo=demo, broker_port=broker_port, scenario=scenario)
    )


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where `zhengfeng up` keeps its data; demo accounts go there too")
    ] = Path(".zhengfeng"),
    seed: Annotated[int, typer.Option(help="Same seed, same county and scenario")] = 7,
    run: Annotated[
        str | None, typer.Option(help="This round's tag in references (default: the time)")
    ] = None,
    vehicles: Annotated[int, typer.Option(help="Official vehicles in the county (≥ 17)")] = 17,
    gps_interval: Annotated[int, typer.Option(help="Seconds between GPS points")] = 120,
    summary_json: Annotated[
        Path | None, typer.Option(help="Also write what happened as JSON here")
    ] = None,
) -> None:
    """Play a county's scenario through the running platform's APIs (start it with `up`)."""
    from zhengfeng.demo import run_demo

    raise typer.Exit(
        run_demo(
            data_dir=data_dir,
            seed=seed,
            run=run,
            county={"vehicles": vehicles, "gps_interval_s": gps_interval},
            summary_json=summary_json,
        )
    )


@app.command()
def serve(service: ServiceArg) -> None:
    """Run one service (HTTP + relay + consumers + projections) in this process."""
    import uvicorn

    from libs.kit.logs import configure_logging

    module = _service_module(service)
    settings = module.Settings()
    configure_logging(service, settings.log_level, settings.log_json)
    uvicorn.run(
        module.create(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


@app.command(name="console")
def console_(
    port: Annotated[int | None, typer.Option(help="default ZF_CONSOLE_PORT, 8000")] = None,
) -> None:
    """Serve the operator console (办案工作台): its pages and the services' APIs as the operator."""
    import uvicorn

    from console.app import create
    from console.settings import ConsoleSettings
    from libs.kit.logs import configure_logging

    settings = ConsoleSettings() if port is None else ConsoleSettings(port=port)
    configure_logging("console", settings.log_level, settings.log_json)
    uvicorn.run(
        create(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
    )


@app.command()
def migrate(services: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Apply the Alembic migrations of each service's schema (default: all)."""
    from libs.kit.migrations import upgrade

    for service in services or SERVICES:
        settings = _settings(service)
        upgrade(settings.database_url, service, settings.db_schema)
        typer.echo(f"{service}: schema {settings.db_schema!r} is at head")
    asyncio.run(_ensure_vault())
    typer.echo("personal-data vault is ready")
    if services is None:
        asyncio.run(_ensure_console_sessions())
        typer.echo("console sessions table is ready")


async def _ensure_console_sessions() -> None:
    from console.sessions import create_table
    from console.settings import ConsoleSettings
    from libs.kit.db import make_engine

    settings = ConsoleSettings()
    engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
    try:
        await create_table(engine, settings.db_schema)
    finally:
        await engine.dispose()


async def _ensure_vault() -> None:
    from libs.events.pii import Vault
    from libs.kit.db import make_engine

    settings = _settings("intake")
    engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
    try:
        await Vault.from_env(engine, settings.pii_vault_schema).ensure()
    finally:
        await engine.dispose()


@pii_app.command("shred")
def pii_shred(
    person: Annotated[str | None, typer.Argument(help="The person's person_ref (a UUID)")] = None,
    name: Annotated[str | None, typer.Option(help="姓名 (with --unit): find the person")] = None,
    unit: Annotated[str | None, typer.Option(help="单位 (with --name)")] = None,
    id_number: Annotated[str | None, typer.Option(help="身份证号: find the person")] = None,
    matter: Annotated[
        str | None,
        typer.Option(
            help="A clue's, case's or inquiry's id: destroy the matter's key (its free text)"
        ),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (recorded in the event)")] = "erasure request",
    by: Annotated[str, typer.Option(help="Who orders it (recorded)")] = "operator:cli",
) -> None:
    """Destroy one person's data key: their personal data becomes unreadable everywhere,
    and so does the free text (reasons, notes, narratives) of every matter they were named in.

    Name the person by their person_ref, or by name and unit and/or ID number (looked up
    by blind index in the vault: every key the person is known by is destroyed); or name a
    matter with ``--matter`` to destroy only that matter's free text."""
    from libs.events.pii import Vault
    from libs.kit.db import make_engine

    settings = _settings("intake")

    async def go() -> list[tuple[UUID, bool]]:
        engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
        try:
            vault = Vault.from_env(engine, settings.pii_vault_schema)
            if matter is not None and person is None and not (name or id_number):
                return [await _shred_matter(engine, vault, matter, by, reason)]
            refs = await _persons_named(vault, person, name, unit, id_number)
            done = []
            for ref in refs:
                matters = await vault.matters_of(ref)
                shredded = await _shred_one(engine, vault, ref, by, reason)
                if shredded and matters:
                    typer.echo(
                        f"人员 {ref}：其涉及的 {len(matters)} 件事项的文字内容一并不可再读取。"
                    )
                done.append((ref, shredded))
            return done
        finally:
            await engine.dispose()

    results = asyncio.run(go())
    for ref, shredded in results:
        what = f"事项 {matter}" if matter is not None and person is None else f"人员 {ref}"
        if shredded:
            typer.echo(f"{what}：密钥已销毁，其内容在各服务中均不可再读取。")
        else:
            typer.echo(f"{what}：没有可销毁的密钥（未知或已销毁）。", err=True)
    if not results or not all(shredded for _, shredded in results):
        raise typer.Exit(1)


async def _persons_named(
    vault: Any, person: str | None, name: str | None, unit: str | None, id_number: str | None
) -> list[UUID]:
    """The person_refs a shred order names: given, or found by their blind indexes."""
    if person is not None:
        try:
            return [UUID(person)]
        except ValueError as exc:
            raise typer.BadParameter("person 须为 person_ref（UUID）") from exc
    indexes = []
    if id_number:
        indexes.append(vault.blind_index("id", id_number))
    if name and unit:
        indexes.append(vault.blind_index("name_unit", name, unit))
    if not indexes:
        raise typer.BadParameter("请给出 person_ref，或姓名和单位（--name --unit），或身份证号")
    found = [await vault.known_as(index) for index in indexes]
    refs = list(dict.fromkeys(r for r in found if r is not None))
    if not refs:
        typer.echo("保险库中没有此人（未知或已销毁）。", err=True)
    return refs


async def _shred_matter(
    engine: Any, vault: Any, matter: str, by: str, reason: str
) -> tuple[UUID, bool]:
    """Destroy a matter's key and record it (``PersonalDataShredded`` with ``matter``)."""
    from libs.events.contracts.intake import PersonalDataShredded
    from libs.events.pii import matter_key_id
    from libs.events.sealing import matter_of
    from libs.events.store import ANY, Metadata

    context = matter_of(matter)
    key = matter_key_id(context)
    store = _shred_store(engine, vault)
    now = store.clock()
    if not await vault.shred_matter(context, by=by, reason=reason, now=now):
        return key, False
    shredded = PersonalDataShredded(
        person_ref=key, shredded_by=by, reason=reason, shredded_at=now, matter=context
    )
    await store.append(
        f"matter-{context}", [shredded], expected_version=ANY, meta=Metadata(actor=by)
    )
    return key, True


def _shred_store(engine: Any, vault: Any) -> Any:
    """Intake's store as the service has it, sealer included: the shred's reason is sealed
    like any reason (with the key ``sealing.SEALED_IN`` names, which the shred spares)."""
    from libs.events.sealing import TextSealer
    from libs.events.store import EventStore

    store = EventStore(engine, source=_settings("intake").source)
    store.sealer = TextSealer(vault)
    return store


async def _shred_one(engine: Any, vault: Any, ref: UUID, by: str, reason: str) -> bool:
    """Destroy one key and record PersonalDataShredded in intake's store."""
    from libs.events.contracts.intake import PersonalDataShredded
    from libs.events.store import ANY, Metadata

    store = _shred_store(engine, vault)
    now = store.clock()
    if not await vault.shred(ref, by=by, reason=reason, now=now):
        return False
    shredded = PersonalDataShredded(person_ref=ref, shredded_by=by, reason=reason, shredded_at=now)
    await store.append(f"person-{ref}", [shredded], expected_version=ANY, meta=Metadata(actor=by))
    return True


@topics_app.command("create")
def topics_create(
    partitions: Annotated[int, typer.Option(help="Partitions per topic")] = 6,
) -> None:
    """Create every service's events and dead-letter topics (existing ones are kept)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not bootstrap:
        typer.echo("KAFKA_BOOTSTRAP_SERVERS is not set.", err=True)
        raise typer.Exit(2)
    created = asyncio.run(kafka.ensure_topics(bootstrap, kafka.all_topics(), partitions))
    typer.echo(json.dumps({"created": created, "topics": kafka.all_topics()}))


@app.command()
def verify(
    services: Annotated[list[str] | None, typer.Argument()] = None,
    checkpoint: Annotated[
        bool, typer.Option(help="Also record a whole-store checkpoint when intact")
    ] = False,
    published: Annotated[
        bool,
        typer.Option(
            help="Also check every record of the service's topic: signed by the service, "
            "and the same event as in its store"
        ),
    ] = False,
) -> None:
    """Recompute every stream's hash chain and store checkpoint; name the first broken link."""
    from libs.events.store import EventStore
    from libs.kit.db import make_engine

    async def check(service: str) -> bool:
        settings = _settings(service)
        engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
        try:
            store = EventStore(engine, source=settings.source)
            report = await store.verify()
            if report.ok and checkpoint:
                await store.write_checkpoint()
            topic_ok = await _check_topic(store, settings) if published else True
        finally:
            await engine.dispose()
        status = "ok" if report.ok else "BROKEN"
        typer.echo(
            f"{service}: {status} — {report.events} events in {report.streams} streams, "
            f"{report.checkpoints} store checkpoints"
        )
        for b in report.breaks:
            typer.echo(f"  first broken link: stream {b.stream_id} version {b.version}: {b.reason}")
        return report.ok and topic_ok

    async def check_all() -> bool:
        results = [await check(s) for s in services or SERVICES]
        return all(results)

    if not asyncio.run(check_all()):
        raise typer.Exit(1)


async def _check_topic(store, settings) -> bool:  # type: ignore[no-untyped-def]
    """The service's topic: every record signed by it and equal to its stored event."""
    from libs.events import signing
    from libs.events.published import check_published

    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        typer.echo("  topic: not checked (KAFKA_BOOTSTRAP_SERVERS is not set)")
        return True
    _, keyring = signing.load(settings.service, SERVICES, settings.event_keys_dir)
    report = await check_published(store, keyring, bootstrap, settings.service)
    status = "ok" if report.ok else "SUSPECT RECORDS"
    typer.echo(
        f"  topic {report.topic}: {status} — {report.records} records, "
        f"{report.genuine} signed by {settings.service} and equal to its store"
    )
    for partition, offset, reason in report.suspect[:20]:
        typer.echo(f"  suspect record {partition}@{offset}: {reason}")
    if len(report.suspect) > 20:
        typer.echo(f"  … and {len(report.suspect) - 20} more ({dict(report.reasons())})")
    return report.ok


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="Display name, e.g. 市审计局")],
    kind: Annotated[str, typer.Option(help="partner | system | operator")] = "partner",
    department: Annotated[
        str | None, typer.Option(help="Department code a partner acts for")
    ] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Granted scope (repeat)")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="Operator role (repeat): clerk, investigator, reviewer, director (室主任), "
            "leader (分管领导), secretary (主要负责人), supervisor, accountability, analyst, "
            "auditor, admin (系统管理员: manages accounts and clients in the console's 系统)"
        ),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Client id / username (default: generated)")
    ] = None,
) -> None:
    """Create a client or operator account and print its credentials as JSON (shown once).

    The bootstrap path (the first administrator, scripted set-ups): it writes the directory
    directly and records no event. Afterwards an administrator manages accounts and clients
    over intake's API (``/v1/operators``, ``/v1/partner-clients``) or the console's 系统 page,
    where every change is an event."""
    from dataclasses import asdict

    from libs.kit.db import make_engine
    from libs.kit.issuer import Credentials, create_client
    from libs.kit.roles import ROLE_LABELS

    if kind not in ("partner", "system", "operator"):
        raise typer.BadParameter("kind must be partner, system or operator")
    if unknown := [r for r in role or [] if r not in ROLE_LABELS]:
        raise typer.BadParameter(
            f"unknown role {', '.join(unknown)}; known: {', '.join(ROLE_LABELS)}"
        )
    if kind == "partner" and not department:
        raise typer.BadParameter("a partner client needs --department")
    settings = _settings("intake")

    async def go() -> Credentials:
        engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
        try:
            return await create_client(
                engine,
                kind=kind,
                name=name,
                department=department,
                scopes=scope or [],
                roles=role or [],
                client_id=client_id,
            )
        finally:
            await engine.dispose()

    typer.echo(json.dumps(asdict(asyncio.run(go())), ensure_ascii=False, indent=2))


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Where to write the documents")],
) -> None:
    """Write the JSON Schema of every event contract and each service's AsyncAPI document."""
    from libs.events.asyncapi import asyncapi_document
    from libs.events.contracts import registry

    for service in SERVICES:
        importlib.import_module(f"services.{service}.domain")  # registers its contracts
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for contract in registry:
        path = directory / f"{contract.type_name}.v{contract.version}.schema.json"
        path.write_text(
            json.dumps(registry.json_schema(contract.type_name), ensure_ascii=False, indent=2)
        )
        written.append(path.name)
    for service in SERVICES:
        path = directory / f"asyncapi.{service}.json"
        consumes = _service_module(service).SUBSCRIBES_TO
        document = asyncapi_document(service, registry, consumes=consumes)
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2))
        written.append(path.name)
    typer.echo(json.dumps({"directory": str(directory), "files": written}, ensure_ascii=False))


@projections_app.command("rebuild")
def projections_rebuild(
    service: ServiceArg,
    name: Annotated[
        str | None, typer.Argument(help="Projection name (default: all of the service's)")
    ] = None,
) -> None:
    """Empty a service's read models and replay its store from position 0 (progress bar)."""
    from libs.events.projections import ProjectionRunner
    from libs.events.store import EventStore
    from libs.kit.db import make_engine

    settings = _settings(service)
    candidates = _service_module(service).read_models(settings)
    chosen = [p for p in candidates if name in (None, p.name)]
    if not chosen:
        raise typer.BadParameter(
            f"{service} has no projection {name!r}; it has {[p.name for p in candidates]}"
        )

    async def go() -> None:
        engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
        try:
            runner = ProjectionRunner(EventStore(engine, source=settings.source), chosen)
            for projection in chosen:
                n = await runner.rebuild(projection, progress=sys.stderr.isatty())
                typer.echo(f"{service}.{projection.name}: rebuilt from {n} events")
        finally:
            await engine.dispose()

    asyncio.run(go())


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory for the feed files and ground truth")],
    seed: Annotated[int, typer.Option(help="Same seed, same county")] = 1,
    vehicles: Annotated[int, typer.Option(help="Official vehicles (at least 17)")] = 40,
    units: Annotated[int, typer.Option(help="Units (at least 12)")] = 20,
    months: Annotated[int, typer.Option(help="Months from 2026-01 (at least 3)")] = 3,
    gps_interval: Annotated[int, typer.Option(help="Seconds between GPS points")] = 60,
    refuel_every: Annotated[int, typer.Option(help="Working days between refuels")] = 5,
    invoices_per_unit_month: Annotated[int, typer.Option()] = 12,
) -> None:
    """Write a synthetic county's analysis feeds with planted violations and ground truth."""
    from services.analysis.generator import Size
    from services.analysis.generator import generate as run

    size = Size(
        units=units,
        vehicles=vehicles,
        months=months,
        gps_interval_s=gps_interval,
        refuel_every_days=refuel_every,
        invoices_per_unit_month=invoices_per_unit_month,
    )
    manifest = run(seed, out, size)
    typer.echo(json.dumps(manifest["feeds"], ensure_ascii=False))


def main() -> None:
    """Console entry point."""
    app()
