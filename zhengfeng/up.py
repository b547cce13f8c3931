"""``zhengfeng up``: infrastructure, migrations, topics, four service processes and the console, a demo.

Ctrl-C (or SIGTERM) stops the services gracefully, then the embedded broker and
PostgreSQL. Because the embedded broker keeps nothing, each relay notices its topic is
empty on start and republishes its store; the consumers' inboxes drop what they had
already applied, so every read model comes back consistent.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from console.settings import DEFAULT_PORT as CONSOLE_PORT
from libs.events import kafka
from libs.events.pii import VAULT_URL_ENV
from libs.kit.db import make_engine
from libs.kit.issuer import create_client
from libs.kit.settings import DEFAULT_PORTS, settings_class
from libs.runtime.infra import (
    DEFAULT_DATABASE,
    EmbeddedBroker,
    EmbeddedPostgres,
    ensure_database,
    env_or_none,
    service_databases,
)

console = Console(stderr=True)

DEMO_PARTNER = "demo-audit-bureau"
DEMO_OPERATOR = "demo-clerk"
DEMO_ADMIN = "demo-admin"


def _zhengfeng(*args: str, env: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "zhengfeng", *args],
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def _console_port() -> int:
    """``ZF_CONSOLE_PORT`` (default 8000), else the next of the ten ports after it that is free."""
    first = int(os.environ.get("ZF_CONSOLE_PORT") or CONSOLE_PORT)
    for port in range(first, first + 10):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port for the console in {first}..{first + 9}")


def _wait_ready(port: int, deadline: float) -> None:
    url = f"http://127.0.0.1:{port}/readyz"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"service on port {port} did not become ready")


DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "partner": {
        "client_id": DEMO_PARTNER,
        "kind": "partner",
        "name": "市审计局 (demo)",
        "department": "audit",
        "scopes": ["clue:transfer"],
    },
    "operator": {
        "client_id": DEMO_OPERATOR,
        "kind": "operator",
        "name": "信访室 张三 (demo)",
        "roles": ["clerk", "supervisor", "accountability"],
    },
    "admin": {
        "client_id": DEMO_ADMIN,
        "kind": "operator",
        "name": "办公室 系统管理员 (demo)",
        "roles": ["admin"],
    },
}


def _credentials(data_dir: Path, database_url: str) -> dict[str, Any]:
    """Demo credentials: created once, kept in ``<data_dir>/credentials.json`` (one added
    since a data directory was made, e.g. the 系统管理员, is created then)."""
    path = data_dir / "credentials.json"
    known: dict[str, Any] = dict(json.loads(path.read_text())) if path.exists() else {}
    missing = {role: a for role, a in DEMO_ACCOUNTS.items() if role not in known}
    if not missing:
        return known

    async def create() -> dict[str, Any]:
        schema = settings_class("intake")(database_url=database_url).db_schema
        engine = make_engine(database_url, schema, pooled=False)
        try:
            return {
                role: asdict(await create_client(engine, **account))
                for role, account in missing.items()
            }
        finally:
            await engine.dispose()

    creds = {**known, **asyncio.run(create())}
    path.write_text(json.dumps(creds, ensure_ascii=False, indent=2))
    path.chmod(0o600)
    return creds


def _token(intake: str, form: dict[str, str]) -> dict[str, str]:
    response = httpx.post(f"{intake}/oauth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _demo(creds: dict[str, Any]) -> None:
    """Post one clue transfer and show it arriving in casework's ledger."""
    intake = f"http://127.0.0.1:{DEFAULT_PORTS['intake']}"
    partner, operator = creds["partner"], creds["operator"]
    as_partner = _token(
        intake,
        {
            "grant_type": "client_credentials",
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
        },
    )
    as_operator = _token(
        intake,
        {
            "grant_type": "password",
            "username": operator["client_id"],
            "password": operator["client_secret"],
        },
    )
    reference = f"SJ-DEMO-{int(time.time())}"
    transfer = httpx.post(
        f"{intake}/v1/clue-transfers",
        headers=as_partner,
        json={
            "reference": reference,
            "reported_persons": [{"name": "李四", "unit": "某县交通运输局", "post": "局长"}],
            "categories": ["violation_dining"],
            "narrative": "审计发现2026年春节期间该局公务卡在私人会所多次消费。",
        },
    ).json()
    if transfer.get("status") == "merged":  # an earlier demo run sent the same matter
        into = (transfer.get("merged_into") or {}).get("clue_number", "an earlier clue")
        console.print(
            f"[green]demo:[/] partner transfer {reference} → intake {transfer['clue_number']}, "
            f"merged into {into} as a repeat report (重复件, {transfer['status_label']})"
        )
        return
    clue_url = f"http://127.0.0.1:{DEFAULT_PORTS['casework']}/v1/clues/{transfer['clue_id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(clue_url, headers=as_operator)
        if response.status_code == 200:
            clue = response.json()
            console.print(
                f"[green]demo:[/] partner transfer {reference} → intake {transfer['clue_number']} → "
                f"casework ledger status [bold]{clue['status_label']}[/] ({clue['status']})"
            )
            return
        time.sleep(0.2)
    console.print("[red]demo: the clue did not reach casework within 30s[/]")


