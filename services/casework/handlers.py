"""What casework does with other services' events: clues and red alerts enter the ledger.

A yellow or green alert is kept aside (``watched_alerts``); when analysis escalates it to
red (多源关联), it enters the ledger like a red alert, with the escalation's reason. A
matter opened from an alert names the alert id as its source reference, which is how
analysis links the alert to the clue and later to the case.

Each lands pending disposal and is assigned by the routing table (data): the department
of its category group, that department's duty officer and supervisor. A repeat report on a
person whose earlier matter a leader owns (领导包案) goes back to that leader's team.

A repeat report intake merged into a clue (``ClueMerged``, 重复件) opens no second entry:
the matter notes it (count and priority rise) and it goes back to the leader who owns the
matter, or owns an earlier one on the same person. A split (``ClueSplit``) takes it back
off; the split-off clue arrives as a ``ClueReceived`` of its own and is registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import taxonomy
from libs.events.consumer import Handler, caused_by
from libs.events.contracts.analysis import AlertEscalated, AlertLevel, AlertRaised
from libs.events.contracts.intake import ClueMerged, ClueReceived, ClueSplit
from libs.events.envelope import Envelope
from libs.events.store import EventStore
from services.casework.domain import (
    CaseState,
    Rules,
    clue_fields,
    clue_stream,
    note_repeat,
    note_split,
    register,
    replay,
)
from services.casework.domain import load_rules as default_rules
from services.casework.domain.forwarding import FORWARDING_EVENTS, react_to_forwarding

ROUTING = Path(__file__).with_name("data") / "routing.json"


def alert_case_id(alert_id: UUID) -> UUID:
    """The ledger id of the matter a red alert opens (the same alert, the same matter)."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:alert:{alert_id}")


def route(categories: list[str], routing: dict[str, Any]) -> dict[str, str | None]:
    """Department, officer and supervisor for a new matter, by its first category's group."""
    tax = taxonomy.load()
    for code in categories:
        category = tax.get(code)
        if category and category.group in routing.get("by_group", {}):
            return dict(routing["by_group"][category.group])
    return dict(routing["default"])


_BY_PERSON_REF = text(
    """SELECT department, officer, supervisor, leader FROM cases
       WHERE leader IS NOT NULL AND state->'reported_persons' @> CAST(:p AS jsonb)
       ORDER BY registered_at DESC LIMIT 1"""
)
_BY_NAME = text(
    """SELECT department, officer, supervisor, leader FROM cases
       WHERE leader IS NOT NULL AND subject_name = :n AND unit = :u
       ORDER BY registered_at DESC LIMIT 1"""
)


async def owning_leader(
    conn: AsyncConnection, persons: list[tuple[str, str, UUID | None]]
) -> dict[str, str | None] | None:
    """The assignment of an earlier matter on the same person that a leader owns.

    A sealed person (ClueReceived v3) is matched by their stable pseudonym ``person_ref``,
    never by the masked name; an unsealed one by name and unit.
    """
    for name, unit, ref in persons:
        if ref is not None:
            query = _BY_PERSON_REF
            params: dict[str, Any] = {"p": json.dumps([{"person_ref": str(ref)}])}
        else:
            query, params = _BY_NAME, {"n": name, "u": unit}
        row = (await conn.execute(query, params)).mappings().first()
        if row is not None:
            return {**dict(row), "reason": "重复举报，交由包案领导"}
    return None


_CONSUMED = (
    ClueReceived.type_name,
    AlertRaised.type_name,
    AlertEscalated.type_name,
    ClueMerged.type_name,
    ClueSplit.type_name,
)
_WATCH = text(
    """INSERT INTO watched_alerts (alert_id, alert) VALUES (:id, CAST(:alert AS jsonb))
       ON CONFLICT (alert_id) DO NOTHING"""
)
_WATCHED = text("SELECT alert FROM watched_alerts WHERE alert_id = :id")


