"""Analysis's reads of its read models: the alert board, rule versions and precision,
feed batches, the subject index.

Every read SQL of the service's routes is here; routes, the service layer and the rule
engine pass filter objects, never SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts.analysis import AlertLevel
from libs.kit.pagination import Keyset, fetch_page
from services.analysis.rules.base import RuleVersion

ALERTS_BY_RAISING = Keyset(
    ("raised_at", "alert_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)
SUBJECTS_BY_KEY = Keyset(("subject_key",), ("text",), (str,))


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts of the board: level, rule, category, unit, person, vehicle, finding,
    and the period they concern (``occurred_on``)."""

    level: AlertLevel | None = None
    rule: str | None = None
    category: str | None = None
    unit: str | None = None
    person: str | None = None
    plate: str | None = None
    finding: str | None = None
    period_from: date | None = None
    period_to: date | None = None


@dataclass(frozen=True)
class SubjectFilter:
    """Which subjects of the index: by name and/or unit."""

    name: str | None = None
    unit: str | None = None
    subject_key: str | None = None
    """The person's key (from the vault's blind index): the same person whatever the name
    in the index reads (masked since sealing)."""


async def alerts(
    conn: AsyncConnection, where: AlertFilter, cursor: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """A page of the alert board, oldest raised first, and the next page's cursor."""
    return await fetch_page(
        conn,
        "SELECT * FROM alerts",
        keyset=ALERTS_BY_RAISING,
        where={
            "level": ("level = :level", where.level.value if where.level else None),
            "rule": ("rule_id = :rule", where.rule),
            "category": ("category = :category", where.category),
            "unit": ("unit_code = :unit", where.unit),
            "person": ("person_id = :person", where.person),
            "plate": ("plate = :plate", where.plate),
            "finding": ("finding = :finding", where.finding),
            "period_from": ("occurred_on >= :period_from", where.period_from),
            "period_to": ("occurred_on <= :period_to", where.period_to),
        },
        cursor=cursor,
        limit=limit,
    )


async def alert(conn: AsyncConnection, alert_id: UUID) -> RowMapping | None:
    """One alert of the board with its evidence, or ``None``."""
    found = await conn.execute(text("SELECT * FROM alerts WHERE alert_id = :id"), {"id": alert_id})
    return found.mappings().first()


async def alerts_on_subject(conn: AsyncConnection, subject: str) -> list[RowMapping]:
    """What correlation needs of every alert on one subject, with its stream version."""
    found = await conn.execute(
        text(
            """SELECT alert_id, rule_id, source, level, occurred_on, stream_version FROM alerts
               WHERE subject_key = :s"""
        ),
        {"s": subject},
    )
    return list(found.mappings().all())


EMPTY_PRECISION: dict[str, Any] = {
    "alerts": 0,
    "confirmed": 0,
    "false_positive": 0,
    "not_verifiable": 0,
    "precision": None,
}
"""The precision of a rule that has raised nothing yet."""


async def precision_by_rule(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """Verifiers' findings per rule: confirmed / (confirmed + false positive)."""
    rows = (
        await conn.execute(
            text(
                """SELECT rule_id, count(*) AS alerts,
                          count(*) FILTER (WHERE finding = 'confirmed') AS confirmed,
                          count(*) FILTER (WHERE finding = 'false_positive') AS false_positive,
                          count(*) FILTER (WHERE finding = 'not_verifiable') AS not_verifiable
                   FROM alerts GROUP BY rule_id"""
            )
        )
    ).mappings()
    out = {}
    for r in rows:
        judged = r["confirmed"] + r["false_positive"]
        out[r["rule_id"]] = {
            "alerts": r["alerts"],
            "confirmed": r["confirmed"],
            "false_positive": r["false_positive"],
            "not_verifiable": r["not_verifiable"],
            "precision": round(r["confirmed"] / judged, 4) if judged else None,
        }
    return out


async def rule_version(
    conn: AsyncConnection, rule_id: str, version: int | None = None
) -> RuleVersion | None:
    """A rule's newest version (or the one asked for), or ``None``."""
    sql = "SELECT * FROM rule_versions WHERE rule_id = :r"
    if version is not None:
        sql += " AND version = :v"
    sql += " ORDER BY version DESC LIMIT 1"
    row = (await conn.execute(text(sql), {"r": rule_id, "v": version})).mappings().first()
    return _to_version(row) if row else None


async def rule_versions(conn: AsyncConnection, rule_id: str) -> list[RuleVersion]:
    """Every version of a rule, newest first."""
    rows = (
        await conn.execute(
            text("SELECT * FROM rule_versions WHERE rule_id = :r ORDER BY version DESC"),
            {"r": rule_id},
        )
    ).mappings()
    return [_to_version(r) for r in rows]


async def current_rules(conn: AsyncConnection) -> dict[str, RuleVersion]:
    """The newest version of every rule."""
    rows = (
        await conn.execute(
            text(
                """SELECT DISTINCT ON (rule_id) * FROM rule_versions
                   ORDER BY rule_id, version DESC"""
            )
        )
    ).mappings()
    return {r["rule_id"]: _to_version(r) for r in rows}


async def published_rules(conn: AsyncConnection) -> set[str]:
    """The rules that have a version."""
    return {r[0] for r in await conn.execute(text("SELECT DISTINCT rule_id FROM rule_versions"))}


async def batch(conn: AsyncConnection, batch_id: str) -> dict[str, Any] | None:
    """A batch id already taken in: its feed kind and its stored report (``None`` while
    the batch is being taken in)."""
    row = (
        await conn.execute(
            text("SELECT kind, report FROM feed_batches WHERE batch_id = :b"), {"b": batch_id}
        )
    ).first()
    if row is None:
        return None
    return {"kind": row.kind, "report": row.report}


async def subjects(
    conn: AsyncConnection, where: SubjectFilter, cursor: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """A page of the subject index, in key order."""
    return await fetch_page(
        conn,
        "SELECT * FROM subject_index",
        keyset=SUBJECTS_BY_KEY,
        where={
            "name": ("name IN (:name, :masked)", where.name or None),  # "": no filter
            "masked": ("TRUE", pii.mask_name(where.name) if where.name else None),
            "unit": ("unit = :unit", where.unit),
            "key": ("subject_key = :key", where.subject_key),
        },
        cursor=cursor,
        limit=limit,
    )


def _to_version(r: Any) -> RuleVersion:
    return RuleVersion(
        rule_id=r["rule_id"],
        version=r["version"],
        params=dict(r["params"]),
        level=AlertLevel(r["level"]),
        category=r["category"],
        enabled=r["enabled"],
        reason=r["reason"],
        published_by=r["published_by"],
        published_at=r["published_at"],
    )
