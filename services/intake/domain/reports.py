"""Public reports (信访举报): real-name or anonymous, with a receipt code to follow up."""

from __future__ import annotations

import base64
from datetime import date, datetime
from uuid import UUID

from pydantic import Field

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueContent, ClueReceived, ReportReceived


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


class FileReport(ClueContent):
    """A member of the public reports a problem: the content and who they are (sealed)."""

    anonymous: bool
    reporter_ref: UUID
    sealed_contact: dict[str, str] = Field(default_factory=dict)


def file_report(
    command: FileReport,
    *,
    clue_id: UUID,
    clue_number: str,
    now: datetime,
    acknowledge_by: date | None,
) -> list[Event]:
    """A report becomes a received clue and its reporter side; real-name gets a deadline."""
    content = command.content_fields() | {"categories": list(dict.fromkeys(command.categories))}
    return [
        ClueReceived(
            clue_id=clue_id,
            clue_number=clue_number,
            source_kind="public_report",
            received_at=now,
            **content,
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