def make_handler(
    store: EventStore, rules: Rules | None = None, routing_file: Path = ROUTING
) -> Handler:
    """The consumer handler, bound to casework's store."""
    the_rules = rules or default_rules()
    routing = json.loads(routing_file.read_text(encoding="utf-8"))

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.type in _FORWARDING:
            await on_forwarding(conn, store, the_rules, envelope)
            return
        if envelope.type not in _CONSUMED:
            return
        event = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
        if isinstance(event, ClueMerged | ClueSplit):
            await _repeat(conn, store, event, envelope)
            return
        evidence: list[dict[str, Any]] | None = None
        if isinstance(event, AlertEscalated):
            if event.to_level is not AlertLevel.RED:
                return
            row = (await conn.execute(_WATCHED, {"id": event.alert_id})).first()
            if row is None:
                return  # never seen below red: it entered the ledger when raised
            watched = AlertRaised.model_validate(row[0])
            event = watched.model_copy(
                update={
                    "level": AlertLevel.RED,
                    "summary": f"{watched.summary}（升级为红色预警：{event.reason}）",
                }
            )
        if isinstance(event, ClueReceived):
            fields = clue_fields(event)
            persons = [(p.name, p.unit, p.person_ref) for p in event.reported_persons]
        else:
            assert isinstance(event, AlertRaised)
            if event.level is not AlertLevel.RED:
                await conn.execute(_WATCH, {"id": event.alert_id, "alert": event.model_dump_json()})
                return
            fields = _alert_fields(event)
            evidence = list(event.evidence)
            persons = [(p["name"], p["unit"], None) for p in fields["reported_persons"]]
        stream = clue_stream(fields["clue_id"])
        history = await store.read_stream(stream, conn=conn)
        state: CaseState = replay(r.event for r in history)
        assignment = await owning_leader(conn, persons) or route(fields["categories"], routing)
        events = register(
            state, fields, store.clock(), the_rules, evidence=evidence, assignment=assignment
        )
        await store.append(
            stream,
            events,
            expected_version=len(history),
            meta=caused_by(envelope, "service:casework"),
            conn=conn,
        )

    return handle


async def _repeat(
    conn: AsyncConnection, store: EventStore, event: ClueMerged | ClueSplit, envelope: Envelope
) -> None:
    """Note a repeat report on the matter it joined (or its split) in the matter's stream."""
    stream = clue_stream(event.clue_id)
    history = await store.read_stream(stream, conn=conn)
    state = replay(r.event for r in history)
    if isinstance(event, ClueMerged):
        owner = None
        if state.leader is None:
            persons = [(p.name, p.unit, p.person_ref) for p in event.reported_persons]
            owner = (await owning_leader(conn, persons) or {}).get("leader")
        events = note_repeat(state, event, store.clock(), leader=owner)
    else:
        events = note_split(state, event, store.clock())
    await store.append(
        stream,
        events,
        expected_version=len(history),
        meta=caused_by(envelope, "service:casework"),
        conn=conn,
    )


_FORWARDING = frozenset(e.type_name for e in FORWARDING_EVENTS)


async def on_forwarding(
    conn: AsyncConnection, store: EventStore, rules: Rules, envelope: Envelope
) -> None:
    """转办: a clue intake marks, forwards or keeps moves in or out of the disposal queue."""
    event = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
    assert isinstance(event, FORWARDING_EVENTS)
    stream = clue_stream(event.clue_id)
    history = await store.read_stream(stream, conn=conn)
    state = replay(r.event for r in history)
    events = react_to_forwarding(state, event, store.clock(), rules)
    await store.append(
        stream,
        events,
        expected_version=len(history),
        meta=caused_by(envelope, "service:casework"),
        conn=conn,
    )


def _alert_fields(alert: AlertRaised) -> dict[str, Any]:
    subject = alert.subject
    persons = (
        [{"name": subject.person_name, "unit": subject.unit or ""}] if subject.person_name else []
    )
    return {
        "clue_id": alert_case_id(alert.alert_id),
        "clue_number": f"YJ-{alert.alert_id.hex[:12].upper()}",
        "source_kind": "analysis_alert",
        "source_department": None,
        "source_reference": str(alert.alert_id),
        "reported_persons": persons,
        "categories": [alert.category],
        "narrative": f"{alert.summary}（规则 {alert.rule_id} 第 {alert.rule_version} 版）",
        "received_at": alert.raised_at,
    }
