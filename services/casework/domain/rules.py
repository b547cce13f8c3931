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
class Limits:
    """时限: every limit by kind, with how many extensions are allowed."""

    periods: dict[str, Period]
    approaching: Period
    investigation_extensions_max: int = 1
    review_extensions_max: int = 1
    visits_per_year: int = 2
    version: str = ""

    def __getitem__(self, kind: str) -> Period:
        return self.periods[kind]


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


def read_limits(path: Path = DATA / "limits.json") -> Limits:
    """Limits from their JSON file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Limits(
        periods={k: Period.parse(v) for k, v in doc["limits"].items()},
        investigation_extensions_max=int(doc.get("investigation_extensions_max", 1)),
        review_extensions_max=int(doc.get("review_extensions_max", 1)),
        approaching=Period.parse(doc.get("approaching", "3 working_days")),
        visits_per_year=int(doc.get("visits_per_year", 2)),
        version=str(doc.get("version", "")),
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
) -> Rules:
    """The deployment's rules (shipped files unless others are named)."""
    tax = taxonomy.load()
    return Rules(
        limits=read_limits(Path(limits_file) if limits_file else DATA / "limits.json"),
        calendar=load_calendar(workday_overrides_file or None),
        checklist=read_checklist(
            Path(checklist_file) if checklist_file else DATA / "seven_questions.json"
        ),
        dining_categories=frozenset(c.code for c in tax.categories.values() if c.dining),
        measures=measures.load(),
        follow_up_forms=read_follow_up_forms(),
    )