def _databases(database_url: str, env: dict[str, str]) -> dict[str, str]:
    """A database per service beside the platform's (which keeps the personal-data vault),
    unless ``ZF_<SERVICE>_DATABASE_URL`` already names one; set in ``env`` for every child.

    No service reads another's tables, and a reader by position waits for the writing
    transactions of its own database only: with a database each, intake's transactions
    never hold casework's relay or projections back."""
    wanted = [s for s in kafka.SERVICES if not env_or_none(f"ZF_{s.upper()}_DATABASE_URL")]
    try:
        made = asyncio.run(service_databases(database_url, wanted))
    except Exception as exc:  # no CREATEDB on a server of one's own: one database, as before
        console.print(f"[yellow]one database for every service ({exc}); schemas keep them apart[/]")
        made = {}
    urls = {}
    for service in kafka.SERVICES:
        variable = f"ZF_{service.upper()}_DATABASE_URL"
        urls[service] = made.get(service) or env_or_none(variable) or database_url
        env[variable] = urls[service]
    env.setdefault(VAULT_URL_ENV, database_url)
    return urls


def _record_platform(
    data_dir: Path, database_url: str, databases: dict[str, str], bootstrap: str
) -> None:
    """Where this platform's databases and broker are, for `zhengfeng demo` in another terminal."""
    path = data_dir / "platform.json"
    path.write_text(
        json.dumps(
            {
                "database_url": database_url,
                "database_urls": databases,
                "kafka_bootstrap_servers": bootstrap,
                "urls": {s: f"http://127.0.0.1:{DEFAULT_PORTS[s]}" for s in kafka.SERVICES},
            },
            indent=2,
        )
    )
    path.chmod(0o600)


def run_platform(*, data_dir: Path, demo: bool, broker_port: int, scenario: bool = False) -> int:
    """Start everything and block until interrupted; returns the exit code."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # The local platform: keys a deployment gets from secrets are made up (devmode.py).
    os.environ.setdefault("ZF_DEV_MODE", "1")
    env = dict(os.environ)
    pg = EmbeddedPostgres(data_dir / "pgdata")
    broker = EmbeddedBroker(port=broker_port, log_path=data_dir / "broker.log")
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        database_url = env_or_none("DATABASE_URL")
        if database_url is None:
            console.print(f"starting embedded PostgreSQL (data in {pg.data_dir}) …")
            database_url = asyncio.run(ensure_database(pg.start(), DEFAULT_DATABASE))
        bootstrap = env_or_none("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap is None:
            console.print("starting embedded Kafka-protocol broker (memory only) …")
            bootstrap = broker.start()
        env.update(DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap)
        databases = _databases(database_url, env)
        asyncio.run(kafka.wait_for_broker(bootstrap))
        asyncio.run(kafka.ensure_topics(bootstrap, kafka.all_topics()))
        _zhengfeng("migrate", env=env)
        for service in kafka.SERVICES:
            children.append(
                subprocess.Popen([sys.executable, "-m", "zhengfeng", "serve", service], env=env)
            )
        deadline = time.monotonic() + 60
        for service in kafka.SERVICES:
            _wait_ready(DEFAULT_PORTS[service], deadline)
        console_port = _console_port()
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "zhengfeng", "console", "--port", str(console_port)],
                env=env,
            )
        )
        _wait_ready(console_port, deadline)
        creds = _credentials(data_dir, databases["intake"])
        _record_platform(data_dir, database_url, databases, bootstrap)
        if demo:
            _demo(creds)
        if scenario:
            from zhengfeng.demo import run_demo

            try:
                run_demo(data_dir=data_dir)
            except Exception as exc:  # the platform stays up to be looked at
                console.print(f"[red]the scenario failed: {exc!r}; the platform keeps running[/]")
        console.print("\n[bold]Zhengfeng is running[/] — Ctrl-C stops it.")
        console.print(f"  [bold]console[/]         http://127.0.0.1:{console_port}/ (办案工作台)")
        for service in kafka.SERVICES:
            console.print(f"  {service:<15} http://127.0.0.1:{DEFAULT_PORTS[service]}/docs")
        console.print(f"  databases       {', '.join(databases.values())}")
        console.print(f"  vault           {database_url}\n  broker          {bootstrap}")
        console.print(
            f"  credentials     {data_dir / 'credentials.json'} (demo partner, operator and 系统管理员)"
        )
        if not scenario:
            console.print(
                "\n[bold]In another terminal: make demo[/] — a county's scenario through every "
                "service (docs/demo.md)."
            )
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    console.print(f"[red]a service exited with {child.returncode}; stopping[/]")
                    return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        console.print("stopping …")
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
        broker.stop()
        pg.stop()
