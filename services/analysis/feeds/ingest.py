"""Taking in one batch: stream, check, COPY good rows, report bad ones, record the batch.

The whole batch is one transaction: its rows, its report and its ``FeedBatchIngested``
event commit together or not at all. Rows are copied in chunks into a temporary table
and moved with ``ON CONFLICT DO NOTHING``, so rows already held (same natural key) count
as duplicates. Memory is bounded by one chunk.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.contracts.analysis import FeedBatchIngested
from libs.events.store import ANY, EventStore
from libs.kit.commands import command_metadata
from libs.kit.refusal import Refused
from services.analysis import queries
from services.analysis.feeds.parse import Decoder, RowError, RowReader, check_row
from services.analysis.feeds.spec import FeedSpec

CHUNK_ROWS = 5000
MAX_REPORTED_ERRORS = 1000


@dataclass
class BatchReport:
    """What became of a batch, row by row for the rejected ones."""

    batch_id: str
    kind: str
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False
    period_from: datetime | None = None
    period_to: datetime | None = None
    replayed: bool = False
    alerts_raised: int = 0
    rules_error: str | None = None

    def widen(self, stamp: Any, now: datetime) -> None:
        """Stretch the batch's period to a row's time (a date counts as its midnight)."""
        if not isinstance(stamp, datetime):
            stamp = datetime(stamp.year, stamp.month, stamp.day, tzinfo=now.tzinfo)
        if self.period_from is None or stamp < self.period_from:
            self.period_from = stamp
        if self.period_to is None or stamp > self.period_to:
            self.period_to = stamp

    def reject(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error.as_dict())
        else:
            self.errors_truncated = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "kind": self.kind,
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": self.errors,
            "errors_truncated": self.errors_truncated,
            "period_from": self.period_from.isoformat() if self.period_from else None,
            "period_to": self.period_to.isoformat() if self.period_to else None,
            "replayed": self.replayed,
            "alerts_raised": self.alerts_raised,
            "rules_error": self.rules_error,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BatchReport:
        r = cls(**{k: v for k, v in d.items() if k not in ("period_from", "period_to")})
        r.period_from = datetime.fromisoformat(d["period_from"]) if d.get("period_from") else None
        r.period_to = datetime.fromisoformat(d["period_to"]) if d.get("period_to") else None
        return r


async def _driver(conn: AsyncConnection) -> Any:
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def ingest(
    store: EventStore,
    spec: FeedSpec,
    batch_id: str,
    body: AsyncIterator[bytes],
    *,
    fmt: str,
    gzipped: bool | None,
    partner: str,
    now: datetime,
) -> BatchReport:
    """Take in a batch, or return the report of the batch with this id taken in before."""
    async with store.transaction() as conn:
        # The batch id is claimed first: a concurrent retry waits here, then replays.
        claimed = (
            await conn.execute(
                text(
                    """INSERT INTO feed_batches (batch_id, kind, partner) VALUES (:b, :k, :p)
                       ON CONFLICT DO NOTHING RETURNING 1"""
                ),
                {"b": batch_id, "k": spec.kind, "p": partner},
            )
        ).first()
        if claimed is None:
            return await _replay(conn, spec, batch_id)
        report = await _copy_rows(conn, spec, batch_id, body, gzipped, fmt, now)
        await conn.execute(
            text("UPDATE feed_batches SET report = CAST(:r AS jsonb) WHERE batch_id = :b"),
            {"r": json.dumps(report.as_dict(), ensure_ascii=False), "b": batch_id},
        )
        await store.append(
            f"feed-{spec.kind}",
            [
                FeedBatchIngested(
                    batch_id=batch_id,
                    kind=spec.kind,
                    partner=partner,
                    received=report.received,
                    accepted=report.accepted,
                    duplicates=report.duplicates,
                    rejected=report.rejected,
                    period_from=report.period_from,
                    period_to=report.period_to,
                    ingested_at=now,
                )
            ],
            expected_version=ANY,
            meta=command_metadata(partner),
            conn=conn,
        )
    return report


async def _replay(conn: AsyncConnection, spec: FeedSpec, batch_id: str) -> BatchReport:
    done = await queries.batch(conn, batch_id)
    assert done is not None
    if done["kind"] != spec.kind:
        raise BatchKindMismatch(batch_id, done["kind"])
    old = BatchReport.from_dict(done["report"])
    old.replayed = True
    return old


async def _copy_rows(
    conn: AsyncConnection,
    spec: FeedSpec,
    batch_id: str,
    body: AsyncIterator[bytes],
    gzipped: bool | None,
    fmt: str,
    now: datetime,
) -> BatchReport:
    """Check the body's rows, COPY the good ones in chunks through a staging table, and
    move them over skipping rows already held; the report counts every row."""
    report = BatchReport(batch_id, spec.kind)
    driver = await _driver(conn)
    staging = f"staging_{spec.table}"
    await driver.execute(
        f"CREATE TEMP TABLE {staging} (LIKE {spec.table} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    plates: set[str] = set()
    if any(f.check == "known_plate" for f in spec.fields):
        plates = {r[0] for r in await driver.fetch("SELECT plate FROM vehicles")}
    columns = [f.name for f in spec.fields] + ["batch_id"]
    period_i = [f.name for f in spec.fields].index(spec.period) if spec.period else None
    decoder, reader = Decoder(gzipped), RowReader(fmt)
    chunk: list[tuple[Any, ...]] = []

    async def flush() -> None:
        if chunk:
            await driver.copy_records_to_table(staging, records=chunk, columns=columns)
            chunk.clear()

    async def take(lines: list[str]) -> None:
        for row_no, raw in reader.rows(lines):
            report.received += 1
            checked = raw if isinstance(raw, RowError) else check_row(spec, row_no, raw, plates)
            if isinstance(checked, RowError):
                report.reject(checked)
                continue
            if period_i is not None:
                report.widen(checked[period_i], now)
            chunk.append((*checked, batch_id))
        if len(chunk) >= CHUNK_ROWS:
            await flush()

    async for piece in body:
        await take(decoder.feed(piece))
    await take(decoder.finish())
    await flush()
    cols = ", ".join(f'"{c}"' for c in columns)
    # The same key twice inside one batch: DO NOTHING skips the later row too.
    status = await driver.execute(
        f"INSERT INTO {spec.table} ({cols}) SELECT {cols} FROM {staging} ON CONFLICT DO NOTHING"
    )
    report.accepted = int(status.split()[-1])
    report.duplicates = report.received - report.rejected - report.accepted
    return report


async def save_alert_count(engine: AsyncEngine, report: BatchReport) -> None:
    """Remember how many alerts the batch's rule run raised, for replays of its report."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE feed_batches SET report = CAST(:r AS jsonb) WHERE batch_id = :b"),
            {"r": json.dumps(report.as_dict(), ensure_ascii=False), "b": report.batch_id},
        )


class BatchKindMismatch(Refused):
    """The batch id was already used for another feed kind."""

    def __init__(self, batch_id: str, kind: str) -> None:
        super().__init__(
            "batch-id-reused",
            f"批次号 {batch_id} 已用于 {kind} 数据，请使用新的批次号。",
            kind="conflict",
            title="批次号已被使用",
        )
        self.batch_kind = kind
