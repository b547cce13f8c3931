"""廉政档案 and 党风廉政意见回复, pure.

A cadre's integrity record is folded from the facts accountability noted about them (by
their pseudonym, never their name): decisions and their 复审/复核 revisions, cases filed and
closed, clues naming them and how each was disposed of (函询 and its outcome), names
cleared. The reply to the organisation department says only what the rules allow
(``data/integrity.json``): a sanction while its 影响期 runs — the periods come from the
measures catalogue (``libs/events/measures``) — matters still under 核查 or 审查调查, and names
cleared, marked as such; a sanction past its period is not mentioned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from libs.events.measures import Catalogue
from libs.kit.workdays import add_months

DATA = Path(__file__).resolve().parent.parent / "data" / "integrity.json"


@dataclass(frozen=True)
class Fact:
    """One thing noted about a cadre (a row of the 廉政档案's read model)."""

    kind: str
    """``decision``, ``revision``, ``case_filed``, ``case_closed``, ``reported``,
    ``disposal``, ``name_cleared``."""
    at: datetime
    case_id: str | None = None
    case_number: str | None = None
    form: int | None = None
    measures: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)
    """``clue_id``, ``clue_number``, ``method``, ``outcome`` of a clue and its disposal."""


@dataclass(frozen=True)
class Entry:
    """One line of the 廉政档案: a matter and where it stands on the day asked."""

    kind: str
    """``sanction``, ``case``, ``clue``, ``cleared``."""
    status: str
    """sanction: ``in_effect`` / ``expired`` / ``no_period``; case or clue: ``open`` /
    ``closed``; ``cleared``."""
    at: date
    reference: str
    text: str
    until: date | None = None
    measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntegrityRules:
    """What a reply may say and in which words (data)."""

    version: str
    say: Mapping[str, bool]
    """Per ``{kind}.{status}`` of an entry: whether a reply states it."""
    conclusions: Mapping[str, str]
    """``pending`` / ``in_effect`` / ``no_finding`` -> the reply's conclusion sentence."""
    conclusion_labels: Mapping[str, str]
    """The same codes as a list names them (暂缓, 处分尚在影响期内, 未发现问题)."""
    open_dispositions: frozenset[str]
    """Disposal outcomes after which a clue is still being looked into (谈话函询, 初核…)."""
    closing_dispositions: Mapping[str, str]
    """Disposal outcomes that close a clue, with the words a record uses (予以了结…)."""


def load_integrity_rules(path: str | None = None) -> IntegrityRules:
    """The deployment's rules (the shipped ``data/integrity.json`` by default)."""
    raw = json.loads(Path(path or DATA).read_text(encoding="utf-8"))
    return IntegrityRules(
        version=str(raw["version"]),
        say=dict(raw["say"]),
        conclusions=dict(raw["conclusions"]),
        conclusion_labels=dict(raw["conclusion_labels"]),
        open_dispositions=frozenset(raw["open_dispositions"]),
        closing_dispositions=dict(raw["closing_dispositions"]),
    )


def _day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _sanction(
    decided: Fact, in_force: Fact, catalogue: Catalogue, today: date, tz: ZoneInfo
) -> Entry:
    """A decision (as its latest revision left it) and whether its 影响期 still runs."""
    on = _day(decided.at, tz)
    ends: list[date] = []
    running = False
    for code in in_force.measures:
        measure = catalogue.get(code)
        if measure is None:
            continue
        running |= measure.in_effect_on(on, today)
        if measure.effect_months is not None and not measure.permanent:
            ends.append(add_months(on, measure.effect_months))
    has_period = any(
        (m := catalogue.get(c)) is not None and (m.permanent or m.effect_months is not None)
        for c in in_force.measures
    )
    status = "in_effect" if running else ("expired" if has_period else "no_period")
    labels = catalogue.labels(in_force.measures)
    text = f"{on.year}年{on.month}月{on.day}日受到{labels}"
    if status == "in_effect":
        text += f"，影响期至{max(ends).isoformat()}" if ends else "（无期限）"
    return Entry(
        "sanction",
        status,
        on,
        decided.case_number or "",
        text,
        until=max(ends) if ends else None,
        measures=in_force.measures,
    )


def record(
    facts: Iterable[Fact], catalogue: Catalogue, today: date, tz: ZoneInfo, rules: IntegrityRules
) -> list[Entry]:
    """The 廉政档案 on ``today``: every sanction with whether its 影响期 runs, every case and
    clue with whether it is still open, every name cleared — oldest first."""
    ordered = sorted(facts, key=lambda f: f.at)
    decisions: dict[str, Fact] = {}
    in_force: dict[str, Fact] = {}
    cases: dict[str, Fact] = {}
    closed: set[str] = set()
    clues: dict[str, Fact] = {}
    disposals: dict[str, Fact] = {}
    cleared: list[Fact] = []
    for f in ordered:
        key = f.case_id or ""
        if f.kind == "decision":
            decisions.setdefault(key, f)
            in_force[key] = f
        elif f.kind == "revision":
            in_force[key] = f
        elif f.kind == "case_filed":
            cases.setdefault(key, f)
        elif f.kind == "case_closed":
            closed.add(key)
        elif f.kind == "reported":
            clues.setdefault(str(f.detail.get("clue_id")), f)
        elif f.kind == "disposal":
            disposals[str(f.detail.get("clue_id"))] = f
        elif f.kind == "name_cleared":
            cleared.append(f)
    entries = [_sanction(d, in_force[k], catalogue, today, tz) for k, d in decisions.items()]
    for k, f in cases.items():
        done = k in closed or k in decisions
        entries.append(
            Entry(
                "case",
                "closed" if done else "open",
                _day(f.at, tz),
                f.case_number or "",
                "已立案审查调查" + ("，已办结" if done else "，尚未办结"),
            )
        )
    for clue_id, f in clues.items():
        disposal = disposals.get(clue_id)
        outcome = str(disposal.detail.get("outcome")) if disposal else ""
        method = str(disposal.detail.get("method")) if disposal else ""
        if disposal is None:
            status, text = "open", "有反映问题线索，尚在处置中"
        elif outcome in rules.closing_dispositions:
            status, text = "closed", f"反映问题线索经处置，{rules.closing_dispositions[outcome]}"
        elif outcome in rules.open_dispositions or method in rules.open_dispositions:
            status = "open"
            text = (
                "有反映问题线索，正在谈话函询"
                if method == "talk_or_inquiry"
                else "有反映问题线索，正在核查"
            )
        else:
            status, text = "closed", "反映问题线索已处置"
        number = str(f.detail.get("clue_number") or "")
        entries.append(Entry("clue", status, _day(f.at, tz), number, text))
    for f in cleared:
        entries.append(
            Entry(
                "cleared",
                "cleared",
                _day(f.at, tz),
                f.case_number or str(f.detail.get("clue_number") or ""),
                "经核查，反映的问题不属实，已予以澄清正名",
            )
        )
    return sorted(entries, key=lambda e: (e.at, e.kind))


def reply(entries: Sequence[Entry], rules: IntegrityRules) -> tuple[list[Entry], str]:
    """What a 党风廉政意见回复 says: the entries the rules allow, and its conclusion
    (``pending`` while anything is still looked into, ``in_effect`` while a sanction's
    影响期 runs, otherwise ``no_finding``)."""
    said = [e for e in entries if rules.say.get(f"{e.kind}.{e.status}", False)]
    if any(e.status == "open" for e in said):
        return said, "pending"
    if any(e.status == "in_effect" for e in said):
        return said, "in_effect"
    return said, "no_finding"
