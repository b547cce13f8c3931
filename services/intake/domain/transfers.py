"""A partner's transfer becomes a received clue (线索移送)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from libs.events.contracts.intake import ClueContent, ClueReceived

URGENCIES = {"normal": "一般", "urgent": "紧急", "very_urgent": "特急"}

SOURCE_SCOPES = {"source:inspection": "inspection"}
"""A partner client whose scopes name a source kind of its own (a 巡察组 has
``source:inspection``) transfers clues of that kind; any other partner's are 部门移送."""


def source_kind_of(scopes: Iterable[str]) -> str:
    """The source kind a partner's transfers record, from its client's scopes."""
    return next(
        (SOURCE_SCOPES[s] for s in sorted(scopes) if s in SOURCE_SCOPES), "partner_transfer"
    )


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
    command: TransferClue,
    *,
    clue_id: UUID,
    clue_number: str,
    now: datetime,
    source_kind: str = "partner_transfer",
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
            source_kind=source_kind,
            source_department=command.department,
            source_reference=command.reference,
            received_at=now,
            **content,
        )
    ]
