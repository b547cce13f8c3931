"""Which failures a consumer waits out and which it parks."""

from __future__ import annotations

import errno
from pathlib import Path

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from libs.events.faults import failed_earlier_in_transaction, is_transient
from libs.events.store import ConcurrencyError


def wrapped(inner: BaseException) -> DBAPIError:
    """What SQLAlchemy raises around a driver error."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise DBAPIError("SELECT 1", {}, exc) from exc
    except DBAPIError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        OSError(errno.ETIMEDOUT, "timed out"),
        TimeoutError(),
        PoolTimeout("QueuePool limit reached"),
        KafkaConnectionError("broker unavailable"),
        ConcurrencyError("case-1", 3, 4),
    ],
    ids=lambda e: type(e).__name__,
)
def test_faults_that_pass_by_themselves_are_transient_also_when_wrapped(
    exc: BaseException,
) -> None:
    assert is_transient(exc)
    assert is_transient(wrapped(exc)), "SQLAlchemy's wrapper hides nothing"


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("clue_id"),
        ValueError("not a date"),
        RuntimeError("a bug"),
        FileNotFoundError(errno.ENOENT, "rules.json"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UntranslatableCharacterError("\\u0000 cannot be converted"),
        asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'),
        IntegrityError("INSERT", {}, asyncpg.exceptions.CheckViolationError("check")),
        MessageSizeTooLargeError("too large"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_that_repeat_the_same_way_are_not_transient(exc: BaseException) -> None:
    assert not is_transient(exc)


async def test_a_database_whose_unix_socket_is_gone_is_transient(tmp_path: Path) -> None:
    """A server on a Unix socket (``zhengfeng up``, the embedded one) that is stopped or
    restarting has no socket file: connecting fails with ENOENT, which passes."""
    with pytest.raises(FileNotFoundError) as caught:
        await asyncpg.connect(host=str(tmp_path), port=5432, user="postgres")
    assert is_transient(caught.value)


def test_a_statement_refused_because_its_transaction_had_failed_is_told_apart() -> None:
    refused = asyncpg.exceptions.InFailedSQLTransactionError(
        "current transaction is aborted, commands ignored until end of transaction block"
    )
    assert failed_earlier_in_transaction(refused)
    assert failed_earlier_in_transaction(wrapped(refused)), "SQLAlchemy's wrapper hides nothing"
    assert not failed_earlier_in_transaction(wrapped(asyncpg.exceptions.DivisionByZeroError()))
    assert not failed_earlier_in_transaction(RuntimeError("a bug"))
