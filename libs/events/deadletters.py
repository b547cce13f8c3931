"""Parked records: kept whole in the service's database, announced on its dead-letter topic,
and re-driven when an operator asks.

A record is parked only when it can never succeed as it is (see ``libs.events.faults``).
The ``dead_letters`` row keeps everything needed to try it again — the record's key, value
and headers, byte for byte — so a replay does not depend on the broker still holding the
record (the embedded broker keeps nothing across a restart). The copy on the dead-letter
topic tells subscribers and operators; a record too large to publish is announced by what
fits: its headers, the error and a SHA-256 digest of the value.

An operator asks for a replay (``zhengfeng dead-letters replay``): the row is marked, the
running service's consumer takes it through the same checks and the same inbox as a
delivered record (so a replay never applies anything twice) and writes the outcome back.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope

MAX_PUBLISHED_VALUE = 900_000
"""Values larger than this (bytes) are announced on the dead-letter topic without the value
(the broker's and the producer's default limit is about 1 MB); the row keeps it whole."""


@dataclass(frozen=True)
class Parked:
    """A record as it was delivered, and why it was parked."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: ConsumerRecord) -> Parked:
        """A record as the consumer received it."""
        return cls(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            tuple(record.headers or ()),
        )


def encode_headers(headers: Sequence[tuple[str, bytes | None]]) -> list[list[str]]:
    """Headers as JSON: each value base64 (a header value may be any bytes)."""
    return [[name, base64.b64encode(value or b"").decode()] for name, value in headers]


def decode_headers(stored: list[list[str]] | None) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, base64.b64decode(value)) for name, value in stored or [])


