"""Database engines: one per service, its tables in its own schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import TextClause

IDLE_IN_TRANSACTION_TIMEOUT = "30s"
"""How long a connection may sit in an open transaction doing nothing before the server ends
it (also set on the production role by deploy/sql/roles.sql)."""


def async_url(url: str) -> str:
    """Turn any ``postgres[ql]://`` URL into one for SQLAlchemy's asyncpg dialect."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def make_engine(
    url: str, schema: str, *, pool_size: int = 10, pooled: bool = True, app: str = "zhengfeng"
) -> AsyncEngine:
    """An async engine whose connections see only ``schema`` (via ``search_path``).

    Pooled, it opens up to twice ``pool_size`` connections and keeps every one it opened:
    a connection opened for a burst and closed after it (the pool's overflow) costs a TLS
    handshake and a new server process, and then prepares every statement again."""
    connect_args = {
        "server_settings": {
            "search_path": schema,
            "application_name": f"{app}-{schema}",
            # A transaction left open freezes every reader by position of the database (the
            # commit horizon cannot pass it): the server ends one idle that long.
            "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
        }
    }
    if not pooled:
        return create_async_engine(async_url(url), poolclass=NullPool, connect_args=connect_args)
    engine = create_async_engine(
        async_url(url),
        pool_size=2 * pool_size,
        max_overflow=0,
        # No ping per checkout and no ROLLBACK on autocommit connections: each is a
        # round trip on every append. A connection the server ended is known without
        # one (``_alive``); one that dies while in use is invalidated by whoever used it.
        pool_pre_ping=False,
        skip_autocommit_rollback=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", _alive)
    return engine


def _alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Never hand out a pooled connection the server has ended (a restart,
    ``pg_terminate_backend``, an idle timeout): asyncpg marks it closed as soon as the
    server's goodbye arrives, so asking costs no round trip. The pool then replaces it
    with a fresh one (or, while the database is away, the request fails to connect: 503)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")
    taken = _checkouts.get()
    if taken is not None:
        taken.connections.append((driver, _sent(driver)))


class Checkouts:
    """The pooled connections one piece of work (a request) was handed, each with how many
    queries it had sent by then."""

    def __init__(self) -> None:
        self.connections: list[tuple[Any, int | None]] = []

    def nothing_sent(self) -> bool:
        """Whether not one query went out on any of them since: a failure then had no effect
        on the database (the driver refused to send on a connection it found dead, or the
        connection died before anything was asked), and the work can safely start over."""
        return all(at is not None and _sent(driver) == at for driver, at in self.connections)


_checkouts: ContextVar[Checkouts | None] = ContextVar("zf_checkouts", default=None)


@contextmanager
def watching_checkouts() -> Iterator[Checkouts]:
    """Note the pooled connections handed out within the block (in this context)."""
    taken = Checkouts()
    token = _checkouts.set(taken)
    try:
        yield taken
    finally:
        _checkouts.reset(token)


def noting_checkouts() -> bool:
    """Whether this context is inside ``watching_checkouts`` (a request, not a background
    loop)."""
    return _checkouts.get() is not None


def _sent(driver: Any) -> int | None:
    """How many queries an asyncpg connection has sent (counted by asyncpg once a query's
    messages are written; a query refused before that is not counted). ``None``: unknown."""
    count = getattr(getattr(driver, "_protocol", None), "queries_count", None)
    return count if isinstance(count, int) else None


CONNECTION_BROKEN = (
    asyncpg.exceptions.InterfaceError,  # closed, or closed in the middle of an operation
    asyncpg.exceptions.InternalClientError,  # the protocol met the server's goodbye
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # pg_terminate_backend, shutdown
    ConnectionError,
)
"""What the driver raises when the connection (not the statement) failed: a connection
that raised one is given up, not handed back to its pool."""


async def driver(conn: AsyncConnection) -> asyncpg.Connection:
    """The driver's own connection under ``conn``, in its transaction: for the statements
    every request runs, which then skip SQLAlchemy's execution machinery (about 0.1 ms of
    CPU each; ``$n`` parameters, asyncpg's records).

    SQLAlchemy begins a transaction with the first statement it runs; before one, it is
    begun here, as that statement would have begun it (a statement must not run outside
    the transaction it was meant for)."""
    sync = conn.sync_connection
    if sync is not None and not sync.invalidated and not sync.closed:
        raw = sync.connection  # the one it holds: no pool, no I/O (nor a greenlet to run it)
    else:
        raw = await conn.get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection
    if conn.in_transaction() and not connection.is_in_transaction():
        await _begin(conn, raw.dbapi_connection)
    return connection


async def _begin(conn: AsyncConnection, adapted: Any) -> None:
    """Begin ``conn``'s transaction on the driver the way SQLAlchemy's asyncpg adapter does
    before its first statement: its BEGIN alone, one round trip, where running a statement
    through SQLAlchemy to get there costs two and about 0.1 ms of CPU. The adapter keeps
    the transaction it began, so SQLAlchemy commits or rolls back this one as its own.
    Reaches into the adapter (``_start_transaction``, ``_execute_mutex``, what its
    statements call): where those are not as expected, a statement begins it instead.

    Should the BEGIN fail, the statement runs too, for SQLAlchemy to meet the failure as
    its own: a dead connection (a protocol the server's goodbye left mid-state, say) is
    then invalidated and its error says so (``DBAPIError.connection_invalidated``), as a
    request's first statement would have found it — the request is answered 503, or run
    again on a fresh connection when nothing was sent (``libs.kit.reconnect``)."""
    start = getattr(adapted, "_start_transaction", None)
    mutex = getattr(adapted, "_execute_mutex", None)
    if start is None or mutex is None or getattr(adapted, "_transaction", False) is not None:
        await conn.exec_driver_sql("SELECT 1")
        return
    try:
        async with mutex:
            if adapted._transaction is None:
                await start()
    except Exception:
        await conn.exec_driver_sql("SELECT 1")  # raises again, as SQLAlchemy's own failure


_POSITIONAL: dict[TextClause, tuple[str, tuple[str, ...]] | None] = {}
_POSITIONAL_LIMIT = 1024
"""Statements compiled for the driver, by the statement object: module constants, a few
hundred in a service. A ``text()`` made anew on every call would compile every time (and
gain nothing over SQLAlchemy, which caches by the text): past the limit the oldest go."""


def _positional(conn: AsyncConnection, statement: TextClause) -> tuple[str, tuple[str, ...]] | None:
    """``statement`` in the driver's ``$n`` form and the names of its parameters in order,
    compiled once; ``None`` when a parameter's type converts its value on the way (a typed
    ``bindparam``): then only SQLAlchemy sends it right."""
    if statement not in _POSITIONAL:
        if len(_POSITIONAL) >= _POSITIONAL_LIMIT:
            del _POSITIONAL[next(iter(_POSITIONAL))]
        compiled = statement.compile(dialect=conn.dialect)
        plain = not any(bind.type.bind_processor(conn.dialect) for bind in compiled.binds.values())
        names = tuple(compiled.positiontup or ())
        _POSITIONAL[statement] = (compiled.string, names) if plain else None
    return _POSITIONAL[statement]


async def execute_many(
    conn: AsyncConnection, statement: TextClause, rows: list[dict[str, Any]]
) -> None:
    """Run a write once per row of named parameters, in ``conn``'s transaction, at the
    driver: one round trip for them all, as SQLAlchemy's ``execute(statement, rows)``, but
    without its execution machinery (about 0.1 ms of CPU a call, the most of a projection
    step that writes a row). The statement is the same text SQLAlchemy would send."""
    positional = _positional(conn, statement)
    if positional is None:
        await conn.execute(statement, rows)
        return
    sql, names = positional
    await (await driver(conn)).executemany(sql, [[row[n] for n in names] for row in rows])


async def fetch(
    conn: AsyncConnection, statement: TextClause, params: dict[str, Any]
) -> list[asyncpg.Record]:
    """The rows of a read, in ``conn``'s transaction, at the driver (asyncpg's records: by
    position or column name). For a statement every event runs; one whose parameters are
    typed is refused (``ValueError``): run it with ``conn.execute``, which alone converts
    them."""
    positional = _positional(conn, statement)
    if positional is None:
        raise ValueError("a statement with typed parameters runs through SQLAlchemy")
    sql, names = positional
    rows: list[asyncpg.Record] = await (await driver(conn)).fetch(sql, *[params[n] for n in names])
    return rows
