"""Working-day arithmetic over China's holidays, adjusted working days and operator overrides."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from libs.kit.workdays import Period, Unit, WorkCalendar, add_months, china, load, read_overrides

CN = china(range(2025, 2028))


def test_fifteen_working_day_reply_spans_national_day_week() -> None:
    # Letter received Thu 2026-09-24: Mid-Autumn (9-25) and National Day (10-1..10-7) are off,
    # Sat 10-10 is worked in exchange; the reply is due on Thu 10-22.
    assert CN.add_workdays(date(2026, 9, 24), 15) == date(2026, 10, 22)
    assert CN.due(date(2026, 9, 24), Period(15, Unit.WORKING_DAYS)) == date(2026, 10, 22)
    # A calendar of bare weekends would have said 10-15.
    assert WorkCalendar().add_workdays(date(2026, 9, 24), 15) == date(2026, 10, 15)


def test_adjusted_weekend_days_are_working_days() -> None:
    assert CN.is_workday(date(2026, 9, 20))  # Sunday worked before National Day
    assert CN.is_workday(date(2026, 10, 10))  # Saturday worked after it
    assert not CN.is_workday(date(2026, 10, 6))  # Tuesday, a 调休 day off
    assert not CN.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert CN.add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_working_days_count_back_and_between() -> None:
    assert CN.add_workdays(date(2026, 10, 22), -15) == date(2026, 9, 24)
    assert CN.workdays_between(date(2026, 9, 24), date(2026, 10, 22)) == 15


def test_month_limits_clamp_and_move_off_days_off() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    # One month from 9-1 is 10-1, a holiday: the limit ends on the first working day, 10-8.
    assert CN.due(date(2026, 9, 1), Period(1, Unit.MONTHS)) == date(2026, 10, 8)
    assert CN.due(date(2026, 3, 2), Period.parse("90 days")) == date(2026, 6, 1)


def test_override_file_adds_local_holidays_and_working_days(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    path.write_text(
        json.dumps({"version": "city-2026", "holidays": ["2026-10-12"], "workdays": ["2026-10-11"]})
    )
    local = CN.with_overrides(*read_overrides(path))
    assert not local.is_workday(date(2026, 10, 12))
    assert local.is_workday(date(2026, 10, 11))
    assert local.version.endswith("+city-2026")
    # Swapping Mon 10-12 for Sun 10-11 leaves the count but moves the days.
    assert local.add_workdays(date(2026, 10, 9), 2) == date(2026, 10, 11)
    assert CN.add_workdays(date(2026, 10, 9), 2) == date(2026, 10, 12)


def test_csv_override_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "local.csv"
    path.write_text("date,kind,note\n2026-11-23,holiday,城市纪念日\n")
    monkeypatch.setenv("ZF_WORKDAY_OVERRIDES_FILE", str(path))
    load.cache_clear()
    try:
        assert not load().is_workday(date(2026, 11, 23))
    finally:
        load.cache_clear()
    bad = tmp_path / "bad.csv"
    bad.write_text("2026-11-23,festival\n")
    with pytest.raises(ValueError, match="holiday or workday"):
        read_overrides(bad)
