"""定期分析报告 (周记录、月汇总、季分析; 半年报告 to the level above), pure.

A report covers one period — a month (``2026-10``), a quarter (``2026-Q3``) or a half-year
(``2026-H1``) — and is issued once, when the period has ended. What it says is worked out
here from the counts the read models give: the trend against the previous period and the
same period a year before, the 四种形态 distribution, the problems seen most, overdue items,
rectification progress, and the 八项规定精神 table in its official layout (rows and rank
columns are data, ``data/analysis.json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DATA = Path(__file__).resolve().parent.parent / "data" / "analysis.json"

KIND_LABELS = {"month": "月度", "quarter": "季度", "half_year": "半年"}
YEARS = (1949, 2199)
"""The years a period may fall in."""
YEAR_PATTERN = "(1949|19[5-9][0-9]|2[01][0-9]{2})"
"""A year of :data:`YEARS`, as a regular expression."""
REPORT_PERIOD_PATTERN = f"^{YEAR_PATTERN}-(0[1-9]|1[0-2]|Q[1-4]|H[12])$"
"""An analysis report's period: ``2026-10``, ``2026-Q3`` or ``2026-H1``."""
APPRAISAL_PERIOD_PATTERN = f"^{YEAR_PATTERN}(-H[12])?$"
"""A 考核评价 or 民主评议 period: ``2026`` or ``2026-H1``."""
MONTH_PATTERN = f"^{YEAR_PATTERN}-(0[1-9]|1[0-2])$"
"""A month of the statistics: ``2026-10``."""
_PATTERN = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])|H([12])))?$")
_QUARTERS = "一二三四"
FORM_LABELS = {1: "第一种形态", 2: "第二种形态", 3: "第三种形态", 4: "第四种形态"}


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """One month, quarter or half-year; ``index`` counts from 1 within the year."""

    year: int
    months: int
    """How many months it spans: 1, 3 or 6."""
    index: int

    @classmethod
    def parse(cls, code: str) -> ReportPeriod:
        """``2026-10``, ``2026-Q3``, ``2026-H1`` or ``2026`` (the year, for 考核评价);
        ``ValueError`` for anything else, a year out of the records' range included (the
        period before, and the one a year before, must be dates too)."""
        m = _PATTERN.match(code.strip())
        if not m or not YEARS[0] <= int(m.group(1)) <= YEARS[1]:
            raise ValueError(code)
        year = int(m.group(1))
        if m.group(2):
            return cls(year, 1, int(m.group(2)))
        if m.group(3):
            return cls(year, 3, int(m.group(3)))
        if m.group(4):
            return cls(year, 6, int(m.group(4)))
        return cls(year, 12, 1)

    @property
    def kind(self) -> str:
        return {1: "month", 3: "quarter", 6: "half_year", 12: "year"}[self.months]

    @property
    def code(self) -> str:
        if self.months == 1:
            return f"{self.year}-{self.index:02d}"
        if self.months == 12:
            return str(self.year)
        return f"{self.year}-{'Q' if self.months == 3 else 'H'}{self.index}"

    @property
    def label(self) -> str:
        """As a report's title says it: 2026年10月, 2026年第三季度, 2026年上半年."""
        if self.months == 1:
            return f"{self.year}年{self.index}月"
        if self.months == 3:
            return f"{self.year}年第{_QUARTERS[self.index - 1]}季度"
        if self.months == 12:
            return f"{self.year}年度"
        return f"{self.year}年{'上' if self.index == 1 else '下'}半年"

    @property
    def first_month(self) -> int:
        return (self.index - 1) * self.months + 1

    @property
    def first_day(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def next_first_day(self) -> date:
        month = self.first_month + self.months
        return date(self.year + (month > 12), (month - 1) % 12 + 1, 1)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.next_first_day.toordinal() - 1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in the reports' time zone."""
        start, end = self.first_day, self.next_first_day
        return (
            datetime(start.year, start.month, 1, tzinfo=tz),
            datetime(end.year, end.month, 1, tzinfo=tz),
        )

    def previous(self) -> ReportPeriod:
        """The period just before (环比)."""
        per_year = 12 // self.months
        if self.index == 1:
            return ReportPeriod(self.year - 1, self.months, per_year)
        return ReportPeriod(self.year, self.months, self.index - 1)

    def a_year_before(self) -> ReportPeriod:
        """The same period of the year before (同比)."""
        return ReportPeriod(self.year - 1, self.months, self.index)

    @classmethod
    def containing(cls, day: date, months: int) -> ReportPeriod:
        return cls(day.year, months, (day.month - 1) // months + 1)

    def ended_by(self, today: date) -> bool:
        """Whether the period is over on ``today`` (a report is issued only then)."""
        return today >= self.next_first_day


def last_ended(kind: str, today: date, grace_days: int = 0) -> ReportPeriod:
    """The latest period of ``kind`` that ended ``grace_days`` before ``today``: the one a
    schedule issues."""
    today = date.fromordinal(today.toordinal() - grace_days)
    months = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[kind]
    return ReportPeriod.containing(today, months).previous()


@dataclass(frozen=True)
class TableRow:
    """A row of the 八项规定精神 table: the problem type and the categories it counts."""

    label: str
    categories: frozenset[str]
    level: int
    """0: a group's total (享乐主义、奢靡之风); 1: a problem type under it."""


@dataclass(frozen=True)
class AnalysisRules:
    """What a report contains and how the 八项规定精神 table is laid out (data)."""

    version: str
    kinds: tuple[str, ...]
    grace_days: int
    """How long after a period ends the schedule waits (late deliveries still counted)."""
    top_manifestations: int
    table_title: str
    rows: tuple[TableRow, ...]
    ranks: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(code, label, the 职级 texts it counts); the last one takes any rank not matched."""
    sanctions: frozenset[str]
    """Measure codes that are 党纪政务处分 (the table's last column)."""


def load_analysis_rules(path: str | None = None) -> AnalysisRules:
    """The deployment's analysis rules (the shipped ``data/analysis.json`` by default)."""
    raw = json.loads(Path(path or DATA).read_text(encoding="utf-8"))
    table = raw["eight_rules_table"]
    rows: list[TableRow] = []
    for group in table["rows"]:
        children = [TableRow(c["label"], frozenset(c["categories"]), 1) for c in group["children"]]
        rows.append(
            TableRow(group["label"], frozenset().union(*(c.categories for c in children)), 0)
        )
        rows += children
    return AnalysisRules(
        version=str(raw["version"]),
        kinds=tuple(raw["kinds"]),
        grace_days=int(raw.get("grace_days", 0)),
        top_manifestations=int(raw["top_manifestations"]),
        table_title=table["title"],
        rows=tuple(rows),
        ranks=tuple((r["code"], r["label"], tuple(r["match"])) for r in table["ranks"]),
        sanctions=frozenset(table["sanctions"]),
    )


def rank_column(rank: str | None, ranks: Sequence[tuple[str, str, tuple[str, ...]]]) -> str:
    """The table's rank column for a subject's 职级 (厅局级 / 县处级 / 乡科级及以下)."""
    for code, _, words in ranks:
        if rank and any(w in rank for w in words):
            return code
    return ranks[-1][0]


def eight_rules_table(cases: Sequence[Mapping[str, Any]], rules: AnalysisRules) -> dict[str, Any]:
    """The 八项规定精神 table: per problem type, 查处问题数, 处理人数 (by rank) and
    党纪政务处分人数; a case counts once in each row one of its categories belongs to."""
    out = []
    for row in rules.rows:
        hits = [c for c in cases if row.categories & set(c["categories"])]
        by_rank = {code: 0 for code, _, _ in rules.ranks}
        for c in hits:
            by_rank[rank_column(c.get("rank"), rules.ranks)] += 1
        out.append(
            {
                "label": row.label,
                "level": row.level,
                "problems": len(hits),
                "persons": len(hits),
                "by_rank": by_rank,
                "sanctioned": sum(1 for c in hits if rules.sanctions & set(c["measures"] or [])),
            }
        )
    return {
        "title": rules.table_title,
        "ranks": [{"code": code, "label": label} for code, label, _ in rules.ranks],
        "rows": out,
    }


def change(now: int, before: int) -> dict[str, Any]:
    """A count against an earlier one: the difference and the percentage (None from 0)."""
    pct = None if before == 0 else round((now - before) * 100 / before, 1)
    return {"now": now, "before": before, "difference": now - before, "percent": pct}


def _trend_text(c: Mapping[str, Any], against: str) -> str:
    if c["difference"] == 0:
        return f"{against}持平"
    if c["percent"] is None:
        return f"{against}由0件增至{c['now']}件"
    word = "上升" if c["difference"] > 0 else "下降"
    return f"{against}{word}{abs(c['percent'])}%"


def analyse(
    period: ReportPeriod,
    current: Mapping[str, Any],
    previous: Mapping[str, Any],
    year_before: Mapping[str, Any],
    rectification: Mapping[str, Any] | None,
    rules: AnalysisRules,
    label_of: Callable[[str], str],
) -> tuple[dict[str, Any], list[str]]:
    """The report's figures and its paragraphs from the period's counts (``current``, as
    ``queries.month_figures`` gives them for any span), the previous period's and the
    same period's a year before, and the rectification progress if the service keeps any."""
    decided = int(current["decided"])
    forms = {int(r["form"]): int(r["count"]) for r in current["by_form"] if r["form"]}
    # Shares of everyone handled under the 四种形态 (形态一 on clues included), not of the
    # decided cases only.
    handled = sum(forms.values())
    distribution = [
        {
            "form": f,
            "label": FORM_LABELS[f],
            "count": forms.get(f, 0),
            "share": round(forms.get(f, 0) * 100 / handled, 1) if handled else 0.0,
        }
        for f in (1, 2, 3, 4)
    ]
    top = [
        {**r, "label": label_of(r["code"])}
        for r in current["by_category"][: rules.top_manifestations]
    ]
    overdue = [{**r} for r in current["overdue_by_kind"]]
    overdue_total = sum(int(r["count"]) for r in overdue)
    trend = {
        "decided": {
            "previous": change(decided, int(previous["decided"])),
            "year_before": change(decided, int(year_before["decided"])),
        },
        "new": {
            "previous": change(int(current["new"]), int(previous["new"])),
            "year_before": change(int(current["new"]), int(year_before["new"])),
        },
    }
    figures = {
        "decided": decided,
        "new": int(current["new"]),
        "closed": int(current["closed"]),
        "inquiries_opened": int(current["inquiries_opened"]),
        "overdue": overdue_total,
        "trend": trend,
        "forms": distribution,
        "top_manifestations": top,
        "by_unit": list(current["by_unit"]),
        "by_category": [{**r, "label": label_of(r["code"])} for r in current["by_category"]],
        "by_rank": list(current["by_rank"]),
        "overdue_by_kind": overdue,
        "rectification": dict(rectification) if rectification is not None else None,
    }
    summary = _paragraphs(period, figures)
    return figures, summary


def _paragraphs(period: ReportPeriod, f: Mapping[str, Any]) -> list[str]:
    t = f["trend"]["decided"]
    overview = (
        f"{period.label}，共作出处理决定{f['decided']}件，新立案{f['new']}件，办结{f['closed']}件，"
        f"启动一案双查{f['inquiries_opened']}起；处理决定"
        f"{_trend_text(t['previous'], '环比')}，"
        f"{_trend_text(t['year_before'], '同比')}。"
    )
    handled = sum(d["count"] for d in f["forms"])
    forms = (
        f"运用监督执纪“四种形态”批评教育帮助和处理{handled}人次："
        + "，".join(f"{d['label']}{d['count']}人次（占{d['share']}%）" for d in f["forms"])
        + "。"
    )
    if f["top_manifestations"]:
        top = (
            "问题表现较突出的是："
            + "、".join(f"{r['label']}（{r['count']}件）" for r in f["top_manifestations"])
            + "。"
        )
    else:
        top = "本期未查处作风问题。"
    if f["overdue"]:
        overdue = (
            f"超期事项{f['overdue']}项："
            + "、".join(
                f"{r.get('label', r['item_kind'])}{r['count']}项" for r in f["overdue_by_kind"]
            )
            + "，须督促办理。"
        )
    else:
        overdue = "本期无超期事项。"
    r = f["rectification"]
    if not r or not r.get("total"):
        rect = "整改进展：暂无整改事项。"
    else:
        rect = (
            f"整改进展：整改事项{r['total']}项（本期交办{r['assigned']}项），已销号{r['closed']}项，"
            f"已验收待回头看{r['accepted']}项，待验收{r['completed']}项，整改中{r['in_progress']}项"
            f"（其中逾期{r['overdue']}项），回头看后重新整改{r['reopened']}项。"
        )
    return [overview, forms, top, overdue, rect]
