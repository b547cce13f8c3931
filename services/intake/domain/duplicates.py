"""重复件: a new clue on the same matter joins the existing clue as a repeat report.

Pure: which existing clue a new one repeats, the priority repeats raise, and what a
merge or a split records. Whether two reports are the same matter is decided by data
(``services/intake/data/duplicates.json``): the same person — by the keyed blind index of
their ID number, or of name and unit — and at least one shared problem category, within
a window counted from the existing clue's receipt. Persons are compared by blind index
only; plain names and ID numbers never reach this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueMerged, ClueReceived, ClueSplit
from libs.kit.refusal import Refused

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "duplicates.json"
MATCHES = ("id_number", "name_unit")


@dataclass(frozen=True)
class PriorityLevel:
    """A priority a clue reaches at ``points`` (urgency points + points per repeat)."""

    points: int
    level: str
    label: str


@dataclass(frozen=True)
class DuplicateRules:
    """When a new clue is a repeat report, and how repeats raise priority (data)."""

    version: str
    window_days: int
    match_on: frozenset[str]
    min_overlapping_categories: int
    urgency_points: dict[str, int]
    points_per_repeat: int
    levels: tuple[PriorityLevel, ...]

    def label(self, level: str) -> str:
        """The Chinese label of a priority level."""
        return next((p.label for p in self.levels if p.level == level), level)


def load_rules(path: Path = DEFAULT_RULES) -> DuplicateRules:
    """Read the duplicate rules; a file that does not make sense is refused at start."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    match_on = frozenset(raw["match_on"])
    if not match_on or not match_on <= set(MATCHES):
        raise ValueError(f"{path}: match_on must name some of {', '.join(MATCHES)}")
    if int(raw["window_days"]) < 0 or int(raw["min_overlapping_categories"]) < 1:
        raise ValueError(f"{path}: window_days >= 0 and min_overlapping_categories >= 1")
    priority = raw["priority"]
    levels = tuple(
        sorted(
            (PriorityLevel(int(p["from"]), p["level"], p["label"]) for p in priority["levels"]),
            key=lambda p: p.points,
        )
    )
    if not levels or levels[0].points != 0:
        raise ValueError(f"{path}: the first priority level must start at 0 points")
    return DuplicateRules(
        version=str(raw["version"]),
        window_days=int(raw["window_days"]),
        match_on=match_on,
        min_overlapping_categories=int(raw["min_overlapping_categories"]),
        urgency_points={k: int(v) for k, v in priority["urgency_points"].items()},
        points_per_repeat=int(priority["points_per_repeat"]),
        levels=levels,
    )


@dataclass(frozen=True)
class PersonKeys:
    """A reported person as duplicates see them: blind indexes, never plain values."""

    name_unit: str
    """Keyed hash of name and unit (always known)."""
    id_number: str | None = None
    """Keyed hash of the ID number, when the source gave one."""


@dataclass(frozen=True)
class Candidate:
    """An existing clue a new one might repeat."""

    clue_id: UUID
    received_at: datetime
    categories: tuple[str, ...]
    persons: tuple[PersonKeys, ...]


@dataclass(frozen=True)
class Match:
    """The existing clue a new one repeats, and why."""

    clue_id: UUID
    matched_on: tuple[str, ...]
    overlapping_categories: tuple[str, ...]


def same_person(a: PersonKeys, b: PersonKeys, rules: DuplicateRules) -> str | None:
    """How two persons are the same (``id_number`` / ``name_unit``), or None.

    Two different ID numbers are two people even with the same name in the same unit.
    """
    if a.id_number and b.id_number:
        return "id_number" if "id_number" in rules.match_on and a.id_number == b.id_number else None
    if "name_unit" in rules.match_on and a.name_unit == b.name_unit:
        return "name_unit"
    return None


def find_original(
    persons: Sequence[PersonKeys],
    categories: Sequence[str],
    now: datetime,
    candidates: Iterable[Candidate],
    rules: DuplicateRules,
) -> Match | None:
    """The existing clue a new report repeats: the earliest one within the window."""
    since = now - timedelta(days=rules.window_days)
    wanted = list(dict.fromkeys(categories))
    matches = []
    for c in candidates:
        if not since <= c.received_at <= now:
            continue
        overlap = tuple(code for code in wanted if code in c.categories)
        if len(overlap) < rules.min_overlapping_categories:
            continue
        how = {m for p in persons for q in c.persons if (m := same_person(p, q, rules))}
        if how:
            matched = tuple(m for m in MATCHES if m in how)
            matches.append((c.received_at, str(c.clue_id), Match(c.clue_id, matched, overlap)))
    return min(matches, key=lambda m: (m[0], m[1]))[2] if matches else None


