"""Rules as versioned data: list, history, new version (parameters), re-run over a period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field
from sqlalchemy import text

from libs.events import taxonomy
from libs.events.contracts.analysis import AlertLevel
from libs.kit.problems import Problem
from services.analysis.api.deps import Analyst, Operator, RuleEngine
from services.analysis.rules.base import ParamError, RuleVersion

router = APIRouter(prefix="/v1/rules", tags=["rules"])


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


class RuleOut(BaseModel):
    """A rule: what it looks for, its current version, and how precise it has been."""

    rule_id: str
    title: str
    source: str
    inputs: list[str]
    current: RuleVersionOut
    precision: dict[str, Any]


class NewVersion(BaseModel):
    """Changed parameters (others keep their current values), and why."""

    params: dict[str, Any] = Field(default_factory=dict)
    level: AlertLevel | None = None
    category: str | None = None
    enabled: bool | None = None
    reason: str = Field(min_length=1, max_length=2000)


class RunRequest(BaseModel):
    """Re-run rules over a period (new findings only)."""

    period_from: datetime
    period_to: datetime
    rules: list[str] | None = None


def _out(v: RuleVersion) -> RuleVersionOut:
    return RuleVersionOut(**v.__dict__)


async def precision_by_rule(conn: Any) -> dict[str, dict[str, Any]]:
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


def _empty_precision() -> dict[str, Any]:
    return {
        "alerts": 0,
        "confirmed": 0,
        "false_positive": 0,
        "not_verifiable": 0,
        "precision": None,
    }


def _known(rules: Any, rule_id: str) -> None:
    if rule_id not in rules.catalogue:
        raise Problem(404, "unknown-rule", "No such rule", f"{rule_id!r} is not a rule.")


@router.get("", response_model=list[RuleOut])
async def list_rules(operator: Operator, rules: RuleEngine) -> list[RuleOut]:
    """Every rule with its current parameters and precision."""
    async with rules.db.connect() as conn:
        current = await rules.current(conn)
        precision = await precision_by_rule(conn)
    return [
        RuleOut(
            rule_id=rid,
            title=rules.describe(rid).title,
            source=code.source,
            inputs=list(code.inputs),
            current=_out(current[rid]),
            precision=precision.get(rid, _empty_precision()),
        )
        for rid, code in rules.catalogue.items()
        if rid in current
    ]


@router.get("/precision")
async def rule_precision(operator: Operator, rules: RuleEngine) -> dict[str, Any]:
    """Per-rule precision from verification findings (线下核查反馈)."""
    async with rules.db.connect() as conn:
        precision = await precision_by_rule(conn)
    return {rid: precision.get(rid, _empty_precision()) for rid in rules.catalogue}


@router.get("/{rule_id}/versions", response_model=list[RuleVersionOut])
async def rule_versions(
    rule_id: str, operator: Operator, rules: RuleEngine
) -> list[RuleVersionOut]:
    """A rule's versions, newest first."""
    _known(rules, rule_id)
    async with rules.db.connect() as conn:
        return [_out(v) for v in await rules.versions(conn, rule_id)]


@router.post("/{rule_id}/versions", status_code=201, response_model=RuleVersionOut)
async def new_rule_version(
    rule_id: str,
    body: NewVersion,
    analyst: Analyst,
    rules: RuleEngine,
    if_match: Annotated[str | None, Header()] = None,
) -> RuleVersionOut:
    """Change a rule's parameters: a new version; alerts already raised keep theirs.
    ``If-Match: <version>`` guards against overwriting a concurrent change."""
    _known(rules, rule_id)
    if body.category is not None and body.category not in taxonomy.load():
        raise Problem(
            422,
            "validation-error",
            "Unknown problem category",
            errors=[{"field": "category", "reason": f"{body.category!r} is not in the taxonomy"}],
        )
    expected = None
    if if_match:
        try:
            expected = int(if_match.strip('"W/'))
        except ValueError as exc:
            raise Problem(
                400, "invalid-if-match", "Invalid If-Match", "Send the rule version number."
            ) from exc
    try:
        version = await rules.publish(
            rule_id,
            params=body.params,
            level=body.level,
            category=body.category,
            enabled=body.enabled,
            reason=body.reason,
            actor=analyst.actor,
            expected_version=expected,
        )
    except ParamError as exc:
        raise Problem(
            422,
            "validation-error",
            "The parameters are not valid",
            str(exc),
            errors=[{"field": exc.field, "reason": exc.reason}],
        ) from exc
    return _out(version)


@router.post("/run")
async def run_rules(body: RunRequest, analyst: Analyst, rules: RuleEngine) -> dict[str, Any]:
    """Re-run rules over a period. Findings already raised are not raised again."""
    if body.period_to < body.period_from:
        raise Problem(
            422,
            "validation-error",
            "The period is empty",
            errors=[{"field": "period_to", "reason": "before period_from"}],
        )
    for rid in body.rules or []:
        _known(rules, rid)
    outcome = await rules.run(body.period_from, body.period_to, body.rules)
    return {"raised": outcome.raised, "escalated": outcome.escalated, "by_rule": outcome.by_rule}
