"""整改台账: a unit's problem list, tracked to the end and looked back on, decided purely.

The loop every list follows — 清单交办 (the list and its items handed over), 跟踪督办
(progress and 督办 noted, an item past its deadline noticed once per round), 结果反馈 (the
unit reports an item done, with evidence), 回访销号 (验收, then a 回头看 after the period
of the rules: an item that holds is 销号, one that does not opens again). Deadlines are
working days (``libs.kit.workdays``); periods and labels are data (``data/rectification.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.accountability import Person
from libs.events.contracts.rectification import (
    Evidence,
    RectificationItemAccepted,
    RectificationItemAssigned,
    RectificationItemCompleted,
    RectificationItemOverdue,
    RectificationItemReopened,
    RectificationItemReviewed,
    RectificationListOpened,
    RectificationProgressNoted,
    RectificationReported,
    RectificationReportOverdue,
    RectificationSource,
)
from libs.kit.workdays import WorkCalendar
from services.accountability.domain.errors import Refused

RULES_FILE = Path(__file__).resolve().parents[1] / "data" / "rectification.json"


@dataclass(frozen=True)
class RectificationRules:
    """The periods and labels of rectification, as data."""

    version: str
    timezone: str
    immediate_working_days: int
    """立行立改: how soon an immediate item is due."""
    default_working_days: Mapping[str, int]
    """An item without a deadline of its own: due after this, by source kind."""
    inspection_report_working_days: int
    """巡察整改: the 双报告 is due after this."""
    review_after_working_days: int
    """回头看: how long after 验收 an item is looked back on."""
    reopen_working_days: int
    """A reopened item's new deadline, unless the 回头看 sets one."""
    suggestion_reply_working_days: int
    escalate_to: str
    source_kinds: Mapping[str, str]
    report_to: Mapping[str, str]
    suggestion_bases: Mapping[str, str]


def load_rules(path: str | Path | None = None) -> RectificationRules:
    """The rectification rules (the shipped ``data/rectification.json`` unless another)."""
    data = json.loads(Path(path or RULES_FILE).read_text(encoding="utf-8"))
    return RectificationRules(**data)


def list_stream(list_id: UUID) -> str:
    """The stream of one unit's problem list."""
    return f"rectification-{list_id}"


STATUS_LABELS = {
    "in_progress": "整改中",
    "completed": "待验收",
    "accepted": "已验收待回头看",
    "closed": "已销号",
}
"""An item's status as a clerk reads it."""

ITEM_COMMANDS: dict[str, tuple[str, ...]] = {
    "in_progress": ("progress", "completion"),
    "completed": ("acceptance",),
    "accepted": ("review",),
    "closed": (),
}
"""What may be done to an item in each status (its commands by route name): the one rule
the commands check and the item's ``allowed_commands`` show."""


@dataclass(frozen=True)
class Context:
    """Who acts, when, and the day it is where the commission sits."""

    actor: str
    now: datetime
    today: date


# -- commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    """A problem to put on the list."""

    item_id: UUID
    problem: str
    owner: str
    measures: Sequence[str] = ()
    category: str | None = None
    owner_leader: Person | None = None
    immediate: bool = False
    deadline: date | None = None
    working_days: int | None = None


@dataclass(frozen=True)
class OpenList:
    list_id: UUID
    unit: str
    title: str
    source: RectificationSource
    items: Sequence[NewItem]
    dual_report: bool = False
    """巡察整改: the unit owes the 双报告 (party committee and commission)."""


@dataclass(frozen=True)
class AddItem:
    item: NewItem


@dataclass(frozen=True)
class NoteProgress:
    item_id: UUID
    note: str
    urged: bool = False


@dataclass(frozen=True)
class CompleteItem:
    item_id: UUID
    summary: str
    evidence: Sequence[Evidence] = ()
    accountability: str = ""


@dataclass(frozen=True)
class AcceptItem:
    item_id: UUID
    passed: bool
    opinion: str


@dataclass(frozen=True)
class ReviewItem:
    item_id: UUID
    holds: bool
    finding: str
    deadline: date | None = None
    """A reopened item's new deadline (default: ``reopen_working_days`` from today)."""


@dataclass(frozen=True)
class Report:
    to: str
    summary: str


@dataclass(frozen=True)
class NoticeOverdue:
    item_id: UUID


@dataclass(frozen=True)
class NoticeReportOverdue:
    """The 双报告's day passed with reports still owed."""


Command = (
    OpenList
    | AddItem
    | NoteProgress
    | CompleteItem
    | AcceptItem
    | ReviewItem
    | Report
    | NoticeOverdue
    | NoticeReportOverdue
)

