"""Casework's decisions, pure. For now: a received clue enters the ledger (线索台账)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.casework import ClueRegistered
from libs.events.contracts.intake import ClueReceived

__all__ = ["ClueRegistered", "ClueStatus", "clue_stream", "register_clue"]


class ClueStatus(StrEnum):
    """Where a clue stands in casework."""

    PENDING_DISPOSAL = "pending_disposal"

    @property
    def label(self) -> str:
        """What a clerk reads."""
        return {"pending_disposal": "待处置"}[self.value]


def clue_stream(clue_id: UUID) -> str:
    """Casework's stream for a clue."""
    return f"clue-{clue_id}"


def register_clue(history: list[Event], received: ClueReceived) -> list[Event]:
    """Register a received clue once; a clue already in the ledger changes nothing."""
    if any(isinstance(e, ClueRegistered) for e in history):
        return []
    fields: dict[str, Any] = received.model_dump(
        include={
            "clue_id",
            "clue_number",
            "source_kind",
            "source_department",
            "source_reference",
            "reported_persons",
            "categories",
            "narrative",
            "received_at",
        }
    )
    return [ClueRegistered(status=ClueStatus.PENDING_DISPOSAL, **fields)]
