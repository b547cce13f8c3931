"""Working days (工作日): weekends, statutory holidays and adjusted working days, as data.

Mainland China's statutory holidays and the weekend days worked in exchange (调休上班)
come from the maintained ``holidays`` package (its ``China`` calendar fills
``weekend_workdays``); an operator extends or corrects them with an override file
(``ZF_WORKDAY_OVERRIDES_FILE``), JSON or CSV:

* JSON: ``{"version": "2026-10-local", "holidays": ["2026-10-08"], "workdays": ["2026-10-11"]}``
* CSV: ``date,kind[,note]`` rows where ``kind`` is ``holiday`` or ``workday``.

Time limits are ``Period`` values (15 working days, 1 month, 90 days) so that the limits
themselves are data too; ``WorkCalendar.due`` turns a start date and a period into a due date.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import holidays as holiday_data

DEFAULT_YEARS = range(2015, 2031)

log = logging.getLogger(__name__)


class Unit(StrEnum):
    """How a time limit counts."""

    WORKING_DAYS = "working_days"
    DAYS = "days"
    MONTHS = "months"


_UNIT_LABELS = {Unit.WORKING_DAYS: "个工作日", Unit.DAYS: "日", Unit.MONTHS: "个月"}


@dataclass(frozen=True)
class Period:
    """A time limit such as 15 working days, 90 days or 1 month."""

    amount: int
    unit: Unit

    @classmethod
    def parse(cls, value: dict[str, Any] | str) -> Period:
        """From ``{"amount": 15, "unit": "working_days"}`` or ``"15 working_days"``."""
        if isinstance(value, str):
            amount, unit = value.split()
            return cls(int(amount), Unit(unit))
        return cls(int(value["amount"]), Unit(value["unit"]))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"

    @property
    def label(self) -> str:
        """As a clerk reads it: 15个工作日, 90日, 1个月."""
        return f"{self.amount}{_UNIT_LABELS[self.unit]}"


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it is shorter (1-31 → 2-28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(start.day, last_day))


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days; ``version`` says which data decided it."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    """Days off that fall on a weekday (statutory holidays, 调休 days off)."""
    workdays: frozenset[date] = field(default_factory=frozenset)
    """Weekend days that are worked (调休上班)."""
    version: str = ""

    def is_workday(self, day: date) -> bool:
        """Is ``day`` a working day?"""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself is not counted).

        A 15-working-day reply period from a letter received on ``start`` is due on
        ``add_workdays(start, 15)``. ``n`` may be negative (counting back).
        """
        step = 1 if n >= 0 else -1
        day, left = start, abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def due(self, start: date, period: Period) -> date:
        """The last day of ``period`` counted from ``start``.

        Calendar-day and month limits that end on a day off move to the next working day
        (as procedural limits do); working-day limits end on a working day by construction.
        """
        if period.unit is Unit.WORKING_DAYS:
            return self.add_workdays(start, period.amount)
        if period.unit is Unit.DAYS:
            end = start + timedelta(days=period.amount)
        else:
            end = add_months(start, period.amount)
        return self.next_workday(end)

    def with_overrides(
        self, holidays: Iterable[date], workdays: Iterable[date], tag: str
    ) -> WorkCalendar:
        """This calendar with extra days off and extra working days (the later wins)."""
        off, on = set(holidays), set(workdays)
        return WorkCalendar(
            holidays=frozenset((self.holidays - on) | off),
            workdays=frozenset((self.workdays - off) | on),
            version=f"{self.version}+{tag}" if tag else self.version,
        )


def china(years: Iterable[int] = DEFAULT_YEARS) -> WorkCalendar:
    """Mainland China's statutory holidays and adjusted working days, from ``holidays``."""
    cn = holiday_data.country_holidays("CN", years=list(years))
    workdays = frozenset(getattr(cn, "weekend_workdays", ()) or ())
    return WorkCalendar(
        holidays=frozenset(cn.keys()),
        workdays=workdays,
        version=f"holidays-{getattr(holiday_data, '__version__', '?')}:CN",
    )


