"""Analysis's service layer: what its commands, routes and jobs need (``Deps``), the alert
and rule aggregates and their commands declared for the pipeline, how an alert is shown,
and taking in a feed batch."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.analysis import AlertLevel, AlertRaised, RuleVersionPublished
from libs.events.contracts.intake import PersonalDataAccessed
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.problems import Problem
from libs.kit.refusal import Refused
from libs.kit.service import Runtime
from libs.kit.workdays import WorkCalendar
from services.analysis import calendar as platform_calendar
from services.analysis.domain import alerts, person_subject_key
from services.analysis.domain import rules as rule_domain
from services.analysis.domain.alerts import (
    FINDING_LABEL,
    LEVEL_LABEL,
    Alert,
    Finding,
    Verification,
    alert_stream,
)
from services.analysis.domain.rules import NewVersion, rule_stream
from services.analysis.engine import Engine, record_version
from services.analysis.feeds.ingest import BatchReport, ingest, save_alert_count
from services.analysis.feeds.spec import FeedSpec
from services.analysis.personal import subject_name
from services.analysis.queries import SubjectFilter
from services.analysis.rules.base import RuleCode, RuleDefaults, RuleVersion

log = logging.getLogger(__name__)


@dataclass
class Deps:
    """What analysis needs besides the store: the rule catalogue and its shipped data,
    the problem categories and the county's time zone, loaded once by ``app.create``;
    the rule engine, bound to the database when the service starts."""

    catalogue: dict[str, RuleCode]
    defaults: dict[str, RuleDefaults]
    correlation: dict[str, Any]
    categories: Collection[str]
    timezone: str
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    """The platform's holiday calendar (libs/kit/workdays): what holiday rules read, unless
    a ``holidays`` feed overrides a day."""
    engine: Engine | None = None

    async def start(self, runtime: Runtime) -> None:
        """Bind the rule engine to the database, write the platform calendar the holiday
        rules read, and publish the rules' first versions."""
        today = runtime.store.clock().astimezone(ZoneInfo(self.timezone)).date()
        await platform_calendar.install(runtime.engine, self.calendar, today)
        self.engine = Engine(
            runtime.engine,
            runtime.store,
            defaults=self.defaults,
            correlation=self.correlation,
            timezone=self.timezone,
            clock=runtime.store.clock,
            catalogue=self.catalogue,
        )
        await self.engine.ensure_defaults()

    @property
    def rules(self) -> Engine:
        """The rule engine (there once the service has started)."""
        assert self.engine is not None, "the rule engine is bound when the service starts"
        return self.engine


def known_rule(deps: Deps, rule_id: str) -> None:
    """Refuse a rule id that is not in the catalogue."""
    if rule_id not in deps.catalogue:
        raise Refused(
            "unknown-rule", f"没有预警规则 {rule_id}。", kind="missing", title="预警规则不存在"
        )


class AlertOut(BaseModel):
    """An alert as the board lists it."""

    alert_id: UUID
    rule_id: str
    rule_version: int
    level: AlertLevel
    level_label: str
    raised_level: AlertLevel
    category: str
    source: str
    person_id: str | None
    person_name: str | None
    unit_code: str | None
    unit_name: str | None
    plate: str | None
    evidence_key: str
    summary: str
    occurred_on: date
    raised_at: datetime
    escalation_reason: str | None
    finding: str | None
    case_id: UUID | None
    version: int


class AlertDetail(AlertOut):
    """An alert with its evidence rows and the verifier's finding."""

    identity: str
    evidence: list[dict[str, Any]]
    finding_label: str | None
    finding_notes: str | None
    verified_by: str | None
    verified_at: datetime | None
    case_number: str | None
    clue_id: UUID | None


def alert_view(row: Any, cls: type[AlertOut] = AlertOut) -> Any:
    """An alert (a board row or an ``Alert`` as a mapping) as the API shows it."""
    d = dict(row)
    if d.get("person_name"):  # masked, also on an alert raised before sealing
        d["person_name"] = pii.mask_name(d["person_name"])
    if "evidence" in d:
        d["evidence"] = pii.scrubbed(d["evidence"])
    d["level_label"] = LEVEL_LABEL[AlertLevel(d["level"])]
    d["version"] = d.pop("stream_version")
    if cls is AlertDetail:
        d["finding_label"] = FINDING_LABEL[Finding(d["finding"])] if d["finding"] else None
    fields = cls.model_fields
    return cls(**{k: v for k, v in d.items() if k in fields})


def _evolve_alert(alert: Alert | None, event: Event) -> Alert | None:
    # Each event of an alert's stream is one version further (the answer shows the
    # version the pipeline recorded, see _render_alert).
    return alerts.evolve(alert, event, (alert.stream_version if alert else 0) + 1)


ALERT: Aggregate[Alert | None] = Aggregate(
    noun="alert",
    label="预警",
    stream=alert_stream,
    initial=lambda: None,
    evolve=_evolve_alert,
    exists=lambda alert: alert is not None,
    missing="没有预警 {key}。",
    missing_slug="unknown-alert",
    missing_title="预警不存在",
)
"""An alert (异常预警): one stream from its raising to its finding and its case."""


def _verify(alert: Alert | None, verification: Verification, ctx: Context) -> list[Event]:
    assert alert is not None
    return [alerts.verify(alert, verification, verified_by=ctx.actor, now=ctx.now)]


