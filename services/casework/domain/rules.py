"""Time limits and checklists as data (``services/casework/data``), loaded once at start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from libs.events import taxonomy
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
    )
