"""定期分析报告, pure: periods, what is due, the 八项规定精神 table and the paragraphs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.accountability.domain.analysis import (
    ReportPeriod,
    analyse,
    eight_rules_table,
    last_ended,
    load_analysis_rules,
)

RULES = load_analysis_rules()


def test_periods_are_named_as_a_report_title_names_them() -> None:
    q3 = ReportPeriod.parse("2026-Q3")
    assert (q3.label, q3.first_day, q3.last_day) == (
        "2026年第三季度",
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    assert ReportPeriod.parse("2026-H1").label == "2026年上半年"
    assert ReportPeriod.parse("2026-10").label == "2026年10月"
    assert ReportPeriod.parse("2026-Q1").previous().code == "2025-Q4"
    assert ReportPeriod.parse("2026-H2").a_year_before().code == "2025-H2"
    with pytest.raises(ValueError):
        ReportPeriod.parse("2026-Q5")
    for out_of_range in ("0000", "0001-01", "9999-12"):  # no date before or after it
        with pytest.raises(ValueError):
            ReportPeriod.parse(out_of_range)


def test_the_schedule_issues_the_last_period_that_has_ended() -> None:
    today = date(2026, 10, 1)
    assert last_ended("month", today).code == "2026-09"
    assert last_ended("quarter", today).code == "2026-Q3"
    assert last_ended("half_year", today).code == "2026-H1"
    # Two days' grace for late deliveries: on 1 October September is not issued yet.
    assert last_ended("month", today, grace_days=2).code == "2026-08"
    assert last_ended("month", date(2026, 10, 3), grace_days=2).code == "2026-09"
    assert not ReportPeriod.parse("2026-Q4").ended_by(date(2026, 12, 31))
    assert ReportPeriod.parse("2026-Q4").ended_by(date(2027, 1, 1))


def case(categories: list[str], rank: str | None, measures: list[str]) -> dict[str, Any]:
    return {"categories": categories, "rank": rank, "measures": measures, "form": 2}


def test_the_eight_rules_table_counts_each_case_once_per_row_by_rank_and_sanction() -> None:
    cases = [
        case(["violation_dining"], "正处级", ["warning"]),
        case(["violation_dining", "violation_gifts"], "科级", ["criticism"]),
        case(["buck_passing"], None, ["admonition"]),
    ]
    rows = {r["label"]: r for r in eight_rules_table(cases, RULES)["rows"]}

    hedonism = rows["享乐主义、奢靡之风问题"]
    assert (hedonism["problems"], hedonism["sanctioned"]) == (2, 1)
    assert rows["违规吃喝"]["by_rank"] == {"bureau": 0, "county": 1, "township": 1}
    assert rows["违规收送名贵特产和礼品礼金"]["problems"] == 1
    assert rows["形式主义、官僚主义问题"]["by_rank"]["township"] == 1


def figures(decided: int, forms: dict[int, int], overdue: int = 0) -> dict[str, Any]:
    return {
        "decided": decided,
        "new": decided,
        "closed": 0,
        "inquiries_opened": 0,
        "by_form": [{"form": f, "count": n} for f, n in forms.items()],
        "by_category": [{"code": "violation_dining", "count": decided}] if decided else [],
        "by_rank": [],
        "by_unit": [],
        "overdue_by_kind": [{"item_kind": "inquiry_reply", "count": overdue}] if overdue else [],
    }


def test_the_analysis_says_the_trend_the_forms_and_the_problems_seen_most() -> None:
    period = ReportPeriod.parse("2026-Q3")
    result, summary = analyse(
        period, figures(4, {1: 3, 2: 1}, overdue=2), figures(2, {1: 2}), figures(0, {}), None,
        RULES, {"violation_dining": "违规吃喝"}.__getitem__,
    )  # fmt: skip

    assert result["trend"]["decided"]["previous"]["percent"] == 100.0
    assert [f["share"] for f in result["forms"]] == [75.0, 25.0, 0.0, 0.0]
    assert summary[0].startswith("2026年第三季度，共作出处理决定4件")
    assert "环比上升100.0%" in summary[0] and "同比由0件增至4件" in summary[0]
    assert summary[1].startswith(
        "运用监督执纪“四种形态”批评教育帮助和处理4人次：第一种形态3人次（占75.0%）"
    )
    assert "违规吃喝（4件）" in summary[2]
    assert summary[4] == "整改进展：暂无整改事项。"


def test_the_analysis_reports_rectification_progress() -> None:
    progress = {"total": 5, "assigned": 2, "in_progress": 2, "completed": 1, "accepted": 0,
                "closed": 2, "overdue": 1, "reopened": 1}  # fmt: skip
    _, summary = analyse(
        ReportPeriod.parse("2026-H2"), figures(0, {}), figures(0, {}), figures(0, {}), progress,
        RULES, str,
    )  # fmt: skip
    assert summary[4] == (
        "整改进展：整改事项5项（本期交办2项），已销号2项，已验收待回头看0项，待验收1项，"
        "整改中2项（其中逾期1项），回头看后重新整改1项。"
    )
