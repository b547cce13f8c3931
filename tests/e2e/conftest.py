"""The platform as separate processes, isolated from everything else on the same servers.

One platform per test module: a database per service (as ``zhengfeng up`` runs them; the
run's database keeps the personal-data vault), free ports, a topic prefix
(``ZF_TOPIC_PREFIX``) of its own on the shared broker, migrations and topics made by the
``zhengfeng`` CLI, then ``zhengfeng serve <service>`` four times. Teardown stops every
process (SIGTERM, SIGKILL after 15 s), drops the databases and deletes the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from unittest import mock

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import kafka
from libs.events.pii import VAULT_URL_ENV
from libs.kit.db import make_engine
from libs.runtime.infra import free_port, popen_owned, service_databases, sibling_url
from tests.conftest import unique

ROOT = Path(__file__).resolve().parents[2]
SERVICES = kafka.SERVICES
READY_WITHIN = 180.0
"""Generous: a loaded machine (several suites at once) starts a service slowly; an idle one
is ready in seconds, and a service that never gets ready still fails the wait."""
STOP_WITHIN = 15.0


@dataclass
class Platform:
    """Four service processes on their own schemas, ports and topics."""

    database_url: str
    bootstrap: str
    log_dir: Path
    prefix: str = field(default_factory=lambda: unique("zf_e2e"))
    schemas: dict[str, str] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    """Each service's database (``make_databases``); unset, they share ``database_url``."""
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _lifelines: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in SERVICES:
            self.schemas[service] = unique(f"e2e_{service}")
            self.ports[service] = free_port()

    @property
    def env(self) -> dict[str, str]:
        """The environment every process of this platform runs with."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            ZF_TOPIC_PREFIX=self.prefix,
            ZF_DEV_MODE="1",  # development keys (the suite and the bench make them up)
            ZF_CONSOLE_DB_SCHEMA=self.console_schema,
            PYTHONUNBUFFERED="1",
        )
        jwks = f"{self.url('intake')}/.well-known/jwks.json"
        for service in SERVICES:
            p = f"ZF_{service.upper()}_"
            env[p + "DB_SCHEMA"] = self.schemas[service]
            env[p + "PORT"] = str(self.ports[service])
            env[p + "JWKS_URL"] = jwks
            env[p + "DB_POOL_SIZE"] = "4"
            env[p + "DATABASE_URL"] = self.database_of(service)
        if self.databases:
            env[VAULT_URL_ENV] = self.database_url
        return env

    def database_of(self, service: str) -> str:
        """The URL of a service's database."""
        return self.databases.get(service, self.database_url)

    async def make_databases(self) -> None:
        """A database per service, as ``zhengfeng up`` makes them (dropped by ``drop``)."""
        # Named by the platform's own prefix: unique, and short of the 63-byte limit.
        self.databases = await service_databases(
            sibling_url(self.database_url, self.prefix), SERVICES
        )

    @property
    def console_schema(self) -> str:
        """Where this platform's consoles keep their sessions."""
        return f"{self.prefix}_console"

    def url(self, service: str, path: str = "") -> str:
        """``http://127.0.0.1:<port><path>`` of a service."""
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``zhengfeng <args>`` against this platform; stdout and stderr captured."""
        result = subprocess.run(
            [sys.executable, "-m", "zhengfeng", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"zhengfeng {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def start(self, service: str) -> None:
        """Start ``zhengfeng serve <service>`` (its output goes to a log file)."""
        log = open(self.log_dir / f"{service}.log", "ab")  # closed in stop_all
        self._logs.append(log)
        # Under a lifeline: a killed test run (or bench) leaves no service running.
        self._close_lifeline(service)
        self.processes[service], self._lifelines[service] = popen_owned(
            [sys.executable, "-m", "zhengfeng", "serve", service],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _close_lifeline(self, service: str) -> None:
        if (fd := self._lifelines.pop(service, None)) is not None:
            os.close(fd)

    def pid(self, service: str) -> int:
        """The service process itself (the child of its lifeline)."""
        process = self.processes[service]
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        return int(children.read_text().split()[0])

    def kill(self, service: str) -> None:
        """SIGKILL a service: no graceful shutdown, no final offset commit."""
        process = self.processes.pop(service)
        # The service itself, under its lifeline, which exits once it has reaped it (so
        # the port is free when wait returns).
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        if not pids:  # no /proc: the service follows its lifeline (PR_SET_PDEATHSIG)
            process.kill()
        process.wait(10)
        self._close_lifeline(service)

    def wait_ready(self, *services: str, within: float = READY_WITHIN) -> None:
        """Block until each service answers ``/readyz`` with 200."""
        deadline = time.monotonic() + within
        for service in services:
            while True:
                process = self.processes[service]
                if process.poll() is not None:
                    raise AssertionError(
                        f"{service} exited with {process.returncode}\n{self.log_tail(service)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(self.url(service, "/readyz"), timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{service} not ready within {within:.0f}s\n{self.log_tail(service)}"
                    )
                time.sleep(0.2)

    def log_tail(self, service: str, lines: int = 40) -> str:
        """The end of a service's log, for failure messages."""
        path = self.log_dir / f"{service}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_all(self) -> None:
        """SIGTERM every service, SIGKILL what is still running after 15 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WITHIN
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        for service in list(self._lifelines):
            self._close_lifeline(service)
        for log in self._logs:
            log.close()

    def engine(self, service: str) -> AsyncEngine:
        """An engine on a service's schema (for looking underneath the API)."""
        return make_engine(self.database_of(service), self.schemas[service], pooled=False)

    async def drop(self) -> None:
        """Drop the databases (or schemas) and delete the topics of this platform."""
        admin = make_engine(self.database_url, "public", pooled=False)
        try:
            async with admin.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for schema in [*self.schemas.values(), self.console_schema]:
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                for url in self.databases.values():
                    name = make_url(url).database
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()
        with mock.patch.dict(os.environ, {"ZF_TOPIC_PREFIX": self.prefix}):
            topics = kafka.all_topics()
        client = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        with contextlib.suppress(Exception):
            await client.start()
            try:
                await client.delete_topics(topics)
            finally:
                await client.close()


