"""The rule catalogue: every rule's code, keyed by id."""

from __future__ import annotations

from services.analysis.rules import fuel, paperwork, vehicle
from services.analysis.rules.base import RuleCode

CATALOGUE: dict[str, RuleCode] = {
    r.rule_id: r for r in (*fuel.RULES, *vehicle.RULES, *paperwork.RULES)
}
