"""Units: stable keys and streams, and the clues counted against them."""

from __future__ import annotations

import hashlib
from uuid import UUID

from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ClueReceived


@registry.register
class UnitNamedInClue(Event):
    """A unit had a clue about one of its people; recurrence per unit triggers inquiries later."""

    type_name = "zhengfeng.accountability.unit_named_in_clue"
    version = 1

    unit_key: str
    unit: str
    clue_id: UUID
    categories: list[str]


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
                unit_key=key, unit=unit, clue_id=received.clue_id, categories=received.categories
            )
        ]
    return out
