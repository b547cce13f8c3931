"""What accountability does with other services' events."""

from __future__ import annotations

from libs.events.consumer import Handler, appending_handler
from libs.events.contracts.intake import ClueReceived
from libs.events.store import EventStore
from services.accountability.domain import note_units


def make_handler(store: EventStore) -> Handler:
    """Every received clue is counted against the units of its subjects."""
    return appending_handler(store, ClueReceived, note_units, actor="service:accountability")
