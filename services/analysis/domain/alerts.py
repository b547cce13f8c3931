"""Alerts, pure: identity, raising, escalation across sources, verification, and an
alert as it stands (the board's row), folded from its stream.

An alert's identity is rule + subject + evidence key: the same finding is never raised
twice, whichever run or re-ingested batch finds it again. Its id is derived from the
identity, so it is the same on every replica and every re-run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from libs.events.contracts import Event
from libs.events.contracts.analysis import (
    AlertEscalated,
    AlertLevel,
    AlertLinkedToCase,
    AlertLinkedToClue,
    AlertRaised,
    AlertSubject,
    AlertVerified,
)
from libs.events.dispatch import Dispatch
from libs.kit.refusal import Refused
from services.analysis.rules import CATALOGUE

ALERT_NAMESPACE = uuid.UUID("7a1c3e52-5d0b-4c5e-9b8e-2f6f0b9d4a11")
LEVEL_RANK = {AlertLevel.GREEN: 0, AlertLevel.YELLOW: 1, AlertLevel.RED: 2}
LEVEL_LABEL = {AlertLevel.RED: "红", AlertLevel.YELLOW: "黄", AlertLevel.GREEN: "绿"}


class Finding(StrEnum):
    """线下核查结论."""

    CONFIRMED = "confirmed"
    """属实"""
    FALSE_POSITIVE = "false_positive"
    """不属实（误报）"""
    NOT_VERIFIABLE = "not_verifiable"
    """无法核实"""


FINDING_LABEL = {
    Finding.CONFIRMED: "属实",
    Finding.FALSE_POSITIVE: "不属实",
    Finding.NOT_VERIFIABLE: "无法核实",
}


def subject_key(person_id: str | None, plate: str | None, unit_code: str | None) -> str:
    """Whom alerts correlate on: the person, else the vehicle, else the unit."""
    if person_id:
        return f"person:{person_id}"
    if plate:
        return f"vehicle:{plate}"
    return f"unit:{unit_code}"


def alert_identity(rule_id: str, subject: str, evidence_key: str) -> str:
    """rule + subject + evidence key."""
    return f"{rule_id}|{subject}|{evidence_key}"


def alert_id(identity: str) -> UUID:
    """The alert's id, derived from its identity."""
    return uuid.uuid5(ALERT_NAMESPACE, identity)


def alert_stream(aid: UUID) -> str:
    """The stream of one alert."""
    return f"alert-{aid}"


@dataclass(frozen=True)
class Hit:
    """One row a rule query returned."""

    evidence_key: str
    person_id: str | None
    person_name: str | None
    unit_code: str | None
    unit_name: str | None
    plate: str | None
    occurred_on: date
    summary: str
    evidence: list[dict[str, Any]]


def raise_alert(
    *,
    rule_id: str,
    rule_version: int,
    level: AlertLevel,
    category: str,
    found: Hit,
    now: datetime,
    source: str | None = None,
) -> AlertRaised:
    """The AlertRaised event for one finding of a rule version (``source``: the kind of
    data the rule rests on)."""
    subject = subject_key(found.person_id, found.plate, found.unit_code)
    identity = alert_identity(rule_id, subject, found.evidence_key)
    return AlertRaised(
        alert_id=alert_id(identity),
        identity=identity,
        rule_id=rule_id,
        rule_version=rule_version,
        level=level,
        category=category,
        subject=AlertSubject(
            person_id=found.person_id,
            person_name=found.person_name,
            unit=found.unit_name,
            unit_code=found.unit_code,
            plate=found.plate,
        ),
        summary=found.summary,
        evidence=found.evidence,
        raised_at=now,
        source=source,
        occurred_on=found.occurred_on,
    )


@dataclass(frozen=True)
class OpenAlert:
    """What correlation needs to know of an alert."""

    alert_id: UUID
    rule_id: str
    source: str
    level: AlertLevel
    occurred_on: date


def escalate(
    subject: str,
    alerts: list[OpenAlert],
    *,
    window_days: int,
    min_sources: int,
    to_level: AlertLevel,
    now: datetime,
) -> list[AlertEscalated]:
    """多源关联: alerts on one subject from ``min_sources`` different sources within
    ``window_days`` of each other go up to ``to_level`` (each at most once)."""
    out: list[AlertEscalated] = []
    ordered = sorted(alerts, key=lambda a: (a.occurred_on, str(a.alert_id)))
    raised: set[UUID] = set()
    for anchor in ordered:
        group = [
            a for a in ordered if abs((a.occurred_on - anchor.occurred_on).days) <= window_days
        ]
        sources = sorted({a.source for a in group})
        if len(sources) < min_sources:
            continue
        rules = sorted({a.rule_id for a in group})
        for a in group:
            if a.alert_id in raised or LEVEL_RANK[a.level] >= LEVEL_RANK[to_level]:
                continue
            raised.add(a.alert_id)
            out.append(
                AlertEscalated(
                    alert_id=a.alert_id,
                    from_level=a.level,
                    to_level=to_level,
                    reason=(
                        f"{subject} 在 {window_days} 天内有来自 {len(sources)} 个数据源"
                        f"（{'、'.join(sources)}）的 {len(group)} 条预警：{'、'.join(rules)}"
                    ),
                    related_alert_ids=[g.alert_id for g in group if g.alert_id != a.alert_id],
                    escalated_at=now,
                )
            )
    return out


