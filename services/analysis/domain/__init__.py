"""Analysis's decisions, pure. For now: note every person a clue names (对比分析的主体库)."""

from __future__ import annotations

import hashlib
from uuid import UUID

from libs.events import pii
from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ClueReceived, ReportedPerson


@registry.register
class SubjectNamedInClue(Event):
    """A person appeared as the subject of a clue; alerts on them are correlated later."""

    type_name = "zhengfeng.analysis.subject_named_in_clue"
    version = 1

    subject_key: str
    name: str
    unit: str
    clue_id: UUID
    categories: list[str]


def subject_key(person: ReportedPerson) -> str:
    """Stable key of a person: their personal-data pseudonym (ClueReceived v3), else, for
    older clues, the ID number when known, else name and unit."""
    if person.person_ref:
        return person_subject_key(person.person_ref)
    basis = person.id_number or f"{person.name}|{person.unit}"
    return hashlib.sha256(basis.encode()).hexdigest()[:24]


def person_subject_key(person_ref: UUID) -> str:
    """The subject key of a person known to the vault by their pseudonym."""
    return hashlib.sha256(str(person_ref).encode()).hexdigest()[:24]


def subject_stream(key: str) -> str:
    """The stream of one subject."""
    return f"subject-{key}"


def note_subjects(received: ClueReceived) -> dict[str, list[Event]]:
    """Per subject stream, the events a received clue adds."""
    out: dict[str, list[Event]] = {}
    for person in received.reported_persons:
        key = subject_key(person)
        out.setdefault(subject_stream(key), []).append(
            SubjectNamedInClue(
                subject_key=key,
                name=pii.mask_name(person.name),  # a clue from before sealing named them
                unit=person.unit,
                clue_id=received.clue_id,
                categories=received.categories,
            )
        )
    return out