def read_overrides(path: str | Path) -> tuple[list[date], list[date], str]:
    """Extra holidays, extra working days and a version tag from an operator's file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".csv":
        off: list[date] = []
        on: list[date] = []
        for row in csv.reader(text.splitlines()):
            if not row or row[0].strip().startswith("#") or row[0].strip() == "date":
                continue
            day, kind = date.fromisoformat(row[0].strip()), row[1].strip().lower()
            if kind not in ("holiday", "workday"):
                raise ValueError(f"{p}: kind must be holiday or workday, not {kind!r}")
            (off if kind == "holiday" else on).append(day)
        return off, on, p.stem
    doc = json.loads(text)
    return (
        [date.fromisoformat(d) for d in doc.get("holidays", [])],
        [date.fromisoformat(d) for d in doc.get("workdays", [])],
        str(doc.get("version") or p.stem),
    )


@cache
def load(overrides: str | None = None) -> WorkCalendar:
    """The deployment's calendar: China's, plus ``overrides`` or ``ZF_WORKDAY_OVERRIDES_FILE``.

    Services load it when they start; a warning is logged then for this year or next when
    the calendar holds no 调休 data for it (``warn_if_missing_adjustments``).
    """
    calendar = china()
    chosen = overrides or os.environ.get("ZF_WORKDAY_OVERRIDES_FILE")
    if chosen:
        off, on, tag = read_overrides(chosen)
        calendar = calendar.with_overrides(off, on, tag)
    warn_if_missing_adjustments(calendar, date.today())
    return calendar


@dataclass(frozen=True)
class CalendarDay:
    """One day of the calendar as a rule reads it: a day of a holiday break, or a weekend
    day worked in exchange (调休上班)."""

    day: date
    name: str
    kind: str
    """``holiday`` or ``workday`` (the kinds of analysis's ``holidays`` feed)."""


_NOTE = re.compile(r"（[^）]*）")


@cache
def _names(year: int) -> dict[date, str]:
    """The statutory holidays' Chinese names in ``year`` (春节, 国庆节, …)."""
    cn = holiday_data.country_holidays("CN", years=[year], language="zh_CN")
    return {d: str(name) for d, name in cn.items()}


def _break_name(days: list[date]) -> str:
    # A break is named after its holiday: the name most of its days carry, without notes
    # such as （补假）; the days given in exchange (休息日（由…调休）) name nothing.
    names = Counter(
        _NOTE.sub("", n)
        for d in days
        if (n := _names(d.year).get(d)) and not n.startswith("休息日")
    )
    return names.most_common(1)[0][0] if names else "节假日"


def calendar_days(calendar: WorkCalendar, years: Iterable[int]) -> list[CalendarDay]:
    """Every day of the holiday breaks in ``years`` and every 调休 working day.

    A break is a run of days off that holds a holiday of the calendar: 春节 2026 is
    2-15…2-23, its weekend days included, as the notice announces it; an ordinary weekend
    is no break. A rule asking "was this day a holiday" reads these days.
    """
    chosen = sorted(set(years))
    if not chosen:
        return []
    day, end = date(chosen[0], 1, 1) - timedelta(days=14), date(chosen[-1], 12, 31)
    out: list[CalendarDay] = []
    run: list[date] = []

    def close() -> None:
        if any(d in calendar.holidays for d in run):
            name = _break_name(run)
            out.extend(CalendarDay(d, name, "holiday") for d in run if d.year in chosen)
        run.clear()

    while day <= end + timedelta(days=14):
        if calendar.is_workday(day):
            close()
            if day in calendar.workdays and day.year in chosen:
                out.append(CalendarDay(day, "调休上班", "workday"))
        else:
            run.append(day)
        day += timedelta(days=1)
    close()
    return out


def missing_adjustments(calendar: WorkCalendar, years: Iterable[int]) -> list[int]:
    """The years in which the calendar knows no 调休 working day: its data for them is
    most likely not published yet (or not installed), so working days there may be wrong."""
    known = {d.year for d in calendar.workdays}
    return [y for y in years if y not in known]


def warn_if_missing_adjustments(calendar: WorkCalendar, today: date) -> list[int]:
    """Log a warning at start when this year or next has no 调休 data; returns those years."""
    missing = missing_adjustments(calendar, (today.year, today.year + 1))
    for year in missing:
        log.warning(
            "节假日历（%s）没有 %d 年的调休安排（调休上班日），该年的工作日、期限和节假日规则"
            "可能不准；请升级节假日数据，或在 ZF_WORKDAY_OVERRIDES_FILE 中补充该年的放假和调休日期",
            calendar.version,
            year,
            extra={"event": "calendar_adjustments_missing", "year": year},
        )
    return missing
