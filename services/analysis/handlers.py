"""What analysis does with other services' events."""

from __future__ import annotations

from libs.events.consumer import Handler, appending_handler
from libs.events.contracts.intake import ClueReceived
from libs.events.store import EventStore
from services.analysis.domain import note_subjects


def make_handler(store: EventStore) -> Handler:
    """Every received clue adds its subjects to the subject index."""
    return appending_handler(store, ClueReceived, note_subjects, actor="service:analysis")
