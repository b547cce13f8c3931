"""The platform calendar as holiday rules read it: whole breaks, 调休 days, missing years."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from libs.kit.workdays import (
    CalendarDay,
    WorkCalendar,
    calendar_days,
    load,
    missing_adjustments,
    warn_if_missing_adjustments,
)


def test_a_holiday_break_is_every_day_off_around_the_holiday_with_the_holidays_name() -> None:
    days = {d.day: d for d in calendar_days(load(), [2026])}
    spring = [d for d in days.values() if d.name == "春节"]
    assert [d.day for d in spring] == [date(2026, 2, d) for d in range(15, 24)]
    assert days[date(2026, 2, 14)] == CalendarDay(date(2026, 2, 14), "调休上班", "workday")
    assert date(2026, 3, 7) not in days  # an ordinary weekend is no holiday


def test_an_operators_local_holiday_joins_the_calendar_the_rules_read() -> None:
    local = load().with_overrides([date(2026, 11, 23)], [], "city")
    (day,) = [d for d in calendar_days(local, [2026]) if d.day == date(2026, 11, 23)]
    assert (day.kind, day.name) == ("holiday", "节假日")


def test_loading_the_calendar_at_start_warns_when_this_or_next_year_has_no_tiaoxiu(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = WorkCalendar(workdays=frozenset({date(2026, 2, 14)}), version="test")
    assert missing_adjustments(calendar, [2026, 2027]) == [2027]
    with caplog.at_level(logging.WARNING, logger="libs.kit.workdays"):
        assert warn_if_missing_adjustments(calendar, date(2026, 12, 7)) == [2027]
    (record,) = caplog.records
    assert "2027 年" in record.getMessage() and "调休" in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="libs.kit.workdays"):
        assert warn_if_missing_adjustments(calendar, date(2025, 12, 7)) == [2025]


def test_every_service_loading_the_calendar_is_warned_of_a_year_without_tiaoxiu(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    override = tmp_path / "city.json"
    override.write_text('{"version": "city-test", "holidays": ["2026-11-23"]}')
    with caplog.at_level(logging.WARNING, logger="libs.kit.workdays"):
        load(str(override))
    years = {getattr(r, "year", None) for r in caplog.records}
    today = date.today()
    assert years == set(missing_adjustments(load(str(override)), [today.year, today.year + 1]))