def priority(urgency: str, repeat_count: int, rules: DuplicateRules) -> str:
    """The priority of a clue of this urgency with this many repeat reports."""
    points = rules.urgency_points.get(urgency, 0) + rules.points_per_repeat * repeat_count
    return [p.level for p in rules.levels if p.points <= points][-1]


@dataclass(frozen=True)
class Repeats:
    """An existing clue's repeat reports, folded from its stream."""

    clue_id: UUID | None = None
    urgency: str = "normal"
    merged: dict[UUID, ClueMerged] = field(default_factory=dict)
    """Repeat reports still merged, by repeat id."""
    split: dict[UUID, ClueSplit] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """重复次数: repeat reports currently merged into the clue."""
        return len(self.merged)


def evolve(state: Repeats, event: Event) -> Repeats:
    """The repeats after one event of the clue's stream."""
    if isinstance(event, ClueReceived):
        return replace(state, clue_id=event.clue_id, urgency=event.urgency)
    if isinstance(event, ClueMerged):
        return replace(state, merged={**state.merged, event.repeat_id: event})
    if isinstance(event, ClueSplit):
        merged = {k: v for k, v in state.merged.items() if k != event.repeat_id}
        return replace(state, merged=merged, split={**state.split, event.repeat_id: event})
    return state


def fold(events: Iterable[Event]) -> Repeats:
    """Replay a clue's stream into its repeats."""
    state = Repeats()
    for event in events:
        state = evolve(state, event)
    return state


def merge(
    repeat: ClueReceived, into: Repeats, match: Match, rules: DuplicateRules, now: datetime
) -> ClueMerged:
    """What merging a repeat report records on the existing clue (the repeat kept whole)."""
    assert into.clue_id is not None, "merge into a received clue"
    count = into.count + 1
    return ClueMerged(
        clue_id=into.clue_id,
        repeat_id=repeat.clue_id,
        repeat_count=count,
        source_kind=repeat.source_kind,
        source_department=repeat.source_department,
        source_reference=repeat.source_reference,
        merged_at=now,
        repeat_number=repeat.clue_number,
        priority=priority(into.urgency, count, rules),
        matched_on=list(match.matched_on),
        overlapping_categories=list(match.overlapping_categories),
        rules_version=rules.version,
        received_at=repeat.received_at,
        **repeat.content_fields(),
    )


class SplitRefused(Refused):
    """A split that cannot be made; ``code`` says why (``not-a-repeat``, ``already-split``)."""


def _already_split(repeat_id: UUID) -> SplitRefused:
    return SplitRefused(
        "already-split",
        f"重复件 {repeat_id} 已经拆分出去。",
        kind="conflict",
        title="已拆分",
    )


def _not_a_repeat(repeat_id: UUID, clue_id: UUID | None) -> SplitRefused:
    return SplitRefused(
        "not-a-repeat",
        f"{repeat_id} 不是本线索的重复件。",
        kind="missing",
        field="repeat_id",
        reason=f"不是线索 {clue_id} 的重复件",
        title="重复件不存在",
    )


def split(
    state: Repeats,
    repeat_id: UUID,
    *,
    reason: str,
    by: str,
    now: datetime,
    rules: DuplicateRules,
) -> tuple[ClueSplit, ClueReceived]:
    """拆分: undo a wrong merge. The repeat becomes a clue of its own, with its own id and
    number and the content it came with; the existing clue's count and priority go back."""
    if repeat_id in state.split:
        raise _already_split(repeat_id)
    merged = state.merged.get(repeat_id)
    if merged is None or state.clue_id is None:
        raise _not_a_repeat(repeat_id, state.clue_id)
    count = state.count - 1
    return (
        ClueSplit(
            clue_id=state.clue_id,
            repeat_id=repeat_id,
            new_clue_id=repeat_id,
            new_clue_number=merged.repeat_number,
            repeat_count=count,
            reason=reason,
            split_by=by,
            split_at=now,
            priority=priority(state.urgency, count, rules),
        ),
        ClueReceived(
            clue_id=repeat_id,
            clue_number=merged.repeat_number,
            source_kind=merged.source_kind,
            source_department=merged.source_department,
            source_reference=merged.source_reference,
            received_at=merged.received_at or merged.merged_at,
            **merged.content_fields(),
        ),
    )
