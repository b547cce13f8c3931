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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii, taxonomy
from libs.events.consumer import Handler
from libs.events.contracts import Event
from libs.events.contracts.analysis import AlertEscalated, AlertLevel, AlertRaised
from libs.events.contracts.intake import (
    ClueMerged,
    ClueReceived,
    ClueSplit,
    ReportReceived,
)
from libs.events.dispatch import Delivery, HandlerDispatch
from libs.events.store import EventStore
from libs.kit.db import fetch
from services.casework.domain import (
    CaseState,
    Rules,
    clue_fields,
    clue_stream,
    note_repeat,
    note_reporter,
    note_split,
    register,
    replay,
)
from services.casework.domain import load_rules as default_rules
from services.casework.domain.forwarding import FORWARDING_EVENTS, Forwarding, react_to_forwarding

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
        rows = await fetch(conn, query, params)
        if rows:
            return {**dict(rows[0]), "reason": "重复举报，交由包案领导"}
    return None


_WATCH = text(
    """INSERT INTO watched_alerts (alert_id, alert) VALUES (:id, CAST(:alert AS jsonb))
       ON CONFLICT (alert_id) DO NOTHING"""
)
_WATCHED = text("SELECT alert FROM watched_alerts WHERE alert_id = :id")


@dataclass(frozen=True)
class Bound:
    """What casework's handlers use besides the event: the rules and the routing table."""

    rules: Rules
    routing: dict[str, Any]


HANDLERS: HandlerDispatch[Bound] = HandlerDispatch("service:casework")
"""Casework's handlers; the services it subscribes to follow from them."""


def make_handler(
    store: EventStore, rules: Rules | None = None, routing_file: Path = ROUTING
) -> Handler:
    """The consumer handler, bound to casework's store."""
    routing = json.loads(routing_file.read_text(encoding="utf-8"))
    return HANDLERS.handler(store, Bound(rules or default_rules(), routing))


async def _matter(d: Delivery[Bound], clue_id: UUID) -> tuple[CaseState, int]:
    """A matter as it stands, and the version of its stream."""
    history = await d.store.read_stream(clue_stream(clue_id), conn=d.conn)
    return replay(r.event for r in history), len(history)


async def _append(d: Delivery[Bound], clue_id: UUID, events: list[Event], version: int) -> None:
    await d.store.append(
        clue_stream(clue_id), events, expected_version=version, meta=d.meta, conn=d.conn
    )


async def _register(
    d: Delivery[Bound],
    fields: dict[str, Any],
    persons: list[tuple[str, str, UUID | None]],
    evidence: list[dict[str, Any]] | None = None,
) -> None:
    """A new matter enters the ledger pending disposal, assigned (领导包案 first)."""
    assignment = await owning_leader(d.conn, persons) or route(fields["categories"], d.deps.routing)
    clue_id = fields["clue_id"]
    # One look for both streams; a new matter's (the usual case) is then not read at all.
    there = await d.store.existing([clue_stream(clue_id), _reporter_stream(clue_id)], d.conn)
    state, version = await _matter(d, clue_id) if clue_stream(clue_id) in there else (replay(()), 0)
    events = register(
        state, fields, d.store.clock(), d.deps.rules, evidence=evidence, assignment=assignment
    )
    if events and _reporter_stream(clue_id) in there:  # a split-off repeat report
        now = d.store.clock()
        events += note_reporter(replay(events, state), fields["clue_id"], now, d.deps.rules)
    await _append(d, fields["clue_id"], events, version)


@HANDLERS.on(ClueReceived)
async def register_clue(event: ClueReceived, d: Delivery[Bound]) -> None:
    """A clue intake received enters the ledger."""
    persons = [(p.name, p.unit, p.person_ref) for p in event.reported_persons]
    await _register(d, clue_fields(event), persons)


@HANDLERS.on(ReportReceived)
async def note_real_name_reporter(event: ReportReceived, d: Delivery[Bound]) -> None:
    """实名举报: the matter owes its reporter the result within 15 working days of closing.

    The report's clue is the matter itself, or a repeat report merged into one. Intake
    records the merge on the other clue's stream, so it may be noted here before or after
    this report arrives: the report is kept (``reporter-{id}``, no name in it) for a merge
    noted later, and the matter that already noted it takes it now."""
    if event.anonymous:
        return
    target = event.clue_id
    state, version = await _matter(d, target)
    if state.case_id is None:
        await _keep_reporter(d, event.clue_id)
        holder = await _holding_repeat(d.conn, event.clue_id)
        if holder is None:
            return
        target = holder
        state, version = await _matter(d, target)
    await _append(
        d, target, note_reporter(state, event.clue_id, d.store.clock(), d.deps.rules), version
    )


def _reporter_stream(report_id: UUID) -> str:
    return f"reporter-{report_id}"


