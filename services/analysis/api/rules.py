"""Rules as versioned data: list, history, new version (parameters), re-run over a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.kit.commands import Commands, IfMatch
from libs.kit.fields import DATE_ORDER
from libs.kit.openapi import refusals
from libs.kit.problems import dates_out_of_order
from libs.kit.service import ReadConnection
from services.analysis import queries
from services.analysis.api.deps import AnalysisDeps, Analyst, Operator, RuleEngine
from services.analysis.domain.rules import NewVersion
from services.analysis.service import PUBLISH_RULE_VERSION, RuleVersionOut, known_rule

router = APIRouter(prefix="/v1/rules", tags=["rules"])


class RuleOut(BaseModel):
    """A rule: what it looks for, its current version, and how precise it has been."""

    rule_id: str
    title: str
    source: str
    inputs: list[str]
    current: RuleVersionOut
    precision: dict[str, Any]


class RunRequest(BaseModel):
    """Re-run rules over a period (new findings only)."""

    period_from: datetime
    period_to: datetime
    rules: list[str] | None = None


@router.get("", response_model=list[RuleOut])
async def list_rules(operator: Operator, deps: AnalysisDeps, conn: ReadConnection) -> list[RuleOut]:
    """Every rule with its current parameters and precision."""
    current = await queries.current_rules(conn)
    precision = await queries.precision_by_rule(conn)
    return [
        RuleOut(
            rule_id=rid,
            title=deps.defaults[rid].title,
            source=code.source,
            inputs=list(code.inputs),
            current=RuleVersionOut.of(current[rid]),
            precision=precision.get(rid, queries.EMPTY_PRECISION),
        )
        for rid, code in deps.catalogue.items()
        if rid in current
    ]


@router.get("/precision")
async def rule_precision(
    operator: Operator, deps: AnalysisDeps, conn: ReadConnection
) -> dict[str, Any]:
    """Per-rule precision from verification findings (线下核查反馈)."""
    precision = await queries.precision_by_rule(conn)
    return {rid: precision.get(rid, queries.EMPTY_PRECISION) for rid in deps.catalogue}


@router.get("/{rule_id}/versions", response_model=list[RuleVersionOut])
async def rule_versions(
    rule_id: str, operator: Operator, deps: AnalysisDeps, conn: ReadConnection
) -> list[RuleVersionOut]:
    """A rule's versions, newest first."""
    known_rule(deps, rule_id)
    return [RuleVersionOut.of(v) for v in await queries.rule_versions(conn, rule_id)]


@router.post(
    "/{rule_id}/versions",
    status_code=201,
    response_model=RuleVersionOut,
    responses=refusals(
        (422, "invalid-rule-parameter", "该规则没有此参数，或参数值的类型不符"),
        (422, "unknown-category", "问题类别目录中没有该代码"),
    ),
)
async def new_rule_version(
    rule_id: str, body: NewVersion, analyst: Analyst, commands: Commands, if_match: IfMatch
) -> JSONResponse:
    """Change a rule's parameters: a new version; alerts already raised keep theirs.
    ``If-Match: <version>`` guards against overwriting a concurrent change."""
    return await commands.run(PUBLISH_RULE_VERSION, rule_id, body, analyst, if_match=if_match)


@router.post("/run", responses=refusals(DATE_ORDER))
async def run_rules(
    body: RunRequest, analyst: Analyst, deps: AnalysisDeps, rules: RuleEngine
) -> dict[str, Any]:
    """Re-run rules over a period. Findings already raised are not raised again."""
    if body.period_to < body.period_from:
        raise dates_out_of_order("period_to", "早于起始日期（period_from）")
    for rid in body.rules or []:
        known_rule(deps, rid)
    outcome = await rules.run(body.period_from, body.period_to, body.rules)
    return {"raised": outcome.raised, "escalated": outcome.escalated, "by_rule": outcome.by_rule}
