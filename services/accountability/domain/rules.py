"""Accountability's rules, kept as data: triggers, duties, measures and who decides them,
the three-party review, and the 红黄绿 rating formula.

The shipped rules are ``services/accountability/data/rules.json``; a deployment points
``ZF_ACCOUNTABILITY_RULES_FILE`` at its own file of the same shape. The service loads them
once, when it starts, and hands them to whatever decides.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "rules.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Recurrence(_Frozen):
    cases: int
    window_days: int


class Triggers(_Frozen):
    min_form: int
    major: bool
    recurrence: Recurrence


class MeasureRule(_Frozen):
    label: str
    targets: list[str]
    """``organisation`` and/or ``leader``."""
    authority: str
    """``commission`` (decides itself) or ``competent_body`` (the commission only proposes)."""
    group: str | None = None


class Review(_Frozen):
    offices: dict[str, str]
    key_area_categories: list[str]


class Level(_Frozen):
    level: str
    min_score: int


class RatingRules(_Frozen):
    window_days: int
    weights: dict[str, int]
    levels: list[Level]
    default_level: str
    red_when_category_cases: int
    level_labels: dict[str, str]
    overdue_labels: dict[str, str]


class Reports(_Frozen):
    timezone: str
    """Months and days of the reports are counted in this time zone."""


class Rules(_Frozen):
    """One version of the accountability rules."""

    version: str
    triggers: Triggers
    responsibilities: dict[str, str]
    duties: dict[str, list[str]]
    duty_labels: dict[str, str]
    measures: dict[str, MeasureRule]
    authorities: dict[str, str]
    review: Review
    reports: Reports
    rating: RatingRules

    def measure_label(self, code: str) -> str:
        """The Chinese name of a measure code."""
        rule = self.measures.get(code)
        return rule.label if rule else code


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in ``path``, else the shipped ones (read when the service starts)."""
    chosen = Path(path or DEFAULT_FILE)
    return Rules.model_validate(json.loads(chosen.read_text(encoding="utf-8")))
