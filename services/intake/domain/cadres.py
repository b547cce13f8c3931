"""干部管理权限: whose a reported person is by the rank and post they hold, as data. Pure.

Jurisdiction follows cadre management, not only the unit: a 市管干部 (in the national
default, 县处级副职 and above) working in a county unit is the city commission's, not the
county's. The rules file (``services/intake/data/cadre_management.json``; a deployment names
its own with ``ZF_INTAKE_CADRE_RULES_FILE``) lists

* ``ranks``: the rank ladder, highest first, each with the aliases sources write
  (正处级, 正县级 … → ``county_chief``);
* ``rules``: checked in order, the first that matches decides. A rule may ask for a minimum
  rank (``min_rank``), for 一把手 (``top_leader``) and/or 关键少数 (``key_minority``); all
  it asks for must hold. It names the body (``authority``) the cadre's matters go to;
* ``otherwise``: what everyone else is (县管干部) — their unit decides, as before.

A person whose rank is not stated is judged by their unit alone; a rank the ladder does
not know is never guessed: the clue waits for a clerk (管辖待定).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.intake.domain.jurisdiction import RegistryError, normal_unit

DEFAULT_CADRE_RULES = Path(__file__).resolve().parent.parent / "data" / "cadre_management.json"
UNRECOGNISED_RANK = "unrecognised_rank"


@dataclass(frozen=True)
class Rank:
    """One step of the rank ladder (级别)."""

    code: str
    label: str
    order: int
    """0 is the highest."""


@dataclass(frozen=True)
class ManagementRule:
    """One line of 干部管理权限: who matches it and which body manages them."""

    code: str
    label: str
    authority: str | None = None
    min_rank: Rank | None = None
    top_leader: bool = False
    key_minority: bool = False

    def matches(self, rank: Rank | None, top_leader: bool, key_minority: bool) -> bool:
        """Whether a person with these markers falls under the rule."""
        if self.min_rank is not None and (rank is None or rank.order > self.min_rank.order):
            return False
        if self.top_leader and not top_leader:
            return False
        return not (self.key_minority and not key_minority)


@dataclass(frozen=True)
class Management:
    """What the rules say about one person: the rule that matched, and the rank read."""

    code: str
    """A rule's code, ``otherwise``'s code, or ``unrecognised_rank``."""
    label: str
    authority: str | None = None
    rank: Rank | None = None


@dataclass(frozen=True)
class CadreRules:
    """The deployment's 干部管理权限, loaded once at start; ``version`` names the data."""

    version: str
    ranks: tuple[Rank, ...]
    rules: tuple[ManagementRule, ...]
    otherwise: ManagementRule
    aliases: dict[str, Rank]

    def rank(self, text: str | None) -> Rank | None:
        """The ladder step a source's rank string names, if any."""
        return self.aliases.get(normal_unit(text)) if text else None

    def manage(
        self, rank: str | None, *, top_leader: bool = False, key_minority: bool = False
    ) -> Management:
        """Who manages a person of this rank and these markers (first matching rule)."""
        step = self.rank(rank)
        if rank and step is None:
            return Management(UNRECOGNISED_RANK, f"级别「{rank}」无法识别")
        for rule in self.rules:
            if rule.matches(step, top_leader, key_minority):
                return Management(rule.code, rule.label, rule.authority, step)
        return Management(self.otherwise.code, self.otherwise.label, None, step)


def parse_cadre_rules(document: dict[str, Any], source: str = "cadre rules") -> CadreRules:
    """Rules from the JSON shape of ``cadre_management.json``; a bad entry names its field."""

    def bad(where: str, reason: str) -> RegistryError:
        return RegistryError(f"{source}, {where}: {reason}")

    ranks: list[Rank] = []
    aliases: dict[str, Rank] = {}
    for i, item in enumerate(document.get("ranks") or []):
        step = Rank(code=item["code"], label=item["label"], order=i)
        ranks.append(step)
        for alias in (item["label"], *item.get("aliases", [])):
            key = normal_unit(alias)
            if key in aliases and aliases[key] != step:
                raise bad(f"ranks[{i}].aliases", f"{alias!r} already names {aliases[key].code}")
            aliases[key] = step
    by_code = {r.code: r for r in ranks}
    rules: list[ManagementRule] = []
    for i, item in enumerate(document.get("rules") or []):
        floor = item.get("min_rank")
        if floor is not None and floor not in by_code:
            raise bad(f"rules[{i}].min_rank", f"{floor!r} is not a rank of the ladder")
        if not (floor or item.get("top_leader") or item.get("key_minority")):
            raise bad(f"rules[{i}]", "a rule must ask for min_rank, top_leader or key_minority")
        if not item.get("authority"):
            raise bad(f"rules[{i}].authority", "a rule must name the body that manages")
        rules.append(
            ManagementRule(
                code=item["code"],
                label=item["label"],
                authority=item["authority"],
                min_rank=by_code[floor] if floor else None,
                top_leader=bool(item.get("top_leader", False)),
                key_minority=bool(item.get("key_minority", False)),
            )
        )
    rest = document.get("otherwise") or {"code": "own_managed", "label": "本级管理干部"}
    return CadreRules(
        version=str(document.get("version", "")),
        ranks=tuple(ranks),
        rules=tuple(rules),
        otherwise=ManagementRule(code=rest["code"], label=rest["label"]),
        aliases=aliases,
    )


def load_cadre_rules(path: str | None = None) -> CadreRules:
    """The deployment's rules: ``path`` or the shipped national default (read at start)."""
    chosen = Path(path) if path else DEFAULT_CADRE_RULES
    try:
        document = json.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RegistryError(f"{chosen}: cannot read the cadre management rules ({err})") from err
    return parse_cadre_rules(document, str(chosen))


NO_CADRE_RULES = CadreRules("", (), (), ManagementRule("own_managed", "本级管理干部"), {})
"""No rules: every person is judged by their unit (the registry alone)."""
