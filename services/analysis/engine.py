"""对比分析: runs rule versions over a period and records what they find.

Each finding becomes an ``AlertRaised`` on its own stream, with its row in ``alerts``
(the identity index and the alert board) written in the same transaction: the unique
identity makes a second finding of the same thing a no-op. After a run, subjects with
new alerts are correlated across sources and escalated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.contracts.analysis import AlertLevel, RuleVersionPublished
from libs.events.store import ANY, NO_STREAM, EventStore, Metadata
from services.analysis import queries
from services.analysis.domain.alerts import Hit, OpenAlert, alert_stream, escalate, raise_alert
from services.analysis.domain.rules import rule_stream
from services.analysis.rules import CATALOGUE
from services.analysis.rules.base import RuleCode, RuleDefaults, RuleVersion

ENGINE_ACTOR = "service:analysis"


@dataclass
class RunOutcome:
    """What a run found."""

    raised: int = 0
    escalated: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


async def record_version(conn: AsyncConnection, published: RuleVersionPublished) -> None:
    """A published rule version joins ``rule_versions`` in the transaction that records
    it: the next run, in this request or the next, uses it."""
    await conn.execute(
        text(
            """INSERT INTO rule_versions (rule_id, version, params, level, category, enabled,
                                          reason, published_by, published_at)
               VALUES (:r, :v, CAST(:p AS jsonb), :l, :c, :e, :reason, :by, :at)"""
        ),
        {
            "r": published.rule_id,
            "v": published.rule_version,
            "p": json.dumps(published.params, ensure_ascii=False),
            "l": published.level.value,
            "c": published.category,
            "e": published.enabled,
            "reason": published.reason,
            "by": published.published_by,
            "at": published.published_at,
        },
    )


class Engine:
    """The rule catalogue bound to a service's database and store."""

    def __init__(
        self,
        db: AsyncEngine,
        store: EventStore,
        *,
        defaults: dict[str, RuleDefaults],
        correlation: dict[str, Any],
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        catalogue: dict[str, RuleCode] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.tz = timezone
        self.clock = clock
        self.catalogue = catalogue or CATALOGUE
        self.defaults = defaults
        self.correlation = correlation

    # rule versions

    async def ensure_defaults(self) -> None:
        """Publish version 1 of every catalogued rule that has none yet (at start)."""
        async with self.db.connect() as conn:
            have = await queries.published_rules(conn)
        for rule_id in self.catalogue:
            if rule_id in have:
                continue
            d = self.defaults[rule_id]
            first = RuleVersionPublished(
                rule_id=rule_id,
                rule_version=1,
                params=d.params,
                level=d.level,
                category=d.category,
                enabled=True,
                reason="shipped defaults (data/rules.json)",
                published_by=ENGINE_ACTOR,
                published_at=self.clock(),
            )
            try:
                async with self.db.begin() as conn:
                    await self.store.append(
                        rule_stream(rule_id),
                        [first],
                        expected_version=NO_STREAM,
                        meta=Metadata(actor=ENGINE_ACTOR),
                        conn=conn,
                    )
                    await record_version(conn, first)
            except Exception:
                # Another replica published it first.
                async with self.db.connect() as conn:
                    if not await queries.rule_version(conn, rule_id):
                        raise

    # runs

    async def run_for_feed(self, kind: str, t0: datetime | None, t1: datetime | None) -> RunOutcome:
        """Incremental run: the rules that read ``kind``, over the batch's period."""
        if t0 is None or t1 is None:
            return RunOutcome()
        ids = [r.rule_id for r in self.catalogue.values() if kind in r.inputs]
        return await self.run(t0, t1, ids, widen=True)

    async def run(
        self,
        t0: datetime,
        t1: datetime,
        rule_ids: Iterable[str] | None = None,
        *,
        widen: bool = False,
    ) -> RunOutcome:
        """Run rules (current versions) over ``t0..t1``; only new findings become alerts."""
        outcome = RunOutcome()
        async with self.db.connect() as conn:
            versions = await queries.current_rules(conn)
        touched: set[str] = set()
        for rule_id in rule_ids or list(self.catalogue):
            code = self.catalogue[rule_id]
            version = versions.get(rule_id)
            if version is None or not version.enabled:
                continue
            margin = timedelta(days=code.margin_days if widen else 0)
            n = await self._run_rule(code, version, t0 - margin, t1 + margin, touched)
            outcome.by_rule[rule_id] = n
            outcome.raised += n
        if touched:
            outcome.escalated = await self._correlate(touched)
        return outcome

    async def _run_rule(
        self, code: RuleCode, version: RuleVersion, t0: datetime, t1: datetime, touched: set[str]
    ) -> int:
        params = {f"p_{k}": v for k, v in version.params.items()}
        sql = f"""SELECT r.*, pe.name AS person_name, u.name AS unit_name
                  FROM ({code.sql}) r
                  LEFT JOIN people pe ON pe.person_id = r.person_id
                  LEFT JOIN units u ON u.unit_code = r.unit_code"""
        raised = 0
        async with self.db.begin() as conn:
            rows = (
                await conn.execute(text(sql), {"t0": t0, "t1": t1, "tz": self.tz, **params})
            ).mappings()
            hits = [
                Hit(
                    evidence_key=r["evidence_key"],
                    person_id=r["person_id"],
                    person_name=r["person_name"],
                    unit_code=r["unit_code"],
                    unit_name=r["unit_name"],
                    plate=r["plate"],
                    occurred_on=r["occurred_on"],
                    summary=r["summary"],
                    evidence=_jsonable(r["evidence"]),
                )
                for r in rows
            ]
            now = self.clock()
            for hit in hits:
                event = raise_alert(
                    rule_id=code.rule_id,
                    rule_version=version.version,
                    level=version.level,
                    category=version.category,
                    found=hit,
                    now=now,
                )
                subject = event.identity.split("|")[1]
                inserted = (
                    await conn.execute(
                        text(
                            """INSERT INTO alerts (alert_id, identity, rule_id, rule_version, source,
                                   level, raised_level, category, subject_key, person_id, person_name,
                                   unit_code, unit_name, plate, evidence_key, summary, evidence,
                                   occurred_on, raised_at)
                               VALUES (:id, :identity, :rule, :version, :source, :level, :level,
                                   :category, :subject, :person_id, :person_name, :unit_code,
                                   :unit_name, :plate, :key, :summary, CAST(:evidence AS jsonb),
                                   :occurred_on, :at)
                               ON CONFLICT (identity) DO NOTHING RETURNING 1"""
                        ),
                        {
                            "id": event.alert_id,
                            "identity": event.identity,
                            "rule": code.rule_id,
                            "version": version.version,
                            "source": code.source,
                            "level": version.level.value,
                            "category": version.category,
                            "subject": subject,
                            "person_id": hit.person_id,
                            "person_name": hit.person_name,
                            "unit_code": hit.unit_code,
                            "unit_name": hit.unit_name,
                            "plate": hit.plate,
                            "key": hit.evidence_key,
                            "summary": hit.summary,
                            "evidence": json.dumps(hit.evidence, ensure_ascii=False),
                            "occurred_on": hit.occurred_on,
                            "at": now,
                        },
                    )
                ).first()
                if inserted is None:
                    continue
                await self.store.append(
                    alert_stream(event.alert_id),
                    [event],
                    expected_version=NO_STREAM,
                    meta=Metadata(actor=ENGINE_ACTOR),
                    conn=conn,
                )
                touched.add(subject)
                raised += 1
        return raised

    async def _correlate(self, subjects: set[str]) -> int:
        c = self.correlation
        window = int(c["window_days"])
        escalated = 0
        for subject in sorted(subjects):
            async with self.db.begin() as conn:
                # One correlation per subject at a time (replicas, concurrent batches).
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": subject}
                )
                rows = (
                    await conn.execute(
                        text(
                            """SELECT alert_id, rule_id, source, level, occurred_on FROM alerts
                               WHERE subject_key = :s"""
                        ),
                        {"s": subject},
                    )
                ).mappings()
                alerts = [
                    OpenAlert(
                        r["alert_id"],
                        r["rule_id"],
                        r["source"],
                        AlertLevel(r["level"]),
                        r["occurred_on"],
                    )
                    for r in rows
                ]
                events = escalate(
                    subject,
                    alerts,
                    window_days=window,
                    min_sources=int(c["min_sources"]),
                    to_level=AlertLevel(c["to_level"]),
                    now=self.clock(),
                )
                for e in events:
                    await self.store.append(
                        alert_stream(e.alert_id),
                        [e],
                        expected_version=ANY,
                        meta=Metadata(actor=ENGINE_ACTOR),
                        conn=conn,
                    )
                    await conn.execute(
                        text(
                            """UPDATE alerts SET level = :l, escalation_reason = :r,
                                   stream_version = stream_version + 1
                               WHERE alert_id = :id"""
                        ),
                        {"l": e.to_level.value, "r": e.reason, "id": e.alert_id},
                    )
                escalated += len(events)
        return escalated


def _jsonable(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)