# -- state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One problem of the list as its events left it."""

    assigned: RectificationItemAssigned
    deadline: date
    status: str = "in_progress"
    round: int = 1
    overdue_round: int = 0
    """The round whose deadline was noticed as passed (0: none)."""
    completed: RectificationItemCompleted | None = None
    accepted: RectificationItemAccepted | None = None
    history: tuple[Event, ...] = ()

    @property
    def overdue(self) -> bool:
        """Past its deadline in this round, and noticed."""
        return self.status == "in_progress" and self.overdue_round == self.round

    @property
    def review_due(self) -> date | None:
        """When the 回头看 is due (once accepted)."""
        return self.accepted.review_due if self.accepted and self.status == "accepted" else None


@dataclass(frozen=True)
class RectificationList:
    """A unit's problem list as its events left it."""

    opened: RectificationListOpened | None = None
    items: dict[UUID, Item] = field(default_factory=dict)
    reports: tuple[RectificationReported, ...] = ()
    report_overdue: bool = False
    """The 双报告's day passed with a report owed (noticed once)."""

    @property
    def reports_owed(self) -> list[str]:
        """The 双报告 recipients not reported to yet."""
        done = {r.to for r in self.reports}
        return [to for to in (self.opened.reports_to if self.opened else []) if to not in done]

    def item(self, item_id: UUID) -> Item:
        found = self.items.get(item_id)
        if found is None:
            raise Refused("unknown-item", f"该整改清单没有整改事项 {item_id}。", kind="missing")
        return found


def _on_item(
    state: RectificationList, item_id: UUID, event: Event, **changes: object
) -> RectificationList:
    item = state.items[item_id]
    item = replace(item, history=(*item.history, event), **changes)  # type: ignore[arg-type]
    return replace(state, items={**state.items, item_id: item})


def evolve(state: RectificationList, event: Event) -> RectificationList:
    """Fold one event into the list."""
    if isinstance(event, RectificationListOpened):
        return replace(state, opened=event)
    if isinstance(event, RectificationItemAssigned):
        item = Item(assigned=event, deadline=event.deadline, history=(event,))
        return replace(state, items={**state.items, event.item_id: item})
    if isinstance(event, RectificationProgressNoted):
        return _on_item(state, event.item_id, event)
    if isinstance(event, RectificationItemOverdue):
        return _on_item(state, event.item_id, event, overdue_round=event.round)
    if isinstance(event, RectificationItemCompleted):
        return _on_item(state, event.item_id, event, status="completed", completed=event)
    if isinstance(event, RectificationItemAccepted):
        status = "accepted" if event.passed else "in_progress"
        return _on_item(state, event.item_id, event, status=status, accepted=event)
    if isinstance(event, RectificationItemReviewed):
        return _on_item(state, event.item_id, event, status="closed" if event.holds else "accepted")
    if isinstance(event, RectificationItemReopened):
        return _on_item(
            state,
            event.item_id,
            event,
            status="in_progress",
            round=event.round,
            deadline=event.deadline,
            completed=None,
            accepted=None,
        )
    if isinstance(event, RectificationReported):
        return replace(state, reports=(*state.reports, event))
    if isinstance(event, RectificationReportOverdue):
        return replace(state, report_overdue=True)
    return state


def replay(events: Sequence[Event]) -> RectificationList:
    """The list from its whole history."""
    state = RectificationList()
    for e in events:
        state = evolve(state, e)
    return state


# -- decisions --------------------------------------------------------------------------


def deadline_of(
    item: NewItem, source_kind: str, today: date, rules: RectificationRules, calendar: WorkCalendar
) -> date:
    """An item's deadline: its own date, its working days, 立行立改's short period, or the
    source kind's default — counted in working days from ``today``."""
    if item.deadline is not None:
        if item.deadline <= today:
            raise Refused(
                "deadline-passed",
                f"整改时限 {item.deadline} 不能早于或等于今天。",
                field="deadline",
            )
        return item.deadline
    if item.working_days is not None:
        days = item.working_days
    elif item.immediate:
        days = rules.immediate_working_days
    else:
        days = rules.default_working_days.get(source_kind, rules.reopen_working_days)
    return calendar.add_workdays(today, days)


