"""红黄绿: a unit's rating from its recent cases, alerts and overdue items, by a formula in data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from libs.events.contracts import Event
from libs.events.contracts.accountability import (
    AlertNoted,
    AlertVerificationNoted,
    CaseDecisionNoted,
    OverdueNoted,
    RatingChanged,
)
from services.accountability.domain.rules import RatingRules


@dataclass(frozen=True)
class Rating:
    """A unit's level with the score, the counted inputs and a sentence a leader reads."""

    level: str
    score: int
    explanation: str
    inputs: dict[str, int] = field(default_factory=dict)


_ALERT_LABELS = {"red": "红色预警", "yellow": "黄色预警"}


def _counted(
    by_category: Counter[str],
    by_alert: Counter[str],
    by_overdue: Counter[str],
    rules: RatingRules,
    category_label: Callable[[str], str],
) -> list[str]:
    """What the rating counted, as a leader reads it: 违规吃喝 3 件, 红色预警 1 条, …"""
    parts = [
        f"{category_label(c)} {n} 件"
        for c, n in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    parts += [
        f"{_ALERT_LABELS[lvl]} {n} 条"
        for lvl, n in sorted(by_alert.items())
        if lvl in _ALERT_LABELS
    ]
    parts += [
        f"{rules.overdue_labels.get(kind, kind)}超期 {n} 项"
        for kind, n in sorted(by_overdue.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return parts


def _explain(label: str, parts: list[str], *, dismissed: int, period: str, detail: str) -> str:
    """红：近12个月违规吃喝 3 件，红色预警 1 条（得分 9；同一类别 3 件即评为红）."""
    if not parts:
        return f"{label}：{period}无案件、预警或超期事项"
    text = f"{label}：{period}{'，'.join(parts)}"
    if dismissed:
        text += f"；另有 {dismissed} 条经核查不实的预警未计入"
    return f"{text}（{detail}）"


def rate(
    history: Sequence[Event],
    now: datetime,
    rules: RatingRules,
    category_label: Callable[[str], str] = str,
) -> Rating:
    """Rate a unit from its stream as of ``now``; only inputs inside the window count."""
    since = now - timedelta(days=rules.window_days)
    cases = [e for e in history if isinstance(e, CaseDecisionNoted) and since < e.decided_at <= now]
    findings = {
        e.alert_id: e.finding
        for e in history
        if isinstance(e, AlertVerificationNoted) and e.verified_at <= now
    }
    raised = [e for e in history if isinstance(e, AlertNoted) and since < e.raised_at <= now]
    # An alert found false on the ground (线下核查) says nothing about the unit.
    alerts = [e for e in raised if findings.get(e.alert_id) != "false_positive"]
    dismissed = len(raised) - len(alerts)
    overdue = [e for e in history if isinstance(e, OverdueNoted) and since < e.noticed_at <= now]
    by_category = Counter(c for e in cases for c in e.categories)
    by_alert = Counter(e.level for e in alerts)
    by_overdue = Counter(e.item_kind for e in overdue)
    inputs = {
        "case": len(cases),
        "major_case": sum(1 for e in cases if e.major),
        "alert_red": by_alert.get("red", 0),
        "alert_yellow": by_alert.get("yellow", 0),
        "overdue": len(overdue),
    }
    w = rules.weights
    score = sum(w.get(k, 0) * n for k, n in inputs.items())
    level = next(
        (
            lv.level
            for lv in sorted(rules.levels, key=lambda lv: -lv.min_score)
            if score >= lv.min_score
        ),
        rules.default_level,
    )
    repeated = [c for c, n in by_category.items() if n >= rules.red_when_category_cases]
    if repeated:
        level = "red"
    reason = _explain(
        rules.level_labels.get(level, level),
        _counted(by_category, by_alert, by_overdue, rules, category_label),
        dismissed=dismissed,
        period="近12个月" if rules.window_days == 365 else f"近{rules.window_days}日",
        detail=f"得分 {score}"
        + (f"；同一类别 {rules.red_when_category_cases} 件即评为红" if repeated else ""),
    )
    return Rating(level, score, reason, inputs)


def current_level(history: Sequence[Event]) -> str | None:
    """The level of the unit's last RatingChanged, if any."""
    for e in reversed(history):
        if isinstance(e, RatingChanged):
            return e.to_level
    return None


def rating_change(
    unit: str,
    history: Sequence[Event],
    now: datetime,
    rules: RatingRules,
    rules_version: str,
    category_label: Callable[[str], str] = str,
) -> list[RatingChanged]:
    """A RatingChanged when the unit's level now differs from its last recorded one."""
    rating = rate(history, now, rules, category_label)
    before = current_level(history)
    if before == rating.level or (before is None and rating.level == rules.default_level):
        return []
    return [
        RatingChanged(
            unit=unit,
            from_level=before,
            to_level=rating.level,
            score=rating.score,
            explanation=rating.explanation,
            inputs=rating.inputs,
            rules_version=rules_version,
            changed_at=now,
        )
    ]
