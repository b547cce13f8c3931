"""A partner's transfer becomes a received clue (线索移送)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from libs.events.contracts.intake import ClueContent, ClueReceived

URGENCIES = {"normal": "一般", "urgent": "紧急", "very_urgent": "特急"}


def clue_stream(clue_id: UUID) -> str:
    """The stream of one clue."""
    return f"clue-{clue_id}"


def format_clue_number(year: int, serial: int) -> str:
    """The number a clerk reads on the clue: ``XS-2026-000123``."""
    return f"XS-{year}-{serial:06d}"


class TransferClue(ClueContent):
    """A partner department transfers a clue (线索移送): its reference and the content."""

    department: str
    reference: str


def receive_transfer(
    command: TransferClue, *, clue_id: UUID, clue_number: str, now: datetime
) -> list[ClueReceived]:
    """Decide what a transfer records: one clue received from the partner."""
    content = command.content_fields() | {
        "categories": list(dict.fromkeys(command.categories)),
        "attachments": list({a.sha256: a for a in command.attachments}.values()),
    }
    return [
        ClueReceived(
            clue_id=clue_id,
            clue_number=clue_number,
            source_kind="partner_transfer",
            source_department=command.department,
            source_reference=command.reference,
            received_at=now,
            **content,
        )
    ]
