"""A received clue enters the ledger (线索台账)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.casework import ClueRegistered
from libs.events.contracts.intake import ClueReceived
from services.casework.domain.state import ClueStatus

__all__ = ["ClueRegistered", "ClueStatus", "clue_fields", "clue_stream", "register_clue"]


def clue_stream(clue_id: UUID) -> str:
    """Casework's stream for a clue."""
    return f"clue-{clue_id}"


def clue_fields(received: ClueReceived) -> dict[str, Any]:
    """What casework's ledger takes from intake's ``ClueReceived``: what ``ClueRegistered``
    records of it (everything but the ledger's own status)."""
    return received.model_dump(include=set(ClueRegistered.model_fields) - {"status"})


def register_clue(history: list[Event], received: ClueReceived) -> list[Event]:
    """Register a received clue once; a clue already in the ledger changes nothing."""
    if any(isinstance(e, ClueRegistered) for e in history):
        return []
    return [ClueRegistered(status=ClueStatus.PENDING_DISPOSAL, **clue_fields(received))]
