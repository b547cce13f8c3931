"""Analysis's service layer: what its commands, routes and jobs need (``Deps``), the rule
aggregate and its command declared for the pipeline, and taking in a feed batch."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from libs.events.contracts import Event
from libs.events.contracts.analysis import AlertLevel, RuleVersionPublished
from libs.events.store import EventStore
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.refusal import Refused
from libs.kit.service import Runtime
from services.analysis.domain import rules as rule_domain
from services.analysis.domain.rules import NewVersion, rule_stream
from services.analysis.engine import Engine, record_version
from services.analysis.feeds.ingest import BatchReport, ingest, save_alert_count
from services.analysis.feeds.spec import FeedSpec
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
    engine: Engine | None = None

    async def start(self, runtime: Runtime) -> None:
        """Bind the rule engine to the database and publish the rules' first versions."""
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
            "unknown-rule", f"{rule_id!r} is not a rule.", kind="missing", title="No such rule"
        )


RULE: Aggregate[RuleVersion | None] = Aggregate(
    noun="rule",
    stream=rule_stream,
    initial=lambda: None,
    evolve=rule_domain.evolve,
    exists=lambda current: current is not None,
    missing="{key!r} is not a rule.",
    missing_slug="unknown-rule",
    missing_title="No such rule",
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
