"""对比分析: runs rule versions over a period and records what they find.

Each finding becomes an ``AlertRaised`` on its own stream, whose id comes from the
finding's identity: a stream that exists already makes a second finding of the same
thing a no-op. The alert board (``alerts``) is a projection of those streams; after a
run the engine catches it up, correlates the subjects with new alerts across sources on
it and escalates, then catches it up again, so the board shows the run when it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events import pii
from libs.events.contracts.analysis import AlertEscalated, AlertLevel, RuleVersionPublished
from libs.events.projections import ProjectionRunner
from libs.events.store import NO_STREAM, START, ConcurrencyError, EventStore, Metadata, Recorded
from services.analysis import queries
from services.analysis.domain.alerts import (
    LEVEL_RANK,
    Hit,
    OpenAlert,
    alert_stream,
    escalate,
    raise_alert,
    replay,
)
from services.analysis.domain.rules import rule_stream
from services.analysis.personal import seal_alert
from services.analysis.projections import AlertBoardProjection
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
        self.board = ProjectionRunner(store, [AlertBoardProjection()])
        """The alert board, caught up by the engine itself: correlation reads it."""
        self.vault = pii.Vault.from_env(db)
        self._vault_ready = False

    async def _open_vault(self) -> pii.Vault:
        """The personal-data vault, its tables made on first use."""
        if not self._vault_ready:
            await self.vault.ensure()
            self._vault_ready = True
        return self.vault

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
                reason="系统预置规则（data/rules.json）",
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
        """Run rules (current versions) over ``t0..t1``; only new findings become alerts.
        When it returns, the board shows what it raised and escalated."""
        outcome = RunOutcome()
        async with self.db.connect() as conn:
            versions = await queries.current_rules(conn)
        touched: set[str] = set()
        last = START
        for rule_id in rule_ids or list(self.catalogue):
            code = self.catalogue[rule_id]
            version = versions.get(rule_id)
            if version is None or not version.enabled:
                continue
            margin = timedelta(days=code.margin_days if widen else 0)
            raised = await self._run_rule(code, version, t0 - margin, t1 + margin)
            for alert in raised:
                touched.add(alert.envelope.data["identity"].split("|")[1])  # its subject
                last = max(last, alert.checkpoint)
            outcome.by_rule[rule_id] = len(raised)
            outcome.raised += len(raised)
        if touched:
            # Correlation reads the board: it must show this run's alerts first.
            await self.board.catch_up_to(last)
            escalated = await self._correlate(touched)
            outcome.escalated = len(escalated)
            last = max([last, *(e.checkpoint for e in escalated)])
            await self.board.catch_up_to(last)
        return outcome

    async def _run_rule(
        self, code: RuleCode, version: RuleVersion, t0: datetime, t1: datetime
    ) -> list[Recorded]:
        """Record an AlertRaised for each finding not raised before; returns them."""
        params = {f"p_{k}": v for k, v in version.params.items()}
        sql = f"""SELECT r.*, pe.name AS person_name, u.name AS unit_name
                  FROM ({code.sql}) r
                  LEFT JOIN people pe ON pe.person_id = r.person_id
                  LEFT JOIN units u ON u.unit_code = r.unit_code"""
        raised: list[Recorded] = []
        vault = await self._open_vault()
        async with self.db.begin() as conn:
            rows = (
                await conn.execute(text(sql), {"t0": t0, "t1": t1, "tz": self.tz, **params})
            ).mappings()
            now = self.clock()
            # The alert id comes from the finding's identity: one stream per finding.
            found = {
                event.alert_id: event
                for event in (
                    raise_alert(
                        rule_id=code.rule_id,
                        rule_version=version.version,
                        level=version.level,
                        category=version.category,
                        found=_hit(r),
                        now=now,
                        source=code.source,
                    )
                    for r in rows
                )
            }
            known = await self.store.existing([alert_stream(a) for a in found], conn=conn)
            for alert_id, event in found.items():
                if alert_stream(alert_id) in known:
                    continue
                event = await seal_alert(vault, conn, event, now)
                try:
                    raised += await self.store.append(
                        alert_stream(alert_id),
                        [event],
                        expected_version=NO_STREAM,
                        meta=Metadata(actor=ENGINE_ACTOR),
                        conn=conn,
                    )
                except ConcurrencyError:
                    continue  # another run raised it meanwhile
        return raised

    async def _correlate(self, subjects: set[str]) -> list[Recorded]:
        """多源关联 over the board, one subject at a time; returns the escalations."""
        escalated: list[Recorded] = []
        for subject in sorted(subjects):
            async with self.db.begin() as conn:
                # One correlation per subject at a time (replicas, concurrent batches).
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": subject}
                )
                rows = await queries.alerts_on_subject(conn, subject)
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
                seen = {r["alert_id"]: r["stream_version"] for r in rows}
                for e in escalate(
                    subject,
                    alerts,
                    window_days=int(self.correlation["window_days"]),
                    min_sources=int(self.correlation["min_sources"]),
                    to_level=AlertLevel(self.correlation["to_level"]),
                    now=self.clock(),
                ):
                    escalated += await self._escalate(conn, e, seen[e.alert_id])
        return escalated

    async def _escalate(
        self, conn: AsyncConnection, e: AlertEscalated, seen: int
    ) -> list[Recorded]:
        """Record an escalation on the alert's stream at the version the board showed; if
        the stream moved since (the board was behind), decide again from the stream."""
        stream = alert_stream(e.alert_id)
        meta = Metadata(actor=ENGINE_ACTOR)
        try:
            return await self.store.append(stream, [e], expected_version=seen, meta=meta, conn=conn)
        except ConcurrencyError:
            history = await self.store.read_stream(stream, conn=conn)
        alert = replay((r.event, r.version) for r in history)
        if alert is None or LEVEL_RANK[AlertLevel(alert.level)] >= LEVEL_RANK[e.to_level]:
            return []
        again = e.model_copy(update={"from_level": AlertLevel(alert.level)})
        return await self.store.append(
            stream, [again], expected_version=len(history), meta=meta, conn=conn
        )


def _hit(r: Any) -> Hit:
    return Hit(
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


def _jsonable(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)
