"""Accountability's rules, kept as data: triggers, duties, measures and who decides them,
the three-party review, and the 红黄绿 rating formula.

The shipped rules are ``services/accountability/data/rules.json``; a deployment points
``ZF_ACCOUNTABILITY_RULES_FILE`` at its own file of the same shape. The service loads them
once, when it starts, and hands them to whatever decides.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "rules.json"
KINDS_FILE = Path(__file__).resolve().parents[1] / "data" / "responsibility_kinds.json"
LEGACY = "unknown"
"""The responsibility kind and bearing of measures recorded before they were named."""


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
    petition_sources: list[str] = ["public_report"]
    """Which clue sources are 信访 (动态评估: 信访及重复举报 count towards the rating)."""
    per_point: dict[str, int] = {}
    """How many of an input make one count of its weight (e.g. every 3 信访 = 1); default 1."""
    input_labels: dict[str, str] = {"petition": "信访举报", "repeat_report": "重复举报"}
    """How the explanation names the 信访 and repeat-report inputs."""


class KindRule(_Frozen):
    label: str
    targets: list[str]
    """``organisation`` and/or ``leader``: whom the kind (or bearing) may name."""


class KindDefault(_Frozen):
    kind: str
    bearing: str


class ResponsibilityKinds(_Frozen):
    """问责条例 第六条: 全面/主要/重要领导责任, borne collectively or individually.

    ``defaults`` give a party's kind and bearing by the list entry that made it responsible
    (``department_leader`` stands for every ``department_leader:…``), when the clerk names none.
    """

    version: str
    source: str = ""
    kinds: dict[str, KindRule]
    bearings: dict[str, KindRule]
    defaults: dict[str, KindDefault]
    legacy_label: str

    def kind_label(self, code: str) -> str:
        """The Chinese name of a responsibility kind; a measure from before reads as legacy."""
        rule = self.kinds.get(code)
        return rule.label if rule else self.legacy_label

    def bearing_label(self, code: str) -> str:
        """集体责任 / 个人责任; a measure from before reads as legacy."""
        rule = self.bearings.get(code)
        return rule.label if rule else self.legacy_label

    def default_for(self, basis: str) -> KindDefault | None:
        """The kind and bearing a list entry implies (``department_leader:财务科`` → …)."""
        return self.defaults.get(basis) or self.defaults.get(basis.split(":", 1)[0])


def load_kinds(path: str | Path | None = None) -> ResponsibilityKinds:
    """The responsibility kinds in ``path``, else the shipped catalogue."""
    chosen = Path(path or KINDS_FILE)
    return ResponsibilityKinds.model_validate(json.loads(chosen.read_text(encoding="utf-8")))


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
    responsibility_kinds: ResponsibilityKinds = Field(default_factory=load_kinds)
    """The shipped catalogue (``data/responsibility_kinds.json``) unless the file sets its own."""

    def measure_label(self, code: str) -> str:
        """The Chinese name of a measure code."""
        rule = self.measures.get(code)
        return rule.label if rule else code


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in ``path``, else the shipped ones (read when the service starts)."""
    chosen = Path(path or DEFAULT_FILE)
    return Rules.model_validate(json.loads(chosen.read_text(encoding="utf-8")))
