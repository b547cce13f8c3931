"""Intake's decisions, pure: a partner's transfer becomes a received clue (线索移送)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from libs.events.contracts.intake import ClueReceived, ReportedPerson


def clue_stream(clue_id: UUID) -> str:
    """The stream of one clue."""
    return f"clue-{clue_id}"


def format_clue_number(year: int, serial: int) -> str:
    """The number a clerk reads on the clue: ``XS-2026-000123``."""
    return f"XS-{year}-{serial:06d}"


@dataclass(frozen=True)
class TransferClue:
    """A partner department transfers a clue (线索移送)."""

    department: str
    reference: str
    reported_persons: tuple[ReportedPerson, ...]
    categories: tuple[str, ...]
    narrative: str


def receive_transfer(
    command: TransferClue, *, clue_id: UUID, clue_number: str, now: datetime
) -> list[ClueReceived]:
    """Decide what a transfer records: one clue received from the partner."""
    return [
        ClueReceived(
            clue_id=clue_id,
            clue_number=clue_number,
            source_kind="partner_transfer",
            source_department=command.department,
            source_reference=command.reference,
            reported_persons=list(command.reported_persons),
            categories=list(dict.fromkeys(command.categories)),
            narrative=command.narrative,
            received_at=now,
        )
    ]
