"""定期分析报告 as a command of the pipeline: the analysis of an ended month, quarter or
half-year, issued once (its stream ``analysis-report-{period}`` is created by it, so a
second issue — by hand, by the schedule after a restart, by another replica — is refused)
as ``AnalysisReportIssued`` and its document (作风建设定期分析报告, ``青纪析〔2026〕n号``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from libs.events.contracts import Event
from libs.events.contracts.documents import DocumentIssued
from libs.events.contracts.oversight import AnalysisReportIssued
from libs.kit import documents
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context, Pipeline
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem, invalid_field
from libs.kit.refusal import Refused
from services.accountability import queries, queries_oversight
from services.accountability.domain.analysis import (
    REPORT_PERIOD_PATTERN,
    AnalysisRules,
    ReportPeriod,
    analyse,
    eight_rules_table,
    last_ended,
)
from services.accountability.queries import Period

log = logging.getLogger(__name__)

SCHEDULE = Principal(subject="accountability-analysis", kind="service")
"""Who the schedule issues reports as (``service:accountability-analysis``)."""


class AnalysisReportIn(BaseModel):
    model_config = STRIPPED

    period: Annotated[
        str, Field(min_length=6, max_length=7, pattern=REPORT_PERIOD_PATTERN, examples=["2026-Q3"])
    ]
    """``2026-10`` (月), ``2026-Q3`` (季) or ``2026-H1`` (半年)."""


class Report(BaseModel):
    """A report's stream: what was issued and its document."""

    issued: AnalysisReportIssued | None = None
    document: DocumentIssued | None = None


def _evolve(state: Report, event: Event) -> Report:
    if isinstance(event, AnalysisReportIssued):
        return state.model_copy(update={"issued": event})
    if isinstance(event, DocumentIssued):
        return state.model_copy(update={"document": event})
    return state


REPORT: Aggregate[Report] = Aggregate(
    noun="analysis report",
    label="分析报告",
    stream=lambda period: f"analysis-report-{period}",
    initial=Report,
    evolve=_evolve,
    missing="{key} 的分析报告尚未生成。",
)
"""One period's analysis report (keyed by the period's code)."""


def period_of(code: str) -> ReportPeriod:
    """The period a client named; 422 naming ``period`` when it is none."""
    try:
        return ReportPeriod.parse(code)
    except ValueError:
        raise invalid_field("period", "应为月份 2026-10、季度 2026-Q3 或半年 2026-H1") from None


async def _figures(ctx: Context, period: ReportPeriod, tz: ZoneInfo) -> dict[str, Any]:
    return await queries.month_figures(ctx.conn, Period(*period.bounds(tz)))


async def _issue(state: Report, body: AnalysisReportIn, ctx: Context) -> list[Event]:
    deps = ctx.deps
    rules: AnalysisRules = deps.analysis
    tz = ZoneInfo(deps.rules.reports.timezone)
    period = period_of(body.period)
    if not period.ended_by(ctx.now.astimezone(tz).date()):
        raise Refused(
            "period-not-ended",
            f"{period.label}尚未结束，期满后才能生成分析报告。",
            kind="invalid",
            field="period",
            title="统计期间尚未结束",
            reason="期间尚未结束",
        )
    current = await _figures(ctx, period, tz)
    figures, summary = analyse(
        period,
        current,
        await _figures(ctx, period.previous(), tz),
        await _figures(ctx, period.a_year_before(), tz),
        await queries_oversight.rectification_progress(ctx.conn, Period(*period.bounds(tz))),
        rules,
        deps.taxonomy.label,
    )
    overdue_labels = deps.rules.rating.overdue_labels
    for r in figures["overdue_by_kind"]:
        r["label"] = overdue_labels.get(r["item_kind"], r["item_kind"])
    summary = [*summary[:3], _overdue_paragraph(figures), *summary[4:]]
    cases = await queries.decided_in(ctx.conn, Period(*period.bounds(tz)))
    figures["eight_rules_table"] = eight_rules_table(cases, rules)
    return [
        AnalysisReportIssued(
            report_id=uuid4(),
            period=period.code,
            kind=period.kind,
            label=period.label,
            first_day=period.first_day,
            last_day=period.last_day,
            figures=figures,
            summary=summary,
            rules_version=rules.version,
            issued_by=ctx.actor,
            issued_at=ctx.now,
        )
    ]


def _overdue_paragraph(figures: dict[str, Any]) -> str:
    if not figures["overdue"]:
        return "本期无超期事项。"
    parts = "、".join(f"{r['label']}{r['count']}项" for r in figures["overdue_by_kind"])
    return f"超期事项{figures['overdue']}项：{parts}，须督促办理。"


async def _document(state: Report, events: list[Event], ctx: Context) -> None:
    """``after`` the report: its document, numbered and stored, on the same stream."""
    docs = ctx.deps.documents
    issued = state.issued
    if docs is None or issued is None or "analysis_report" not in docs.templates.kinds:
        return
    s = issued.summary
    fields = {
        "period_label": issued.label,
        "overview": s[0],
        "forms": s[1],
        "manifestations": s[2],
        "overdue": s[3],
        "rectification": s[4],
    }
    matter = documents.Matter(
        issued.report_id, ctx.version, "issue_analysis_report", "accountability"
    )
    doc = await documents.issue(
        ctx.conn,
        docs.templates,
        docs.directory,
        "analysis_report",
        ctx.now,
        fields,
        matter,
        vault=ctx.deps.vault,
    )
    recorded = await ctx.store.append(
        REPORT.stream(issued.period), [doc], expected_version=ctx.version, meta=ctx.meta,
        conn=ctx.conn,
    )  # fmt: skip
    ctx.version = recorded[-1].version
    ctx.result = doc


def report_body(state: Report) -> dict[str, Any]:
    """A report as its answers show it, with where its document is read."""
    issued = state.issued
    if issued is None:
        return {}
    body = issued.model_dump(mode="json")
    doc = state.document
    body["document"] = (
        None
        if doc is None
        else {
            "document_id": str(doc.document_id),
            "number": doc.number,
            "title": doc.title,
            "sha256": doc.sha256,
            "href": f"/v1/analysis-reports/{issued.period}/document",
        }
    )
    return body


ISSUE_ANALYSIS_REPORT: Command[Report] = Command(
    name="issue_analysis_report",
    aggregate=REPORT,
    decide=_issue,
    render=lambda state, ctx: report_body(
        state.model_copy(update={"document": state.document or ctx.result})
    ),
    creates=True,
    status_code=201,
    after=_document,
    body_model=AnalysisReportIn,
    label="生成定期分析报告",
    location=lambda body: f"/v1/analysis-reports/{body['period']}",
)
"""Issue the analysis of an ended period, once."""


async def issue_due(
    pipeline: Pipeline, rules: AnalysisRules, now: datetime, tz: ZoneInfo
) -> list[str]:
    """The schedule's round: every kind's last ended period that has no report yet gets
    one. A report already issued (before a restart, by hand, by another replica) is left."""
    today = now.astimezone(tz).date()
    issued: list[str] = []
    for kind in rules.kinds:
        code = last_ended(kind, today, rules.grace_days).code
        if await pipeline.store.stream_version(REPORT.stream(code)):
            continue
        try:
            await pipeline.execute(
                ISSUE_ANALYSIS_REPORT, code, AnalysisReportIn(period=code), SCHEDULE
            )
        except Problem as refused:
            if refused.status != 409:
                raise
            log.info("analysis report %s was issued meanwhile", code)
            continue
        issued.append(code)
    return issued