def _assign(
    list_id: UUID,
    item: NewItem,
    source_kind: str,
    ctx: Context,
    rules: RectificationRules,
    calendar: WorkCalendar,
) -> RectificationItemAssigned:
    if not item.problem.strip():
        raise Refused("problem-required", "请写明存在的问题。", field="problem")
    if not item.owner.strip():
        raise Refused("owner-required", "请写明责任部门。", field="owner")
    return RectificationItemAssigned(
        list_id=list_id,
        item_id=item.item_id,
        problem=item.problem.strip(),
        category=item.category,
        measures=[m.strip() for m in item.measures if m.strip()],
        owner=item.owner.strip(),
        owner_leader=item.owner_leader,
        immediate=item.immediate,
        deadline=deadline_of(item, source_kind, ctx.today, rules, calendar),
        assigned_by=ctx.actor,
        assigned_at=ctx.now,
    )


def decide(
    state: RectificationList,
    command: Command,
    ctx: Context,
    rules: RectificationRules,
    calendar: WorkCalendar,
) -> list[Event]:
    """The events a command records on the list; ``Refused`` when the rules forbid it."""
    if isinstance(command, OpenList):
        return _open(state, command, ctx, rules, calendar)
    opened = state.opened
    if opened is None:
        raise Refused("no-list", "没有这份整改清单。", kind="missing", title="整改清单不存在")
    if isinstance(command, AddItem):
        if command.item.item_id in state.items:
            raise Refused("item-exists", "该整改事项已在清单上。", kind="conflict")
        return [_assign(opened.list_id, command.item, opened.source.kind, ctx, rules, calendar)]
    if isinstance(command, Report):
        return _report(state, command, ctx, rules)
    if isinstance(command, NoticeReportOverdue):
        return _report_overdue(state, ctx, rules)
    item = state.item(command.item_id)
    if isinstance(command, NoticeOverdue):
        return _overdue(state, item, ctx, rules)
    if isinstance(command, NoteProgress):
        _must_be(item, "progress", "只有整改中的事项可以记录进展或督办")
        return [
            RectificationProgressNoted(
                list_id=opened.list_id,
                item_id=item.assigned.item_id,
                note=command.note,
                urged=command.urged,
                noted_by=ctx.actor,
                noted_at=ctx.now,
            )
        ]
    if isinstance(command, CompleteItem):
        _must_be(item, "completion", "只有整改中的事项可以反馈整改结果")
        if not command.evidence:
            raise Refused("evidence-required", "反馈整改结果须附佐证材料。", field="evidence")
        return [
            RectificationItemCompleted(
                list_id=opened.list_id,
                item_id=item.assigned.item_id,
                summary=command.summary,
                evidence=list(command.evidence),
                accountability=command.accountability,
                completed_by=ctx.actor,
                completed_at=ctx.now,
            )
        ]
    if isinstance(command, AcceptItem):
        _must_be(item, "acceptance", "只有已反馈整改结果的事项可以验收")
        review_due = (
            calendar.add_workdays(ctx.today, rules.review_after_working_days)
            if command.passed
            else None
        )
        return [
            RectificationItemAccepted(
                list_id=opened.list_id,
                item_id=item.assigned.item_id,
                passed=command.passed,
                opinion=command.opinion,
                review_due=review_due,
                accepted_by=ctx.actor,
                accepted_at=ctx.now,
            )
        ]
    return _review(state, item, command, ctx, rules, calendar)


def _must_be(item: Item, command: str, what: str) -> None:
    if command not in ITEM_COMMANDS[item.status]:
        raise Refused(
            "wrong-item-status",
            f"{what}；该事项当前为「{STATUS_LABELS[item.status]}」。",
            kind="conflict",
            title="整改事项状态不符",
        )


def _open(
    state: RectificationList,
    c: OpenList,
    ctx: Context,
    rules: RectificationRules,
    calendar: WorkCalendar,
) -> list[Event]:
    if state.opened is not None:
        raise Refused("list-exists", "该整改清单已交办。", kind="conflict")
    if c.source.kind not in rules.source_kinds:
        raise Refused(
            "unknown-source-kind",
            f"{c.source.kind} 不是整改来源，可选："
            f"{'、'.join(f'{k}（{v}）' for k, v in rules.source_kinds.items())}。",
            field="source.kind",
        )
    if not c.items:
        raise Refused("items-required", "整改清单至少要有一个问题。", field="items")
    ids = [i.item_id for i in c.items]
    if len(set(ids)) != len(ids):
        raise Refused("item-exists", "清单中有重复的整改事项。", field="items")
    opened = RectificationListOpened(
        list_id=c.list_id,
        unit=c.unit,
        title=c.title,
        source=c.source,
        reports_to=list(rules.report_to) if c.dual_report else [],
        report_due=(
            calendar.add_workdays(ctx.today, rules.inspection_report_working_days)
            if c.dual_report
            else None
        ),
        opened_by=ctx.actor,
        opened_at=ctx.now,
    )
    items = [_assign(c.list_id, i, c.source.kind, ctx, rules, calendar) for i in c.items]
    return [opened, *items]


