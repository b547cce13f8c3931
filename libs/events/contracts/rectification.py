"""Events of 整改 (rectification), 巡察 findings and 纪检监察建议书, recorded by accountability.

A unit's problem list (整改台账) is one stream: the list is handed over (清单交办), each item
carries its measures, the department that owns it and a deadline; progress and 督办 are
noted (跟踪督办), the unit reports completion with evidence (结果反馈), the commission
accepts it (验收) and looks back after a period (回头看): an item that holds is 销号, one
that does not is reopened by a compensating event, its history kept. Other systems (the
party committee's 督查室, statistics, 考核评价) subscribe to these events.

Owners are departments or roles; a leader named as owner is a ``Person`` whose name is
sealed (``libs/events/pii``), never in clear.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event, registry
from libs.events.contracts.accountability import Person


class RectificationSource(BaseModel):
    """Where a list's problems were found: a case, a 巡察, an inspection, an alert pattern
    or a 纪检监察建议书, and that source's own reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """``case`` / ``inspection`` (巡察) / ``check`` (监督检查) / ``alert_pattern`` / ``suggestion``."""
    reference: str
    """The source's number or id (案件 id, 巡察 batch, 建议书文号)."""
    summary: str = ""


class Evidence(BaseModel):
    """整改佐证材料: what shows an item was done (a file by its hash, or a description)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    sha256: str | None = None


@registry.register
class RectificationListOpened(Event):
    """清单交办: a unit's problem list handed over, with its source and, for a 巡察, the
    双报告 it owes (to the party committee and to the commission) by ``report_due``."""

    type_name = "zhengfeng.rectification.list_opened"
    version = 1

    list_id: UUID
    unit: str
    title: str
    source: RectificationSource
    reports_to: list[str] = Field(default_factory=list)
    """``party_committee`` and/or ``commission`` (双报告)."""
    report_due: date | None = None
    opened_by: str
    opened_at: datetime


@registry.register
class RectificationItemAssigned(Event):
    """One problem on the list: its measures, the owning department, the deadline (a
    立行立改 item has the short one of the rules)."""

    type_name = "zhengfeng.rectification.item_assigned"
    version = 1

    list_id: UUID
    item_id: UUID
    problem: str
    category: str | None = None
    measures: list[str] = Field(default_factory=list)
    owner: str
    """The department or role that owns the item (责任部门), never a person."""
    owner_leader: Person | None = None
    """The leader in charge, if named: masked name, sealed tokens (context: the list)."""
    immediate: bool = False
    """立行立改."""
    deadline: date
    assigned_by: str
    assigned_at: datetime


@registry.register
class RectificationProgressNoted(Event):
    """跟踪督办: the unit's progress on an item, or the commission's 督办 (``urged``)."""

    type_name = "zhengfeng.rectification.progress_noted"
    version = 1

    list_id: UUID
    item_id: UUID
    note: str
    urged: bool = False
    noted_by: str
    noted_at: datetime


@registry.register
class RectificationItemOverdue(Event):
    """An item passed its deadline unfinished: noticed once per round, escalated."""

    type_name = "zhengfeng.rectification.item_overdue"
    version = 1

    list_id: UUID
    item_id: UUID
    unit: str
    round: int
    deadline: date
    escalate_to: str
    """Who is told: the role that supervises rectification (党风政风监督室)."""
    noticed_at: datetime


@registry.register
class RectificationItemCompleted(Event):
    """结果反馈: the unit reports the item done, with evidence and any 问责处理."""

    type_name = "zhengfeng.rectification.item_completed"
    version = 1

    list_id: UUID
    item_id: UUID
    summary: str
    evidence: list[Evidence] = Field(default_factory=list)
    accountability: str = ""
    """问责处理: what was done about those responsible (counts and measures, no names)."""
    completed_by: str
    completed_at: datetime


@registry.register
class RectificationItemAccepted(Event):
    """验收: the commission's acceptance of a completed item; a failed one goes back to the
    unit; a passed one is looked back on (回头看) from ``review_due``."""

    type_name = "zhengfeng.rectification.item_accepted"
    version = 1

    list_id: UUID
    item_id: UUID
    passed: bool
    opinion: str
    review_due: date | None = None
    accepted_by: str
    accepted_at: datetime


@registry.register
class RectificationItemReviewed(Event):
    """回头看: whether the item's rectification held; if it holds the item is 销号."""

    type_name = "zhengfeng.rectification.item_reviewed"
    version = 1

    list_id: UUID
    item_id: UUID
    holds: bool
    finding: str
    reviewed_by: str
    reviewed_at: datetime


@registry.register
class RectificationItemReopened(Event):
    """A 回头看 found the problem back: the item opens again (a new round and deadline);
    what happened before stays in its history."""

    type_name = "zhengfeng.rectification.item_reopened"
    version = 1

    list_id: UUID
    item_id: UUID
    round: int
    reason: str
    deadline: date
    reopened_by: str
    reopened_at: datetime


@registry.register
class RectificationReported(Event):
    """双报告: the unit's rectification report, to the party committee or the commission."""

    type_name = "zhengfeng.rectification.reported"
    version = 1

    list_id: UUID
    to: str
    summary: str
    reported_by: str
    reported_at: datetime


@registry.register
class RectificationReportOverdue(Event):
    """双报告 not made by its day: noticed once per list, naming who was not reported to."""

    type_name = "zhengfeng.rectification.report_overdue"
    version = 1

    list_id: UUID
    unit: str
    missing: list[str]
    """``party_committee`` / ``commission``: the reports still owed."""
    report_due: date
    escalate_to: str
    noticed_at: datetime


@registry.register
class SuggestionIssued(Event):
    """纪检监察建议书: issued to a unit from a decided case or an inquiry, with the problems
    it exposed, what the commission recommends and when the unit must reply. Its numbered
    document follows as ``DocumentIssued`` on the same stream."""

    type_name = "zhengfeng.rectification.suggestion_issued"
    version = 1

    suggestion_id: UUID
    unit: str
    basis: RectificationSource
    """``case`` or ``inquiry`` and its id."""
    problems: list[str]
    recommendations: list[str]
    reply_due: date
    issued_by: str
    issued_at: datetime


@registry.register
class SuggestionReplyOverdue(Event):
    """The unit did not reply by the deadline: noticed once, escalated."""

    type_name = "zhengfeng.rectification.suggestion_reply_overdue"
    version = 1

    suggestion_id: UUID
    unit: str
    reply_due: date
    escalate_to: str
    noticed_at: datetime


@registry.register
class SuggestionReplied(Event):
    """The unit's reply: what it will do; its measures open the unit's rectification list
    ``list_id``."""

    type_name = "zhengfeng.rectification.suggestion_replied"
    version = 1

    suggestion_id: UUID
    summary: str
    list_id: UUID
    replied_by: str
    replied_at: datetime
