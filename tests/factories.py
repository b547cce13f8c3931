"""Domain factories for tests: events and commands with sensible defaults."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ClueReceived, ReportedPerson
from services.intake.domain import check_character


@registry.register
class NoteTaken(Event):
    """A tiny event for store tests."""

    type_name = "zhengfeng.test.note_taken"
    version = 1

    text: str
    n: int = 0


def note(text: str = "note", n: int = 0) -> NoteTaken:
    """A test event."""
    return NoteTaken(text=text, n=n)


def namesake_id_number() -> str:
    """A random valid resident ID number: sending one with the same name and unit as before
    makes a namesake, a clue of its own rather than a repeat report (重复件)."""
    born = f"{1960 + secrets.randbelow(40)}{1 + secrets.randbelow(12):02d}"
    first17 = f"320102{born}{1 + secrets.randbelow(28):02d}{secrets.randbelow(1000):03d}"
    return first17 + check_character(first17)


def person(name: str = "李四", unit: str = "某县交通运输局", **kw: object) -> ReportedPerson:
    """A reported person."""
    return ReportedPerson(name=name, unit=unit, **kw)  # type: ignore[arg-type]


def clue_received(
    *,
    clue_id: UUID | None = None,
    persons: list[ReportedPerson] | None = None,
    categories: list[str] | None = None,
    department: str = "audit",
    reference: str = "SJ-2026-0001",
    number: str = "XS-2026-000001",
) -> ClueReceived:
    """A clue received from a partner department."""
    return ClueReceived(
        clue_id=clue_id or uuid4(),
        clue_number=number,
        source_kind="partner_transfer",
        source_department=department,
        source_reference=reference,
        reported_persons=persons or [person()],
        categories=categories or ["violation_dining"],
        narrative="春节期间公务卡在私人会所消费。",
        received_at=datetime(2026, 2, 20, 9, 30, tzinfo=UTC),
    )