async def _keep_reporter(d: Delivery[Bound], report_id: UUID) -> None:
    stream = _reporter_stream(report_id)
    if await d.store.stream_version(stream, d.conn):
        return
    kept = note_reporter(CaseState(case_id=report_id), report_id, d.store.clock(), d.deps.rules)
    await d.store.append(stream, kept, expected_version=0, meta=d.meta, conn=d.conn)


async def _kept_reporter(d: Delivery[Bound], report_id: UUID) -> bool:
    return bool(await d.store.stream_version(_reporter_stream(report_id), d.conn))


_BY_REPEAT = text(
    """SELECT stream_id FROM events
       WHERE type = 'zhengfeng.casework.repeat_report_noted' AND data->>'repeat_id' = :r
       LIMIT 1"""
)


async def _holding_repeat(conn: AsyncConnection, repeat_id: UUID) -> UUID | None:
    """The matter that noted this repeat report (from the store: the register may lag)."""
    row = (await conn.execute(_BY_REPEAT, {"r": str(repeat_id)})).first()
    return None if row is None else UUID(str(row[0]).removeprefix("clue-"))


@HANDLERS.on(AlertRaised)
async def take_alert(event: AlertRaised, d: Delivery[Bound]) -> None:
    """A red alert enters the ledger with its evidence; a yellow or green one is kept aside."""
    if event.level is not AlertLevel.RED:
        await d.conn.execute(_WATCH, {"id": event.alert_id, "alert": event.model_dump_json()})
        return
    fields = _alert_fields(event)
    fields["reported_persons"] = await _alert_persons(event, d)
    persons = [(p["name"], p["unit"], p.get("person_ref")) for p in fields["reported_persons"]]
    await _register(d, fields, persons, evidence=list(event.evidence))


async def _alert_persons(alert: AlertRaised, d: Delivery[Bound]) -> list[dict[str, Any]]:
    """The alert's person as the matter's reported person: analysis sealed the name for the
    alert; it is sealed again for the matter (same key), so casework reveals it as any other."""
    s = alert.subject
    if not s.person_name:
        return []
    person: dict[str, Any] = {"name": pii.mask_name(s.person_name), "unit": s.unit or ""}
    token = s.sealed.get("name")
    if token is None:
        return [person]  # an alert from before sealing: its name stays out of the matter
    vault = pii.Vault.from_env(d.store.engine)
    name = await vault.reveal(token, context=str(alert.alert_id), field="name", conn=d.conn)
    if name is None:
        return [person]  # shredded meanwhile
    context = str(alert_case_id(alert.alert_id))
    sealed = await pii.sealed_person(
        vault, d.conn, name=name, unit=person["unit"], context=context, now=d.store.clock()
    )
    return [{**person, **sealed}]


@HANDLERS.on(AlertEscalated)
async def take_escalated_alert(event: AlertEscalated, d: Delivery[Bound]) -> None:
    """An alert kept aside and escalated to red (多源关联) enters the ledger with the reason."""
    if event.to_level is not AlertLevel.RED:
        return
    row = (await d.conn.execute(_WATCHED, {"id": event.alert_id})).first()
    if row is None:
        return  # never seen below red: it entered the ledger when raised
    watched = AlertRaised.model_validate(row[0])
    red = watched.model_copy(
        update={
            "level": AlertLevel.RED,
            "summary": f"{watched.summary}（升级为红色预警：{event.reason}）",
        }
    )
    await take_alert(red, d)


@HANDLERS.on(ClueMerged, ClueSplit)
async def note_repeat_report(event: ClueMerged | ClueSplit, d: Delivery[Bound]) -> None:
    """Note a repeat report on the matter it joined (or its split) in the matter's stream."""
    state, version = await _matter(d, event.clue_id)
    if isinstance(event, ClueMerged):
        owner = None
        if state.leader is None:
            persons = [(p.name, p.unit, p.person_ref) for p in event.reported_persons]
            owner = (await owning_leader(d.conn, persons) or {}).get("leader")
        events = note_repeat(state, event, d.store.clock(), leader=owner)
        if events and await _kept_reporter(d, event.repeat_id):  # its real-name reporter
            events += note_reporter(state, event.repeat_id, d.store.clock(), d.deps.rules)
    else:
        events = note_split(state, event, d.store.clock())
    await _append(d, event.clue_id, events, version)


@HANDLERS.on(*FORWARDING_EVENTS)
async def on_forwarding(
    event: Forwarding,
    d: Delivery[Bound],
) -> None:
    """转办, 提级办理, 指定管辖: a clue intake sends away or keeps moves out of or back to the
    disposal queue."""
    state, version = await _matter(d, event.clue_id)
    events = react_to_forwarding(state, event, d.store.clock(), d.deps.rules)
    await _append(d, event.clue_id, events, version)


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
