"""Public reports (信访举报): real-name or anonymous, with a receipt code to follow up."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueReceived, ReportedPerson, ReportReceived


def receipt_code(random: bytes) -> str:
    """A receipt code a person can copy: 120 random bits, base32 in groups of four."""
    if len(random) < 15:
        raise ValueError("a receipt code needs at least 120 random bits")
    text = base64.b32encode(random[:15]).decode()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normal_code(code: str) -> str:
    """A receipt code as typed (any case, with or without dashes) in its canonical form."""
    plain = "".join(c for c in code.upper() if c.isalnum())
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


@dataclass(frozen=True)
class FileReport:
    """A member of the public reports a problem."""

    anonymous: bool
    reported_persons: tuple[ReportedPerson, ...]
    categories: tuple[str, ...]
    narrative: str
    reporter_ref: UUID
    sealed_contact: dict[str, str] = field(default_factory=dict)
    place: str | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None


def file_report(
    command: FileReport,
    *,
    clue_id: UUID,
    clue_number: str,
    now: datetime,
    acknowledge_by: date | None,
) -> list[Event]:
    """A report becomes a received clue and its reporter side; real-name gets a deadline."""
    return [
        ClueReceived(
            clue_id=clue_id,
            clue_number=clue_number,
            source_kind="public_report",
            reported_persons=list(command.reported_persons),
            categories=list(dict.fromkeys(command.categories)),
            narrative=command.narrative,
            received_at=now,
            place=command.place,
            occurred_from=command.occurred_from,
            occurred_to=command.occurred_to,
        ),
        ReportReceived(
            clue_id=clue_id,
            anonymous=command.anonymous,
            reporter_ref=command.reporter_ref,
            sealed=command.sealed_contact,
            acknowledge_by=None if command.anonymous else acknowledge_by,
            received_at=now,
        ),
    ]