class Verification(BaseModel):
    """线下核查结论."""

    finding: Finding
    notes: str = Field(default="", max_length=4000)
    case_id: UUID | None = None


class AlreadyVerified(Refused):
    """An alert has a finding already; findings are not overwritten."""

    def __init__(self, finding: str) -> None:
        super().__init__(
            "already-verified",
            f"该预警已核查为「{FINDING_LABEL.get(Finding(finding), finding)}」，核查结论不能覆盖。",
            kind="conflict",
            title="预警已有核查结论",
        )
        self.finding = finding


def verify(
    alert: Alert, verification: Verification, *, verified_by: str, now: datetime
) -> AlertVerified:
    """线下核查结论: one finding per alert."""
    if alert.finding:
        raise AlreadyVerified(alert.finding)
    return AlertVerified(
        alert_id=alert.alert_id,
        rule_id=alert.rule_id,
        rule_version=alert.rule_version,
        finding=verification.finding.value,
        notes=verification.notes,
        verified_by=verified_by,
        case_id=verification.case_id or alert.case_id,
        verified_at=now,
    )


@dataclass(frozen=True)
class Alert:
    """An alert as it stands: what it was raised with and what became of it since (the
    alert board's row; ``stream_version`` is its stream's version)."""

    alert_id: UUID
    identity: str
    rule_id: str
    rule_version: int
    source: str
    level: str
    raised_level: str
    category: str
    subject_key: str
    person_id: str | None
    person_name: str | None
    unit_code: str | None
    unit_name: str | None
    plate: str | None
    evidence_key: str
    summary: str
    evidence: list[dict[str, Any]]
    occurred_on: date
    raised_at: datetime
    escalation_reason: str | None = None
    finding: str | None = None
    finding_notes: str | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None
    clue_id: UUID | None = None
    case_id: UUID | None = None
    case_number: str | None = None
    stream_version: int = 1


_EVOLVE: Dispatch[[Alert | None, int], Alert | None] = Dispatch()
"""Per event type of an alert's stream: the alert after it, at the stream version given."""


def evolve(alert: Alert | None, event: Event, version: int) -> Alert | None:
    """The alert after one event of its stream (``version``: the stream's version after it)."""
    if event.type_name not in _EVOLVE:
        return alert
    return _EVOLVE(event, alert, version)


def replay(events: Iterable[tuple[Event, int]]) -> Alert | None:
    """The alert after its stream's events (each with the stream version after it)."""
    alert = None
    for event, version in events:
        alert = evolve(alert, event, version)
    return alert


def alert_types() -> frozenset[str]:
    """The event types that change an alert."""
    return _EVOLVE.types


@_EVOLVE.on(AlertRaised)
def _raised(e: AlertRaised, alert: Alert | None, version: int) -> Alert | None:
    if alert is not None:
        return alert  # the same finding is raised once
    _, subject, evidence_key = e.identity.split("|", 2)
    return Alert(
        alert_id=e.alert_id,
        identity=e.identity,
        rule_id=e.rule_id,
        rule_version=e.rule_version,
        source=e.source or _source_of_rule(e.rule_id),
        level=e.level.value,
        raised_level=e.level.value,
        category=e.category,
        subject_key=subject,
        person_id=e.subject.person_id,
        person_name=e.subject.person_name,
        unit_code=e.subject.unit_code,
        unit_name=e.subject.unit,
        plate=e.subject.plate,
        evidence_key=evidence_key,
        summary=e.summary,
        evidence=list(e.evidence),
        # v1 alerts did not say which day they concern: the day they were raised stands in.
        occurred_on=e.occurred_on or e.raised_at.date(),
        raised_at=e.raised_at,
        stream_version=version,
    )


def _source_of_rule(rule_id: str) -> str:
    # v1 alerts did not carry their source: the rule's code says it.
    code = CATALOGUE.get(rule_id)
    return code.source if code is not None else rule_id.split(".", 1)[0]


@_EVOLVE.on(AlertEscalated)
def _escalated(e: AlertEscalated, alert: Alert | None, version: int) -> Alert | None:
    if alert is None:
        return None
    return replace(
        alert, level=e.to_level.value, escalation_reason=e.reason, stream_version=version
    )


@_EVOLVE.on(AlertVerified)
def _verified(e: AlertVerified, alert: Alert | None, version: int) -> Alert | None:
    if alert is None:
        return None
    return replace(
        alert,
        finding=e.finding,
        finding_notes=e.notes,
        verified_by=e.verified_by,
        verified_at=e.verified_at,
        case_id=e.case_id or alert.case_id,
        stream_version=version,
    )


@_EVOLVE.on(AlertLinkedToClue)
def _linked_to_clue(e: AlertLinkedToClue, alert: Alert | None, version: int) -> Alert | None:
    if alert is None:
        return None
    return replace(alert, clue_id=e.clue_id, stream_version=version)


@_EVOLVE.on(AlertLinkedToCase)
def _linked_to_case(e: AlertLinkedToCase, alert: Alert | None, version: int) -> Alert | None:
    if alert is None:
        return None
    return replace(alert, case_id=e.case_id, case_number=e.case_number, stream_version=version)
