"""Time limits and checklists as data (``services/casework/data``), loaded once at start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from libs.events import measures, taxonomy
from libs.kit.workdays import Period, WorkCalendar
from libs.kit.workdays import load as load_calendar

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class InvestigationKind:
    """A kind of case (纪律审查, 监察调查): which limit its investigation runs under, counted
    from 立案, and how often and by how much it may be extended."""

    code: str
    label: str
    limit: str
    extension: str
    extensions_max: int = 1


DEFAULT_INVESTIGATION = "discipline_review"
"""纪律审查: the kind of a case filed without one (and of every case filed before kinds)."""


@dataclass(frozen=True)
class Limits:
    """时限: every limit by kind, with how many extensions are allowed."""

    periods: dict[str, Period]
    approaching: Period
    investigation_extensions_max: int = 1
    review_extensions_max: int = 1
    preliminary_verification_extensions_max: int = 1
    visits_per_year: int = 2
    version: str = ""
    investigation_kinds: dict[str, InvestigationKind] = field(default_factory=dict)
    variant: str = ""
    """The local variant chosen (``variants`` in the file), empty for the file's defaults."""

    def __getitem__(self, kind: str) -> Period:
        return self.periods[kind]

    def investigation(self, kind: str | None) -> InvestigationKind:
        """The rules of a kind of case (纪律审查 when none was given)."""
        code = kind or DEFAULT_INVESTIGATION
        if code in self.investigation_kinds:
            return self.investigation_kinds[code]
        return InvestigationKind(
            code,
            "纪律审查",
            "investigation",
            "investigation_extension",
            self.investigation_extensions_max,
        )


@dataclass(frozen=True)
class Rules:
    """Everything ``decide`` needs besides the state and the command: data, not code."""

    limits: Limits
    calendar: WorkCalendar
    checklist: tuple[tuple[str, str], ...]
    """七必问: (code, label) of each question a dining case must answer."""
    dining_categories: frozenset[str] = field(default_factory=frozenset)
    measures: measures.Catalogue = field(default_factory=measures.load)
    """处分处置措施目录: which measures exist and to which 形态 each belongs."""
    follow_up_forms: frozenset[int] = frozenset({2, 3})
    """回访教育 before 销号 for these forms only (``data/follow_up.json``)."""

    def checklist_applies(self, categories: list[str]) -> bool:
        """Whether a matter of these categories must answer the 七必问 (a dining case)."""
        return bool(set(categories) & self.dining_categories)


def read_limits(path: Path = DATA / "limits.json", variant: str | None = None) -> Limits:
    """Limits from their JSON file; ``variant`` names one of its ``variants`` (local rules,
    e.g. 初步核实 in 15 working days) laid over the file's defaults."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    version = str(doc.get("version", ""))
    if variant:
        variants = doc.get("variants", {})
        if variant not in variants:
            known = "、".join(variants) or "无"
            raise ValueError(f"时限文件 {path} 中没有地方规则「{variant}」（可选：{known}）")
        over = variants[variant]
        doc = {**doc, **{k: v for k, v in over.items() if k not in ("limits", "label")}}
        doc["limits"] = {**doc["limits"], **over.get("limits", {})}
        version = f"{version}+{variant}"
    kinds = {
        code: InvestigationKind(
            code=code,
            label=str(k["label"]),
            limit=str(k["limit"]),
            extension=str(k["extension"]),
            extensions_max=int(k.get("extensions_max", 1)),
        )
        for code, k in doc.get("investigation_kinds", {}).items()
    }
    return Limits(
        periods={k: Period.parse(v) for k, v in doc["limits"].items()},
        investigation_extensions_max=int(doc.get("investigation_extensions_max", 1)),
        review_extensions_max=int(doc.get("review_extensions_max", 1)),
        preliminary_verification_extensions_max=int(
            doc.get("preliminary_verification_extensions_max", 1)
        ),
        approaching=Period.parse(doc.get("approaching", "3 working_days")),
        visits_per_year=int(doc.get("visits_per_year", 2)),
        version=version,
        investigation_kinds=kinds,
        variant=variant or "",
    )


def read_checklist(path: Path = DATA / "seven_questions.json") -> tuple[tuple[str, str], ...]:
    """The 七必问 questions."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return tuple((q["code"], q["label"]) for q in doc["questions"])


def read_follow_up_forms(path: Path = DATA / "follow_up.json") -> frozenset[int]:
    """The forms whose cases are visited (回访教育) before 销号."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    forms = frozenset(int(f) for f in doc["forms"])
    if 4 in forms:
        raise ValueError("第四种形态移送司法，不进行回访教育")
    return forms


@cache
def load(
    limits_file: str | None = None,
    checklist_file: str | None = None,
    workday_overrides_file: str | None = None,
    limits_variant: str | None = None,
) -> Rules:
    """The deployment's rules (shipped files unless others are named; ``limits_variant``
    picks one of the limits file's local variants)."""
    tax = taxonomy.load()
    return Rules(
        limits=read_limits(
            Path(limits_file) if limits_file else DATA / "limits.json", limits_variant or None
        ),
        calendar=load_calendar(workday_overrides_file or None),
        checklist=read_checklist(
            Path(checklist_file) if checklist_file else DATA / "seven_questions.json"
        ),
        dining_categories=frozenset(c.code for c in tax.categories.values() if c.dining),
        measures=measures.load(),
        follow_up_forms=read_follow_up_forms(),
    )