@pytest.fixture(scope="module")
def platform_logs() -> Iterator[Path]:
    """Where the service processes write their logs."""
    with tempfile.TemporaryDirectory(prefix="zf-e2e-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
async def platform(
    database_url: str, bootstrap: str, platform_logs: Path
) -> AsyncIterator[Platform]:
    """The four services running as separate processes, migrated and ready."""
    async with running_platform(database_url, bootstrap, platform_logs) as p:
        yield p


@contextlib.asynccontextmanager
async def running_platform(
    database_url: str, bootstrap: str, logs: Path
) -> AsyncIterator[Platform]:
    """The four services started, migrated and ready; stopped and dropped on leaving."""
    p = Platform(database_url, bootstrap, logs)
    try:
        await p.make_databases()
        await kafka.wait_for_broker(bootstrap)
        await asyncio.gather(
            asyncio.to_thread(p.cli, "migrate"),
            asyncio.to_thread(p.cli, "topics", "create", "--partitions", "3"),
        )
        for service in SERVICES:
            p.start(service)
        await asyncio.to_thread(p.wait_ready, *SERVICES)
        yield p
    finally:
        await asyncio.to_thread(p.stop_all)
        await p.drop()


@dataclass(frozen=True)
class Credentials:
    """What ``zhengfeng clients create`` printed for the partner and the operator."""

    partner: dict[str, Any]
    operator: dict[str, Any]


@pytest.fixture(scope="module")
async def credentials(platform: Platform) -> Credentials:
    """A partner client (市审计局) and an operator with clerk, supervisor, accountability."""
    partner, operator = await asyncio.gather(
        asyncio.to_thread(
            platform.cli,
            "clients",
            "create",
            "--kind",
            "partner",
            "--name",
            "市审计局",
            "--department",
            "audit",
            "--scope",
            "clue:transfer",
        ),
        asyncio.to_thread(
            platform.cli,
            "clients",
            "create",
            "--kind",
            "operator",
            "--name",
            "信访室 张三",
            "--role",
            "clerk",
            "--role",
            "supervisor",
            "--role",
            "accountability",
        ),
    )
    return Credentials(json.loads(partner.stdout), json.loads(operator.stdout))


@dataclass(frozen=True)
class Tokens:
    """Bearer headers from intake's ``/oauth/token``."""

    partner: dict[str, str]
    operator: dict[str, str]


@pytest.fixture(scope="module")
def tokens(platform: Platform, credentials: Credentials) -> Tokens:
    """A client-credentials token for the partner, a password-grant token for the operator."""
    token_url = platform.url("intake", "/oauth/token")
    partner = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.partner["client_id"],
            "client_secret": credentials.partner["client_secret"],
        },
    )
    assert partner.status_code == 200, partner.text
    operator = httpx.post(
        token_url,
        data={
            "grant_type": "password",
            "username": credentials.operator["client_id"],
            "password": credentials.operator["client_secret"],
        },
    )
    assert operator.status_code == 200, operator.text
    return Tokens(
        partner={"Authorization": f"Bearer {partner.json()['access_token']}"},
        operator={"Authorization": f"Bearer {operator.json()['access_token']}"},
    )