def _render_alert(alert: Alert | None, ctx: Context) -> dict[str, Any]:
    # The alert with the finding just recorded: the board's row to be (it catches up after).
    assert alert is not None
    row = {**asdict(alert), "stream_version": ctx.version}
    detail: AlertDetail = alert_view(row, AlertDetail)
    return detail.model_dump(mode="json")


VERIFY_ALERT: Command[Alert | None] = Command(
    name="verify_alert",
    aggregate=ALERT,
    decide=_verify,
    render=_render_alert,
)
"""线下核查: the verifier's finding, one per alert; ``If-Match`` (the alert's version) optional."""


RULE: Aggregate[RuleVersion | None] = Aggregate(
    noun="rule",
    label="预警规则",
    stream=rule_stream,
    initial=lambda: None,
    evolve=rule_domain.evolve,
    exists=lambda current: current is not None,
    missing="没有预警规则 {key}。",
    missing_slug="unknown-rule",
    missing_title="预警规则不存在",
)
"""A rule's data: one stream of versions, each a ``RuleVersionPublished``."""


def _catalogued(current: RuleVersion | None, change: NewVersion, ctx: Context) -> None:
    known_rule(ctx.deps, ctx.key)


def _publish(current: RuleVersion | None, change: NewVersion, ctx: Context) -> list[Event]:
    assert current is not None
    deps: Deps = ctx.deps
    published = rule_domain.publish(
        current, change, categories=deps.categories, actor=ctx.actor, now=ctx.now
    )
    return [published]


async def _record(current: RuleVersion | None, events: list[Event], ctx: Context) -> None:
    for event in events:
        if isinstance(event, RuleVersionPublished):
            await record_version(ctx.conn, event)


class RuleVersionOut(BaseModel):
    """One version of a rule's data."""

    rule_id: str
    version: int
    params: dict[str, Any]
    level: AlertLevel
    category: str
    enabled: bool
    reason: str
    published_by: str
    published_at: datetime

    @classmethod
    def of(cls, version: RuleVersion) -> RuleVersionOut:
        """The API's view of a rule version."""
        return cls(**version.__dict__)


def _render_version(current: RuleVersion | None, ctx: Context) -> dict[str, Any]:
    assert current is not None
    return RuleVersionOut.of(current).model_dump(mode="json")


PUBLISH_RULE_VERSION: Command[RuleVersion | None] = Command(
    name="publish_rule_version",
    aggregate=RULE,
    decide=_publish,
    render=_render_version,
    status_code=201,
    guards=(_catalogued,),
    after=_record,
)
"""A new version of a rule's parameters; ``If-Match`` (the rule's version) optional."""


async def take_batch(
    deps: Deps,
    store: EventStore,
    spec: FeedSpec,
    batch_id: str,
    body: AsyncIterator[bytes],
    *,
    fmt: str,
    gzipped: bool | None,
    partner: str,
    run_rules: bool,
) -> BatchReport:
    """Take in one batch of a feed (or replay the first report of its id), then run the
    rules that read the feed over the batch's period."""
    report = await ingest(
        store,
        spec,
        batch_id,
        body,
        fmt=fmt,
        gzipped=gzipped,
        partner=partner,
        now=store.clock(),
    )
    if report.replayed or not run_rules or not report.accepted or not spec.period:
        return report
    try:
        outcome = await deps.rules.run_for_feed(spec.kind, report.period_from, report.period_to)
    except Exception as exc:
        # The rows are in; a failed rule run is reported and can be re-run.
        log.exception("rules after batch %s failed", batch_id)
        report.rules_error = f"{type(exc).__name__}; re-run with POST /v1/rules/run"
    else:
        report.alerts_raised = outcome.raised
    await save_alert_count(store.engine, report)
    return report


REVEALERS = frozenset({"analyst", "supervisor", "leader", "investigator"})
"""Roles that may see an alert's person unmasked (each read is recorded)."""


async def reveal_alert(
    store: EventStore, deps: Deps, alert_id: UUID, principal: Principal, body: dict[str, Any]
) -> None:
    """Unmask an alert's person for an allowed reader and record the read (个人信息查阅记录)."""
    held = principal.roles & REVEALERS
    if not held:
        raise Problem(
            403, "forbidden", "无权查看", "预警人员的姓名只向分析、监督、承办人员和领导显示。"
        )
    records = await store.read_stream(alert_stream(alert_id))
    raised = next((r.event for r in records if isinstance(r.event, AlertRaised)), None)
    if raised is None or not raised.subject.person_name:
        return
    vault = deps.rules.vault
    async with store.transaction() as conn:
        body["person_name"] = await subject_name(vault, raised, conn)
        if raised.subject.person_ref is None:
            return
        accessed = PersonalDataAccessed(
            clue_id=alert_id,
            person_refs=[raised.subject.person_ref],
            fields=["name"],
            accessed_by=principal.actor,
            role=sorted(held)[0],
            purpose="预警核查",
            accessed_at=store.clock(),
        )
        meta = Metadata(actor=principal.actor)
        await store.append(
            f"pii-access-{alert_id}", [accessed], expected_version=ANY, meta=meta, conn=conn
        )


async def subject_filter(deps: Deps, name: str | None, unit: str | None) -> SubjectFilter:
    """The subject index's filter: a person named with their unit by their key (the blind
    index in the vault), else by the name as recorded or masked."""
    if name and unit:
        ref = await deps.rules.vault.known_as(deps.rules.vault.blind_index("name_unit", name, unit))
        if ref is not None:
            return SubjectFilter(unit=unit, subject_key=person_subject_key(ref))
    return SubjectFilter(name=name, unit=unit)
