"""考核评价, pure: a unit's score for a year or half-year from a model kept as data.

The model (``data/appraisal.json``) names indicators, each with a weight and a source —
the unit's decided cases, its 红黄绿 rating, its 整改 progress, 12345 hotline satisfaction,
民主评议 results — and how a source's figures become a score out of 100. An indicator with
no data for the unit is left out and its weight shared among the others; the explanation
says so. A unit under the model's line owes a 约谈.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "appraisal.json"


@dataclass(frozen=True)
class Indicator:
    """One indicator: what it measures, its weight and how its source is scored."""

    code: str
    label: str
    weight: float
    source: str
    """``cases``, ``rating``, ``rectification``, ``hotline``, ``survey``."""
    params: Mapping[str, Any]


@dataclass(frozen=True)
class AppraisalModel:
    """The scoring model (data), versioned."""

    version: str
    indicators: tuple[Indicator, ...]
    grades: tuple[tuple[float, str, str], ...]
    """(minimum score, code, label), highest first."""
    interview_below: float
    interview_days: int
    interview_role: str


def load_appraisal_model(path: str | None = None) -> AppraisalModel:
    """The deployment's model (the shipped ``data/appraisal.json`` by default)."""
    raw = json.loads(Path(path or DATA).read_text(encoding="utf-8"))
    indicators = tuple(
        Indicator(i["code"], i["label"], float(i["weight"]), i["source"], dict(i.get("params", {})))
        for i in raw["indicators"]
    )
    grades = tuple(
        sorted(((float(g["min"]), g["code"], g["label"]) for g in raw["grades"]), reverse=True)
    )
    interview = raw["interview"]
    return AppraisalModel(
        version=str(raw["version"]),
        indicators=indicators,
        grades=grades,
        interview_below=float(interview["below"]),
        interview_days=int(interview["due_days"]),
        interview_role=interview["role"],
    )


@dataclass(frozen=True)
class UnitFigures:
    """What the sources say about one unit for the period (None: the source has no data)."""

    cases: int = 0
    major_cases: int = 0
    rating: str | None = None
    rectification_total: int = 0
    rectification_done: int = 0
    rectification_overdue: int = 0
    hotline: float | None = None
    """满意率 in percent, as the 12345 platform reports it."""
    survey: float | None = None
    """民主评议 score out of 100 (``surveys.score``)."""
    survey_responses: int = 0


@dataclass(frozen=True)
class Scored:
    """One indicator's score (None: no data) and the words that justify it."""

    code: str
    label: str
    weight: float
    score: float | None
    basis: str


def _half_up(value: float) -> float:
    """One decimal, rounded as a clerk rounds (四舍五入), not to even."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _clamp(value: float) -> float:
    return round(max(0.0, min(100.0, value)), 1)


def score_indicator(indicator: Indicator, f: UnitFigures) -> Scored:
    """One indicator of one unit, from its source's figures."""
    p, s = indicator.params, indicator.source
    score: float | None
    if s == "cases":
        deduction = f.cases * float(p["per_case"]) + f.major_cases * float(p["per_major_case"])
        score = _clamp(100 - deduction)
        basis = f"期内作出处理决定{f.cases}件（其中重大{f.major_cases}件），扣{100 - score:g}分"
    elif s == "rating":
        levels: Mapping[str, float] = p["levels"]
        score = None if f.rating is None else _clamp(float(levels[f.rating]))
        labels: Mapping[str, str] = p["labels"]
        basis = "尚无红黄绿评级" if f.rating is None else f"红黄绿评级为{labels[f.rating]}"
    elif s == "rectification":
        if f.rectification_total == 0:
            score, basis = 100.0, "期内无整改事项"
        else:
            rate = f.rectification_done * 100 / f.rectification_total
            score = _clamp(rate - f.rectification_overdue * float(p["per_overdue"]))
            basis = (
                f"整改事项{f.rectification_total}项，完成{f.rectification_done}项，"
                f"逾期{f.rectification_overdue}项"
            )
    elif s == "hotline":
        score = None if f.hotline is None else _clamp(f.hotline)
        basis = "暂无12345热线满意度数据" if f.hotline is None else f"12345热线满意率{f.hotline:g}%"
    elif s == "survey":
        score = None if f.survey is None else _clamp(f.survey)
        basis = (
            "暂无民主评议结果"
            if f.survey is None
            else f"民主评议{f.survey_responses}份有效问卷，得分{f.survey:g}"
        )
    else:
        raise ValueError(f"unknown source {s!r}")
    return Scored(indicator.code, indicator.label, indicator.weight, score, basis)


@dataclass(frozen=True)
class Appraisal:
    """A unit's appraisal: total, grade, each indicator, the explanation, whether 约谈."""

    unit: str
    score: float
    grade: str
    grade_label: str
    indicators: tuple[Scored, ...]
    explanation: str
    interview: bool


def appraise(unit: str, figures: UnitFigures, model: AppraisalModel) -> Appraisal:
    """The unit's weighted score; indicators without data give their weight to the rest."""
    scored = tuple(score_indicator(i, figures) for i in model.indicators)
    counted = [s for s in scored if s.score is not None]
    weight = sum(s.weight for s in counted)
    total = _half_up(sum(s.weight * (s.score or 0) for s in counted) / weight) if weight else 0.0
    _, grade, label = next(g for g in model.grades if total >= g[0])
    parts = [f"{s.label}{s.score:g}分（权重{s.weight:g}；{s.basis}）" for s in counted]
    missing = [f"{s.label}（{s.basis}）" for s in scored if s.score is None]
    explanation = f"{label}：综合得分{total:g}分。" + "；".join(parts) + "。"
    if missing:
        explanation += "未计入：" + "、".join(missing) + "，其权重按比例分配给其他指标。"
    interview = total < model.interview_below
    if interview:
        explanation += f"低于{model.interview_below:g}分，应予约谈。"
    return Appraisal(unit, total, grade, label, scored, explanation, interview)


def weakest(appraisal: Appraisal, count: int = 2) -> Sequence[Scored]:
    """The indicators that pulled the score down most (what a 约谈 is about)."""
    counted = [s for s in appraisal.indicators if s.score is not None]
    return sorted(counted, key=lambda s: s.score or 0)[:count]
