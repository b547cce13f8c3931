"""Which failures pass by themselves (retry) and which never will (park).

A consumer must never park a valid event because the database or the broker blinked: a
dropped connection, a server restarting, a full connection table, a serialization failure,
a deadlock, a lock or statement timeout, an exhausted pool — all succeed when tried again
later. Only what fails the same way every time (not an envelope, a broken hash or
signature, a schema the registry cannot decode, a handler's domain refusal, a bug) is
parked with its error for an operator to look at and replay.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterator

from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from libs.events.store import ConcurrencyError

TRANSIENT_SQLSTATES = frozenset(
    {
        "08000",  # connection_exception
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08003",  # connection_does_not_exist
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
        "08006",  # connection_failure
        "08007",  # transaction_resolution_unknown
        "25P03",  # idle_in_transaction_session_timeout
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "53000",  # insufficient_resources
        "53100",  # disk_full
        "53200",  # out_of_memory
        "53300",  # too_many_connections
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout, pg_cancel_backend)
        "57P01",  # admin_shutdown (pg_terminate_backend, server stopping)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (server starting)
        "58000",  # system_error
        "58030",  # io_error
    }
)
"""SQLSTATEs of failures that a later try can get past."""

_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
    }
)

_TRANSIENT_MESSAGES = (
    "connection is closed",
    "connection was closed",
    "cannot perform operation: another operation is in progress",
    "the database system is",  # starting up / shutting down / in recovery mode
    "too many clients",
    "remaining connection slots are reserved",
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every exception it was raised from or during, once each."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (
            current.__cause__,
            current.__context__,
            getattr(current, "orig", None),
        ):
            if isinstance(inner, BaseException):
                todo.append(inner)


def _socket_missing(exc: BaseException) -> bool:
    """The driver connecting over a Unix socket that is not there: the server is down
    (stopped or restarting; ``zhengfeng up`` and the embedded server listen on one)."""
    if not isinstance(exc, FileNotFoundError):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if "asyncpg" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, ConcurrencyError | PoolTimeout | ConnectionError | asyncio.TimeoutError):
        return True
    if _socket_missing(exc):
        return True
    if isinstance(exc, socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
    ):
        return True
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or type(exc).__name__ in {
            "KafkaConnectionError",
            "NodeNotReadyError",
            "KafkaTimeoutError",
        }
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(state, str) and (state in TRANSIENT_SQLSTATES or state.startswith("08")):
        return True
    name = type(exc).__name__
    if name in {"ConnectionDoesNotExistError", "InterfaceError", "InternalClientError"}:
        message = str(exc).lower()
        return name == "ConnectionDoesNotExistError" or any(
            m in message for m in _TRANSIENT_MESSAGES
        )
    message = str(exc).lower()
    return any(m in message for m in _TRANSIENT_MESSAGES[3:])


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything it was raised from) is a fault that passes by itself."""
    return any(_transient_one(e) for e in _chain(exc))


def failed_earlier_in_transaction(exc: BaseException) -> bool:
    """Whether ``exc`` says its transaction had already failed before the statement that
    raised it (an error earlier in it was caught and the work went on): not that
    statement's fault."""
    return any(
        (getattr(e, "sqlstate", None) or getattr(e, "pgcode", None))
        == "25P02"  # in_failed_sql_transaction
        for e in _chain(exc)
    )


__all__ = ["TRANSIENT_SQLSTATES", "failed_earlier_in_transaction", "is_transient"]