def _report(
    state: RectificationList, c: Report, ctx: Context, rules: RectificationRules
) -> list[Event]:
    assert state.opened is not None
    if c.to not in rules.report_to:
        raise Refused(
            "unknown-report-to",
            f"{c.to} 不是报告对象，可选："
            f"{'、'.join(f'{k}（{v}）' for k, v in rules.report_to.items())}。",
            field="to",
        )
    return [
        RectificationReported(
            list_id=state.opened.list_id,
            to=c.to,
            summary=c.summary,
            reported_by=ctx.actor,
            reported_at=ctx.now,
        )
    ]


def _report_overdue(
    state: RectificationList, ctx: Context, rules: RectificationRules
) -> list[Event]:
    """Once per list: the 双报告's day passed and a report is still owed."""
    opened = state.opened
    assert opened is not None
    owed = state.reports_owed
    if state.report_overdue or not owed or opened.report_due is None:
        return []
    if ctx.today <= opened.report_due:
        return []
    return [
        RectificationReportOverdue(
            list_id=opened.list_id,
            unit=opened.unit,
            missing=owed,
            report_due=opened.report_due,
            escalate_to=rules.escalate_to,
            noticed_at=ctx.now,
        )
    ]


def _overdue(
    state: RectificationList, item: Item, ctx: Context, rules: RectificationRules
) -> list[Event]:
    """Once per round: an unfinished item whose deadline passed."""
    assert state.opened is not None
    if (
        item.status != "in_progress"
        or item.deadline >= ctx.today
        or item.overdue_round == item.round
    ):
        return []
    return [
        RectificationItemOverdue(
            list_id=state.opened.list_id,
            item_id=item.assigned.item_id,
            unit=state.opened.unit,
            round=item.round,
            deadline=item.deadline,
            escalate_to=rules.escalate_to,
            noticed_at=ctx.now,
        )
    ]


def _review(
    state: RectificationList,
    item: Item,
    c: ReviewItem,
    ctx: Context,
    rules: RectificationRules,
    calendar: WorkCalendar,
) -> list[Event]:
    assert state.opened is not None
    _must_be(item, "review", "只有已验收的事项可以回头看")
    due = item.review_due
    # A problem found back reopens the item at once; 销号 waits until the period has shown
    # that the rectification holds.
    if c.holds and due is not None and ctx.today < due:
        raise Refused(
            "review-not-due",
            f"回头看确认整改成效、予以销号，须在验收后 {rules.review_after_working_days} 个"
            f"工作日进行，该事项 {due} 起可销号；发现问题反弹的可随时重新整改。",
            kind="conflict",
            title="尚未到回头看时间",
        )
    if not c.holds and not c.finding.strip():
        raise Refused(
            "finding-required", "回头看发现问题反弹的，请写明发现的问题。", field="finding"
        )
    reviewed = RectificationItemReviewed(
        list_id=state.opened.list_id,
        item_id=item.assigned.item_id,
        holds=c.holds,
        finding=c.finding,
        reviewed_by=ctx.actor,
        reviewed_at=ctx.now,
    )
    if c.holds:
        return [reviewed]
    if c.deadline is not None and c.deadline <= ctx.today:
        raise Refused(
            "deadline-passed", f"整改时限 {c.deadline} 不能早于或等于今天。", field="deadline"
        )
    deadline = c.deadline or calendar.add_workdays(ctx.today, rules.reopen_working_days)
    return [
        reviewed,
        RectificationItemReopened(
            list_id=state.opened.list_id,
            item_id=item.assigned.item_id,
            round=item.round + 1,
            reason=c.finding,
            deadline=deadline,
            reopened_by=ctx.actor,
            reopened_at=ctx.now,
        ),
    ]


def progress(state: RectificationList) -> dict[str, int]:
    """How far the list got: items by status, overdue and 立行立改 ones."""
    counts = {s: 0 for s in STATUS_LABELS}
    for item in state.items.values():
        counts[item.status] += 1
    return {
        "total": len(state.items),
        **counts,
        "overdue": sum(i.overdue for i in state.items.values()),
        "immediate": sum(i.assigned.immediate for i in state.items.values()),
        "reopened": sum(i.round > 1 for i in state.items.values()),
    }
