"""Domain factories for casework's unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID, uuid4

from libs.events.contracts import Event
from libs.events.contracts.casework import Subject
from libs.events.contracts.documents import DocumentIssued, ServiceManner
from libs.kit.documents import MEDIA_TYPE
from services.casework.documents import load_issuing
from services.casework.domain import (
    COMMANDS,
    CaseState,
    Rules,
    decide,
    evolve,
    load_rules,
    register,
    replay,
)
from services.casework.domain.documents import ServeDocument, serve

RULES: Rules = load_rules()


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def registered(
    *,
    received: date = date(2026, 9, 1),
    categories: list[str] | None = None,
    case_id: UUID | None = None,
) -> tuple[CaseState, list[Event]]:
    """A clue just registered in the ledger, and its events."""
    cid = case_id or uuid4()
    events = register(
        CaseState(),
        {
            "clue_id": cid,
            "clue_number": "XS-2026-000001",
            "source_kind": "hotline",
            "source_department": None,
            "source_reference": None,
            "reported_persons": [{"name": "张三", "unit": "某区财政局"}],
            "categories": categories or ["violation_dining"],
            "narrative": "在私人会所宴请",
            "received_at": at(received),
        },
        at(received),
        RULES,
    )
    return replay(events), events


def command(name: str, **fields: Any) -> Any:
    fields.setdefault("reason", f"{name} 依据")
    return COMMANDS[name](**fields)


def step(
    state: CaseState, history: list[Event], name: str, day: date, **fields: Any
) -> tuple[CaseState, list[Event]]:
    """Give a command on ``day``; returns the new state and the whole history."""
    events = decide(state, command(name, **fields), at(day), RULES, actor="user:officer")
    for e in events:
        state = evolve(state, e)
    return state, [*history, *events]


SUBJECT = Subject(name="张三", unit="某区财政局", department="财务科")
CHECKLIST = {code: "已查明" for code, _ in RULES.checklist}


CLOCKS = load_issuing().starts_clock
"""Which clock the service of each kind of document starts (the shipped file)."""


def issue(
    state: CaseState, history: list[Event], kind: str, command: str, day: date
) -> tuple[CaseState, list[Event], DocumentIssued]:
    """The matter issued a document of ``kind`` on ``day`` (as a decision's ``after`` does)."""
    issued = DocumentIssued(
        document_id=uuid4(),
        matter_id=state.case_id,
        kind=kind,
        number=f"青纪{kind[:2]}〔{day.year}〕1号",
        year=day.year,
        sequence=1,
        title=kind,
        command=command,
        media_type=MEDIA_TYPE,
        sha256="0" * 64,
        size=1,
        template_version="t",
        matter_version=state.version,
        issued_at=at(day),
    )
    return evolve(state, issued), [*history, issued], issued


def served(
    state: CaseState, history: list[Event], issued: DocumentIssued, day: date, served_on: date
) -> tuple[CaseState, list[Event]]:
    """送达 of an issued document, recorded on ``day``."""
    command = ServeDocument(
        document_id=issued.document_id, served_on=served_on, manner=ServiceManner.POST
    )
    events = serve(state, command, at(day), CLOCKS, "user:officer", RULES)
    for e in events:
        state = evolve(state, e)
    return state, [*history, *events]
