"""A rule: its code (a SQL query over the feed tables) and its data (versioned parameters).

The code says *how* a finding is recognised; the parameters — thresholds, windows,
distances, categories, the level and the problem category — are data an operator
changes through the API, each change a new version (see ``data/rules.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from libs.events.contracts.analysis import AlertLevel
from libs.kit.refusal import Refused

DEFAULTS_FILE = Path(__file__).resolve().parents[1] / "data" / "rules.json"


@dataclass(frozen=True)
class RuleCode:
    """How one rule finds things."""

    rule_id: str
    source: str
    """The kind of data it mostly rests on; alerts from different sources correlate."""
    inputs: tuple[str, ...]
    """Feed kinds whose arrival makes it run."""
    sql: str
    margin_days: int = 1
    """How far around a batch's period it must look (month rules look a month)."""


@dataclass(frozen=True)
class RuleDefaults:
    """A rule's shipped data: what version 1 holds."""

    rule_id: str
    title: str
    level: AlertLevel
    category: str
    params: dict[str, Any]


@dataclass(frozen=True)
class RuleVersion:
    """One version of a rule's data, as published."""

    rule_id: str
    version: int
    params: dict[str, Any]
    level: AlertLevel
    category: str
    enabled: bool
    reason: str
    published_by: str
    published_at: datetime


def load_defaults(path: Path = DEFAULTS_FILE) -> tuple[dict[str, RuleDefaults], dict[str, Any]]:
    """The rules' shipped parameters and the correlation settings, from the data file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    rules = {
        r["id"]: RuleDefaults(
            r["id"], r["title"], AlertLevel(r["level"]), r["category"], dict(r["params"])
        )
        for r in doc["rules"]
    }
    return rules, doc["correlation"]


class ParamError(Refused):
    """A parameter change that does not fit the rule."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            "invalid-rule-parameter",
            f"{field}: {reason}",
            field=field,
            title="规则参数不符合要求",
            reason=reason,
        )


def coerce_params(defaults: dict[str, Any], proposed: dict[str, Any]) -> dict[str, Any]:
    """The proposed values checked against the types of the shipped ones."""
    out = dict(defaults)
    for name, value in proposed.items():
        if name not in defaults:
            raise ParamError(f"params.{name}", f"没有该参数，可选：{'、'.join(defaults)}")
        model = defaults[name]
        where = f"params.{name}"
        if isinstance(model, bool):
            if not isinstance(value, bool):
                raise ParamError(where, "应为 true 或 false")
        elif isinstance(model, int):
            if isinstance(value, bool) or not (
                isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            ):
                raise ParamError(where, "应为整数")
            value = int(value)
            if value < 0:
                raise ParamError(where, "不得为负数")
        elif isinstance(model, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(where, "应为数字")
            value = float(value)
        elif isinstance(model, str):
            if not isinstance(value, str) or not value:
                raise ParamError(where, "应为非空文本")
        elif isinstance(model, list):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ParamError(where, "应为文本列表")
        out[name] = value
    return out
