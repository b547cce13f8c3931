"""Casework's rules come from data files named in its settings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from services.casework import app as casework_app
from services.casework.domain.rules import DATA


def test_operator_override_file_in_settings_changes_the_service_calendar(tmp_path: Path) -> None:
    overrides = tmp_path / "city.json"
    overrides.write_text(json.dumps({"version": "city-1", "holidays": ["2026-11-24"]}))
    limits = tmp_path / "limits.json"
    shipped = json.loads((DATA / "limits.json").read_text(encoding="utf-8"))
    shipped["limits"]["inquiry_reply"] = "10 working_days"
    shipped["version"] = "test"
    limits.write_text(json.dumps(shipped))

    app = casework_app.create(
        casework_app.Settings(
            database_url="postgresql://unused/none",
            workday_overrides_file=str(overrides),
            limits_file=str(limits),
        )
    )

    rules = app.state.deps.rules
    assert not rules.calendar.is_workday(date(2026, 11, 24))
    assert rules.calendar.version.endswith("+city-1")
    assert str(rules.limits["inquiry_reply"]) == "10 working_days"
    assert rules.limits.version == "test"


def test_a_local_variant_of_the_limits_is_chosen_in_settings() -> None:
    app = casework_app.create(
        casework_app.Settings(
            database_url="postgresql://unused/none",
            limits_variant="verification_15_working_days",
        )
    )

    limits = app.state.deps.rules.limits
    assert str(limits["preliminary_verification"]) == "15 working_days"
    assert limits.preliminary_verification_extensions_max == 0
    assert limits.variant == "verification_15_working_days"
