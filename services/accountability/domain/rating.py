"""红黄绿: a unit's rating from its recent cases, alerts, overdue items, 信访 and repeat reports
(动态评估: 综合问题反映集中度、信访及重复举报), by a formula in data."""

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
from services.accountability.domain.units import (
    RepeatReportNoted,
    RepeatReportSplitNoted,
    UnitNamedInClue,
)


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
    reports: dict[str, int],
    rules: RatingRules,
    category_label: Callable[[str], str],
) -> list[str]:
    """What the rating counted, as a leader reads it: 违规吃喝 3 件, 红色预警 1 条, 信访举报 4 件…"""
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
    parts += [f"{rules.input_labels.get(k, k)} {n} 件" for k, n in reports.items() if n]
    return parts


def _explain(label: str, parts: list[str], *, dismissed: int, period: str, detail: str) -> str:
    """红：近12个月违规吃喝 3 件，红色预警 1 条（得分 9；同一类别 3 件即评为红）."""
    if not parts:
        return f"{label}：{period}无案件、预警、超期事项或信访举报"
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
    reports = {
        "petition": len(_petitions(history, since, now, rules)),
        "repeat_report": len(_repeats(history, since, now)),
    }
    by_category = Counter(c for e in cases for c in e.categories)
    by_alert = Counter(e.level for e in alerts)
    by_overdue = Counter(e.item_kind for e in overdue)
    inputs = {
        "case": len(cases),
        "major_case": sum(1 for e in cases if e.major),
        "alert_red": by_alert.get("red", 0),
        "alert_yellow": by_alert.get("yellow", 0),
        "overdue": len(overdue),
        **reports,
    }
    w = rules.weights
    score = sum(w.get(k, 0) * (n // max(1, rules.per_point.get(k, 1))) for k, n in inputs.items())
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
        _counted(by_category, by_alert, by_overdue, reports, rules, category_label),
        dismissed=dismissed,
        period="近12个月" if rules.window_days == 365 else f"近{rules.window_days}日",
        detail=f"得分 {score}"
        + (f"；同一类别 {rules.red_when_category_cases} 件即评为红" if repeated else ""),
    )
    return Rating(level, score, reason, inputs)


def _petitions(
    history: Sequence[Event], since: datetime, now: datetime, rules: RatingRules
) -> set[object]:
    """信访: clues about the unit from a 信访 source received inside the window (a note from
    before v2 has no time and no source, so no window can hold it)."""
    return {
        e.clue_id
        for e in history
        if isinstance(e, UnitNamedInClue)
        and e.received_at is not None
        and since < e.received_at <= now
        and e.source_kind in rules.petition_sources
    }


def _repeats(history: Sequence[Event], since: datetime, now: datetime) -> set[object]:
    """重复举报 merged inside the window, less those a clerk split off as clues of their own
    (those count as clues from then on)."""
    split = {
        e.repeat_id for e in history if isinstance(e, RepeatReportSplitNoted) and e.split_at <= now
    }
    return {
        e.repeat_id
        for e in history
        if isinstance(e, RepeatReportNoted)
        and since < e.merged_at <= now
        and e.repeat_id not in split
    }


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
