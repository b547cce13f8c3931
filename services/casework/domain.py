"""Casework's decisions, pure. For now: a received clue enters the ledger (线索台账)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ClueReceived, ReportedPerson


class ClueStatus(StrEnum):
    """Where a clue stands in casework."""

    PENDING_DISPOSAL = "pending_disposal"

    @property
    def label(self) -> str:
        """What a clerk reads."""
        return {"pending_disposal": "待处置"}[self.value]


@registry.register
class ClueRegistered(Event):
    """线索登记: casework took a clue into its ledger, pending disposal."""

    type_name = "zhengfeng.casework.clue_registered"
    version = 1

    clue_id: UUID
    clue_number: str
    status: ClueStatus
    source_kind: str
    source_department: str | None
    source_reference: str | None
    reported_persons: list[ReportedPerson]
    categories: list[str]
    narrative: str
    received_at: datetime


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
