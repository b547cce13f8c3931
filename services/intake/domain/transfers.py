"""A partner's transfer becomes a received clue (线索移送)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from libs.events.contracts.intake import AttachmentRef, ClueReceived, ReportedPerson

URGENCIES = {"normal": "一般", "urgent": "紧急", "very_urgent": "特急"}


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
    urgency: str = "normal"
    occurred_from: date | None = None
    occurred_to: date | None = None
    place: str | None = None
    attachments: tuple[AttachmentRef, ...] = field(default_factory=tuple)


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
            urgency=command.urgency,
            occurred_from=command.occurred_from,
            occurred_to=command.occurred_to,
            place=command.place,
            attachments=list({a.sha256: a for a in command.attachments}.values()),
        )
    ]
