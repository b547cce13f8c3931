"""Units: stable keys and streams, and the clues and repeat reports counted against them."""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID

from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ClueMerged, ClueReceived


@registry.register
class UnitNamedInClue(Event):
    """A unit had a clue about one of its people: recurrence per unit, and 信访 volume in its
    rating (动态评估: 信访及重复举报)."""

    type_name = "zhengfeng.accountability.unit_named_in_clue"
    version = 2

    unit_key: str
    unit: str
    clue_id: UUID
    categories: list[str]
    source_kind: str | None = None
    """How the clue came in (``public_report`` 信访举报, ``partner_transfer``, …); since v2."""
    received_at: datetime | None = None
    """When intake received it (the rating window counts from it); since v2."""


@registry.upcaster(UnitNamedInClue.type_name, from_version=1)
def _clue_source_unknown_before_v2(data: dict[str, object]) -> dict[str, object]:
    # v1 noted neither the source nor the time: such a note stays, and counts for
    # recurrence as before, but a rating cannot place it in its window (see rating.py).
    return data


@registry.register
class RepeatReportNoted(Event):
    """重复件: intake merged another report of the same matter into a clue about the unit."""

    type_name = "zhengfeng.accountability.repeat_report_noted"
    version = 1

    unit_key: str
    unit: str
    clue_id: UUID
    repeat_id: UUID
    repeat_count: int
    """Repeat reports on the clue after this one, as intake counted them."""
    source_kind: str
    merged_at: datetime


@registry.register
class RepeatReportSplitNoted(Event):
    """A clerk undid a wrong merge: the report is a clue of its own, no longer a repeat."""

    type_name = "zhengfeng.accountability.repeat_report_split_noted"
    version = 1

    unit: str
    clue_id: UUID
    repeat_id: UUID
    split_at: datetime


def unit_key(unit: str) -> str:
    """Stable key of a unit name."""
    return hashlib.sha256(unit.strip().encode()).hexdigest()[:24]


def unit_stream(key: str) -> str:
    """The stream of one unit."""
    return f"unit-{key}"


def note_units(received: ClueReceived) -> dict[str, list[Event]]:
    """Per unit stream, the event a received clue adds (once per unit)."""
    out: dict[str, list[Event]] = {}
    for unit in dict.fromkeys(p.unit for p in received.reported_persons):
        key = unit_key(unit)
        out[unit_stream(key)] = [
            UnitNamedInClue(
                unit_key=key,
                unit=unit,
                clue_id=received.clue_id,
                categories=received.categories,
                source_kind=received.source_kind,
                received_at=received.received_at,
            )
        ]
    return out


def note_repeats(merged: ClueMerged) -> dict[str, RepeatReportNoted]:
    """Per unit the repeat report names, the note it adds (once per unit)."""
    out: dict[str, RepeatReportNoted] = {}
    for unit in dict.fromkeys(p.unit for p in merged.reported_persons):
        out[unit] = RepeatReportNoted(
            unit_key=unit_key(unit),
            unit=unit,
            clue_id=merged.clue_id,
            repeat_id=merged.repeat_id,
            repeat_count=merged.repeat_count,
            source_kind=merged.source_kind,
            merged_at=merged.merged_at,
        )
    return out