def announcement(
    parked: Parked, consumer: str, error: str, attempts: int
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The value and headers of the dead-letter topic's copy of a parked record."""
    headers = [
        *parked.headers,
        ("x-error", error.encode()[:4000]),
        ("x-attempts", str(attempts).encode()),
        ("x-consumer-group", consumer.encode()),
        ("x-original-topic", parked.topic.encode()),
        ("x-original-partition", str(parked.partition).encode()),
        ("x-original-offset", str(parked.offset).encode()),
    ]
    value = parked.value
    if value is not None and len(value) > MAX_PUBLISHED_VALUE:
        digest = hashlib.sha256(value).hexdigest()
        headers += [
            ("x-value-omitted", b"too large to publish; kept in the dead_letters table"),
            ("x-value-sha256", digest.encode()),
            ("x-value-bytes", str(len(value)).encode()),
        ]
        value = None
    return value, headers


_PARK = text(
    """INSERT INTO dead_letters (consumer, topic, partition, "offset", event_id, error,
                                 attempts, record_key, record_value, record_headers)
       VALUES (:consumer, :topic, :partition, :offset, :event_id, :error, :attempts,
               :key, :value, CAST(:headers AS jsonb))
       RETURNING id"""
)


async def record_parked(
    conn: AsyncConnection,
    parked: Parked,
    *,
    consumer: str,
    envelope: Envelope | None,
    error: str,
    attempts: int,
) -> int:
    """Keep a parked record whole; its row id."""
    row = await conn.execute(
        _PARK,
        {
            "consumer": consumer,
            "topic": parked.topic,
            "partition": parked.partition,
            "offset": parked.offset,
            "event_id": str(envelope.id) if envelope else None,
            "error": error,
            "attempts": attempts,
            "key": parked.key,
            "value": parked.value,
            "headers": json.dumps(encode_headers(parked.headers)),
        },
    )
    return int(row.scalar_one())


@dataclass(frozen=True)
class Waiting:
    """A parked record an operator asked to replay."""

    id: int
    attempts: int
    parked: Parked


async def requested(conn: AsyncConnection, consumer: str, limit: int = 50) -> list[Waiting]:
    """The parked records of ``consumer`` waiting for a replay, oldest first."""
    rows = await conn.execute(
        text(
            """SELECT id, topic, partition, "offset", attempts, record_key, record_value,
                      record_headers
                 FROM dead_letters
                WHERE consumer = :c AND replay_requested_at IS NOT NULL AND resolved_at IS NULL
                ORDER BY id LIMIT :n"""
        ),
        {"c": consumer, "n": limit},
    )
    return [
        Waiting(
            r.id,
            r.attempts,
            Parked(
                r.topic,
                r.partition,
                r.offset,
                r.record_key,
                r.record_value,
                decode_headers(r.record_headers),
            ),
        )
        for r in rows
    ]


async def settle(conn: AsyncConnection, row_id: int, outcome: str, error: str | None) -> None:
    """Write a replay's outcome: ``applied``/``duplicate`` resolve the row; ``failed`` keeps it
    parked with the new error (and one more attempt) until it is asked for again."""
    resolved = outcome in ("applied", "duplicate")
    await conn.execute(
        text(
            """UPDATE dead_letters
                  SET replay_requested_at = NULL,
                      replay_outcome = :o,
                      replayed_at = now(),
                      resolved_at = CASE WHEN :r THEN now() ELSE NULL END,
                      error = COALESCE(:e, error),
                      attempts = attempts + 1
                WHERE id = :id"""
        ),
        {"o": outcome, "r": resolved, "e": error, "id": row_id},
    )


# What an operator reads and asks (the CLI; any service's database).

LISTED = """SELECT id, consumer, topic, partition, "offset", event_id, error, attempts,
                   parked_at, replay_requested_at, replayed_at, replay_outcome, resolved_at,
                   octet_length(record_value) AS value_bytes
              FROM dead_letters"""


async def listing(conn: AsyncConnection, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Parked records, oldest first (by default only those not yet resolved)."""
    where = "" if include_resolved else " WHERE resolved_at IS NULL"
    rows = await conn.execute(text(LISTED + where + " ORDER BY id"))
    return [_plain(dict(r)) for r in rows.mappings()]


async def summary(conn: AsyncConnection) -> dict[str, Any]:
    """How many records are parked and not yet resolved, and since when (the oldest)."""
    row = (
        await conn.execute(
            text(
                """SELECT count(*) FILTER (WHERE resolved_at IS NULL) AS parked,
                          count(*) AS ever_parked,
                          min(parked_at) FILTER (WHERE resolved_at IS NULL) AS oldest_parked_at
                     FROM dead_letters"""
            )
        )
    ).one()
    return _plain(dict(row._mapping))


async def shown(conn: AsyncConnection, row_id: int) -> dict[str, Any] | None:
    """One parked record with its headers and value (UTF-8 text where it is)."""
    row = (
        (
            await conn.execute(
                text(
                    """SELECT *, octet_length(record_value) AS value_bytes
                         FROM dead_letters WHERE id = :id"""
                ),
                {"id": row_id},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    doc = dict(row)
    doc["record_headers"] = {
        name: value.decode(errors="replace")
        for name, value in decode_headers(doc["record_headers"])
    }
    doc["record_key"] = (doc["record_key"] or b"").decode(errors="replace")
    value = doc.pop("record_value") or b""
    doc["record_value"] = value[:20_000].decode(errors="replace")
    return _plain(doc)


async def ask_replay(conn: AsyncConnection, row_id: int | None = None) -> list[int]:
    """Mark unresolved parked records for replay (one, or every one); their ids."""
    where = "resolved_at IS NULL" + (" AND id = :id" if row_id is not None else "")
    rows = await conn.execute(
        text(f"UPDATE dead_letters SET replay_requested_at = now() WHERE {where} RETURNING id"),
        {"id": row_id},
    )
    return sorted(r.id for r in rows)


async def outcomes(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Where the replays of ``ids`` stand."""
    rows = await conn.execute(
        text(
            """SELECT id, replay_requested_at, replay_outcome, resolved_at, error
                 FROM dead_letters WHERE id = ANY(:ids)"""
        ),
        {"ids": list(ids)},
    )
    return {r.id: _plain(dict(r._mapping)) for r in rows}


def _plain(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in doc.items()}


DDL = (
    "ALTER TABLE dead_letters ADD COLUMN record_key bytea",
    "ALTER TABLE dead_letters ADD COLUMN record_value bytea",
    "ALTER TABLE dead_letters ADD COLUMN record_headers jsonb",
    "ALTER TABLE dead_letters ADD COLUMN replay_requested_at timestamptz",
    "ALTER TABLE dead_letters ADD COLUMN replayed_at timestamptz",
    "ALTER TABLE dead_letters ADD COLUMN replay_outcome text",
    "ALTER TABLE dead_letters ADD COLUMN resolved_at timestamptz",
    """CREATE INDEX dead_letters_waiting ON dead_letters (consumer, id)
        WHERE replay_requested_at IS NOT NULL AND resolved_at IS NULL""",
)
"""Migration step every service schema takes: parked records kept whole and replayable."""
