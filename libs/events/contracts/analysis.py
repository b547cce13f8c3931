"""Events analysis publishes that other services consume.

Casework registers every red ``AlertRaised`` as a clue with its evidence; accountability
counts alerts per unit in its ratings. Analysis's internal events (feed batches, rule
versions) live beside these, in this module.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event, registry


class AlertLevel(StrEnum):
    """预警等级: 红 verify now, 黄 remind or inquire, 绿 record only."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class AlertSubject(BaseModel):
    """Who or what an alert is about: a person, a unit, or both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str | None = None
    """The personnel registry's id of the person (not their ID number)."""
    person_name: str | None = None
    """Masked since AlertRaised v3; the name is in ``sealed`` (context: the alert's id)."""
    unit: str | None = None
    unit_code: str | None = None
    plate: str | None = None
    """The official vehicle, for vehicle and fuel-card rules."""
    person_ref: UUID | None = None
    """The person's key in the personal-data vault (libs/events/pii.py)."""
    blind_index: str | None = None
    """Keyed hash of name and unit: the same person across feeds and services."""
    sealed: dict[str, str] = Field(default_factory=dict)
    """``name`` -> the token of ``person_name``."""


@registry.register
class AlertRaised(Event):
    """异常预警: a rule version found something; the evidence rows say what."""

    type_name = "zhengfeng.analysis.alert_raised"
    version = 3

    alert_id: UUID
    identity: str
    """rule + subject + evidence key: the same finding is never raised twice."""
    rule_id: str
    rule_version: int
    level: AlertLevel
    category: str
    subject: AlertSubject
    summary: str
    evidence: list[dict[str, Any]]
    """The rows the rule found; since v3 a person's ``name`` in a row is masked and its
    token is the row's ``sealed_name`` (field ``evidence.<i>.name``)."""
    raised_at: datetime
    source: str | None = None
    """The kind of data the rule rests on (v2); alerts from different sources correlate."""
    occurred_on: date | None = None
    """The day the finding concerns (v2)."""


@registry.upcaster(AlertRaised.type_name, from_version=1)
def _alert_raised_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    # v1 did not carry the rule's source or the day it concerns: readers fall back.
    return data


@registry.upcaster(AlertRaised.type_name, from_version=2)
def _alert_raised_v2_to_v3(data: dict[str, object]) -> dict[str, object]:
    # v2 named the subject (and evidence rows) in clear; they stay as they were (events
    # are never rewritten, and there is no key to seal with here); answers mask them.
    return data


@registry.register
class AlertEscalated(Event):
    """Several alerts on one subject across sources within a window raised this alert's level."""

    type_name = "zhengfeng.analysis.alert_escalated"
    version = 1

    alert_id: UUID
    from_level: AlertLevel
    to_level: AlertLevel
    reason: str
    related_alert_ids: list[UUID]
    escalated_at: datetime


@registry.register
class AlertVerified(Event):
    """线下核查: a verifier's finding on an alert (confirmed / false positive / not verifiable)."""

    type_name = "zhengfeng.analysis.alert_verified"
    version = 1

    alert_id: UUID
    rule_id: str
    rule_version: int
    finding: str
    notes: str
    verified_by: str
    case_id: UUID | None = None
    verified_at: datetime


@registry.register
class FeedBatchIngested(Event):
    """信息汇集: a partner system's batch of one feed was taken in (good rows kept)."""

    type_name = "zhengfeng.analysis.feed_batch_ingested"
    version = 1

    batch_id: str
    kind: str
    partner: str
    received: int
    accepted: int
    duplicates: int
    rejected: int
    period_from: datetime | None = None
    period_to: datetime | None = None
    ingested_at: datetime


@registry.register
class RuleVersionPublished(Event):
    """A rule's parameters (thresholds, windows, distances, categories) as of this version."""

    type_name = "zhengfeng.analysis.rule_version_published"
    version = 1

    rule_id: str
    rule_version: int
    params: dict[str, Any]
    level: AlertLevel
    category: str
    enabled: bool = True
    reason: str
    published_by: str
    published_at: datetime


@registry.register
class AlertLinkedToCase(Event):
    """The clue an alert became was filed as a case (立案)."""

    type_name = "zhengfeng.analysis.alert_linked_to_case"
    version = 1

    alert_id: UUID
    clue_id: UUID | None = None
    case_id: UUID
    case_number: str
    linked_at: datetime


@registry.register
class AlertLinkedToClue(Event):
    """Casework registered a clue (线索) from the alert: the board shows which one."""

    type_name = "zhengfeng.analysis.alert_linked_to_clue"
    version = 1

    alert_id: UUID
    clue_id: UUID
    linked_at: datetime
