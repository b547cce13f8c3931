"""整改台账 as commands of the pipeline: the list aggregate, its commands, the list as a
clerk reads it, and the overdue notices of the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.accountability import Person
from libs.events.contracts.rectification import (
    Evidence,
    RectificationItemAccepted,
    RectificationItemCompleted,
    RectificationItemOverdue,
    RectificationItemReopened,
    RectificationItemReviewed,
    RectificationProgressNoted,
    RectificationReportOverdue,
    RectificationSource,
)
from libs.events.store import EventStore
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.roles import ROLE_LABELS
from services.accountability import queries_rectification as queries
from services.accountability.domain import rectification as domain
from services.accountability.domain.rectification import (
    ITEM_COMMANDS,
    STATUS_LABELS,
    Item,
    RectificationList,
    RectificationRules,
    evolve,
    list_stream,
)
from services.accountability.service import overdue

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=100)]


class _In(BaseModel):
    model_config = STRIPPED


class ItemIn(_In):
    """One problem: what is wrong, what will be done, who owns it, by when."""

    problem: Text
    owner: Short = Field(description="责任部门或岗位（不写个人姓名）")
    measures: list[Text] = Field(default_factory=list, max_length=20)
    category: str | None = Field(default=None, max_length=50)
    owner_leader: str | None = Field(
        default=None, max_length=50, description="分管领导姓名（加密保存，只显示脱敏姓名）"
    )
    immediate: bool = Field(default=False, description="立行立改")
    deadline: date | None = None
    working_days: int | None = Field(default=None, ge=1, le=500)


SOURCE_KIND_CATALOGUE = "rectification-source-kinds"
"""``x-catalogue`` of a rectification's source (``source_kinds`` of the rules)."""
REPORT_TO_CATALOGUE = "rectification-report-to"
"""``x-catalogue`` of whom a rectification is reported to (``report_to`` of the rules)."""


class SourceIn(_In):
    kind: Short = Field(json_schema_extra={"x-catalogue": SOURCE_KIND_CATALOGUE})
    reference: Short
    summary: str = Field(default="", max_length=2000)


class OpenIn(_In):
    """清单交办: a unit's problem list with its source."""

    unit: Short
    title: Annotated[str, Field(min_length=1, max_length=200)]
    source: SourceIn
    items: list[ItemIn] = Field(min_length=1, max_length=200)
    dual_report: bool = Field(default=False, description="双报告（向党委和纪委监委报告整改情况）")


class ProgressIn(_In):
    note: Text
    urged: bool = Field(default=False, description="督办（而非单位报告进展）")


class EvidenceIn(_In):
    description: Text
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class CompletionIn(_In):
    summary: Text
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=50)
    accountability: str = Field(default="", max_length=2000, description="问责处理情况（不写姓名）")


class AcceptanceIn(_In):
    passed: bool
    opinion: Text


class ReviewIn(_In):
    holds: bool
    finding: str = Field(default="", max_length=2000)
    deadline: date | None = None


class ReportIn(_In):
    to: Short = Field(
        description="party_committee 或 commission",
        json_schema_extra={"x-catalogue": REPORT_TO_CATALOGUE},
    )
    summary: Text


class OnItem(BaseModel):
    """A command on one item of a list: the item (from the path) and the body."""

    item_id: UUID
    body: ProgressIn | CompletionIn | AcceptanceIn | ReviewIn


def local_today(now: datetime, rules: RectificationRules) -> date:
    """The day it is where the commission sits."""
    return now.astimezone(ZoneInfo(rules.timezone)).date()


def _ctx(ctx: Context) -> domain.Context:
    return domain.Context(ctx.actor, ctx.now, local_today(ctx.now, ctx.deps.rectification))


def decide_on(state: RectificationList, command: domain.Command, ctx: Context) -> list[Event]:
    """The domain's decision with the service's rules and calendar."""
    d = ctx.deps
    return domain.decide(state, command, _ctx(ctx), d.rectification, d.calendar)


async def sealed_leader(ctx: Context, name: str | None, unit: str, list_id: UUID) -> Person | None:
    """A leader named as an item's owner, sealed under the list (never in clear)."""
    if not name:
        return None
    sealed = await pii.sealed_person(
        ctx.deps.vault, ctx.conn, name=name, unit=unit, context=str(list_id), now=ctx.now
    )
    return Person(
        name=sealed["name"],
        person_ref=sealed["person_ref"],
        blind_index=sealed["blind_index"],
        sealed=sealed["sealed"],
    )


async def new_items(
    ctx: Context, items: list[ItemIn], unit: str, list_id: UUID
) -> list[domain.NewItem]:
    """The domain's items from a request's, owner leaders sealed."""
    return [
        domain.NewItem(
            item_id=uuid4(),
            problem=i.problem,
            owner=i.owner,
            measures=tuple(i.measures),
            category=i.category,
            owner_leader=await sealed_leader(ctx, i.owner_leader, unit, list_id),
            immediate=i.immediate,
            deadline=i.deadline,
            working_days=i.working_days,
        )
        for i in items
    ]


_HISTORY: dict[type[Event], tuple[str, Callable[[Any], tuple[datetime, str, str]]]] = {
    RectificationProgressNoted: (
        "跟踪督办",
        lambda e: (e.noted_at, e.noted_by, ("督办：" if e.urged else "进展：") + e.note),
    ),
    RectificationItemOverdue: (
        "逾期未完成",
        lambda e: (
            e.noticed_at,
            overdue.ACTOR,
            f"第{e.round}轮整改时限 {e.deadline} 已过，已提醒"
            f"{ROLE_LABELS.get(e.escalate_to, e.escalate_to)}",
        ),
    ),
    RectificationItemCompleted: (
        "结果反馈",
        lambda e: (e.completed_at, e.completed_by, e.summary),
    ),
    RectificationItemAccepted: (
        "验收",
        lambda e: (
            e.accepted_at,
            e.accepted_by,
            ("通过：" if e.passed else "未通过：") + e.opinion,
        ),
    ),
    RectificationItemReviewed: (
        "回头看",
        lambda e: (
            e.reviewed_at,
            e.reviewed_by,
            ("整改成效巩固，销号。" if e.holds else "问题反弹：") + e.finding,
        ),
    ),
    RectificationItemReopened: (
        "重新整改",
        lambda e: (
            e.reopened_at,
            e.reopened_by,
            f"第{e.round}轮，整改时限 {e.deadline}：{e.reason}",
        ),
    ),
}


def _history(item: Item) -> list[dict[str, Any]]:
    a = item.assigned
    out = [{"action": "交办", "at": a.assigned_at.isoformat(), "by": a.assigned_by,
            "note": f"整改时限 {a.deadline}"}]  # fmt: skip
    for e in item.history[1:]:
        label, of = _HISTORY[type(e)]
        at, by, note = of(e)
        out.append({"action": label, "at": at.isoformat(), "by": by, "note": note})
    return out


def item_view(list_id: UUID, item: Item) -> dict[str, Any]:
    """One item as a clerk reads it, with its whole history."""
    a = item.assigned
    return {
        "item_id": str(a.item_id),
        "list_id": str(list_id),
        "problem": a.problem,
        "category": a.category,
        "measures": a.measures,
        "owner": a.owner,
        "owner_leader": a.owner_leader.name if a.owner_leader else None,
        "immediate": a.immediate,
        "deadline": item.deadline.isoformat(),
        "round": item.round,
        "status": item.status,
        "status_label": STATUS_LABELS[item.status],
        "overdue": item.overdue,
        "review_due": item.review_due.isoformat() if item.review_due else None,
        "allowed_commands": list(ITEM_COMMANDS[item.status]),
        "completed": (
            item.completed.model_dump(
                mode="json", include={"summary", "evidence", "accountability"}
            )
            if item.completed
            else None
        ),
        "history": _history(item),
    }


def view(state: RectificationList, version: int, rules: RectificationRules) -> dict[str, Any]:
    """The list as a clerk reads it: source, 双报告, progress and every item."""
    o = state.opened
    assert o is not None
    reported = {r.to: r for r in state.reports}
    return {
        "list_id": str(o.list_id),
        "version": version,
        "unit": o.unit,
        "title": o.title,
        "source": {
            **o.source.model_dump(mode="json"),
            "kind_label": rules.source_kinds.get(o.source.kind, o.source.kind),
        },
        "report_due": o.report_due.isoformat() if o.report_due else None,
        "reports": [
            {
                "to": to,
                "label": rules.report_to.get(to, to),
                "reported_at": reported[to].reported_at.isoformat() if to in reported else None,
                "summary": reported[to].summary if to in reported else None,
                "overdue": state.report_overdue and to not in reported,
            }
            for to in o.reports_to
        ],
        "opened_by": o.opened_by,
        "opened_at": o.opened_at.isoformat(),
        "progress": domain.progress(state),
        "items": [item_view(o.list_id, i) for i in state.items.values()],
    }


LIST: Aggregate[RectificationList] = Aggregate(
    noun="rectification",
    label="整改清单",
    stream=list_stream,
    initial=RectificationList,
    evolve=evolve,
)
"""整改台账: one stream per unit's problem list."""


def new_list_id(principal: Principal, idempotency_key: str | None) -> UUID:
    """A retry with the same Idempotency-Key names the same list; without a key, a new one."""
    if idempotency_key is None:
        return uuid4()
    return uuid5(NAMESPACE_URL, f"zhengfeng:rectification:{principal.actor}:{idempotency_key}")


def _render(state: RectificationList, ctx: Context) -> dict[str, Any]:
    return view(state, ctx.version, ctx.deps.rectification)


async def open_list_events(
    state: RectificationList,
    ctx: Context,
    *,
    list_id: UUID,
    body: OpenIn,
) -> list[Event]:
    """What 清单交办 records (also for a 巡察's findings and a 建议书's reply)."""
    items = await new_items(ctx, body.items, body.unit, list_id)
    command = domain.OpenList(
        list_id=list_id,
        unit=body.unit,
        title=body.title,
        source=RectificationSource(**body.source.model_dump()),
        items=items,
        dual_report=body.dual_report,
    )
    return decide_on(state, command, ctx)


async def _open(state: RectificationList, body: OpenIn, ctx: Context) -> list[Event]:
    return await open_list_events(state, ctx, list_id=ctx.key, body=body)


OPEN: Command[RectificationList] = Command(
    name="open_rectification",
    aggregate=LIST,
    decide=_open,
    render=_render,
    creates=True,
    status_code=201,
    label="整改清单交办",
    location=lambda body: f"/v1/rectifications/{body['list_id']}",
)


async def _add(state: RectificationList, body: ItemIn, ctx: Context) -> list[Event]:
    assert state.opened is not None
    [item] = await new_items(ctx, [body], state.opened.unit, state.opened.list_id)
    return decide_on(state, domain.AddItem(item), ctx)


ADD_ITEM: Command[RectificationList] = Command(
    name="add_rectification_item",
    aggregate=LIST,
    decide=_add,
    render=_render,
    status_code=201,
    label="增加整改事项",
)


def _on_item(name: str, label: str, to_domain: Callable[[UUID, Any], domain.Command], *,
             if_match: str = "optional") -> Command[RectificationList]:  # fmt: skip
    def decide(state: RectificationList, on: OnItem, ctx: Context) -> list[Event]:
        return decide_on(state, to_domain(on.item_id, on.body), ctx)

    return Command(
        name=name,
        aggregate=LIST,
        decide=decide,
        render=_render,
        if_match=if_match,  # type: ignore[arg-type]
        label=label,
        body_model=OnItem,
        required_if_match="请在 If-Match 中带上您读取的整改清单版本号（ETag）。",
    )


NOTE_PROGRESS = _on_item(
    "note_rectification_progress",
    "跟踪督办",
    lambda i, b: domain.NoteProgress(i, b.note, b.urged),
)
COMPLETE = _on_item(
    "complete_rectification_item",
    "整改结果反馈",
    lambda i, b: domain.CompleteItem(
        i, b.summary, tuple(Evidence(**e.model_dump()) for e in b.evidence), b.accountability
    ),
)
ACCEPT = _on_item(
    "accept_rectification_item",
    "整改验收",
    lambda i, b: domain.AcceptItem(i, b.passed, b.opinion),
    if_match="required",
)
REVIEW = _on_item(
    "review_rectification_item",
    "回头看",
    lambda i, b: domain.ReviewItem(i, b.holds, b.finding, b.deadline),
    if_match="required",
)
REPORT: Command[RectificationList] = Command(
    name="report_rectification",
    aggregate=LIST,
    decide=lambda state, b, ctx: decide_on(state, domain.Report(b.to, b.summary), ctx),
    render=_render,
    status_code=201,
    label="整改情况报告",
)


async def read_list(store: EventStore, list_id: UUID) -> tuple[RectificationList, int]:
    """A list as it stands and its version (the ``ETag`` of its commands)."""
    history = await store.read_stream(list_stream(list_id))
    if not history:
        raise LIST.missing_problem(list_id)
    return LIST.replay([r.event for r in history]), history[-1].version


# -- overdue ----------------------------------------------------------------------------


def overdue_event_id(item_id: UUID, round_: int) -> UUID:
    """The id of an item's overdue notice: one per item and round, whoever writes it."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:rectification:{item_id}:{round_}:overdue")


async def notice_overdue(store: EventStore, deps: Any, today: date) -> int:
    """Record ``RectificationItemOverdue`` for every unfinished item past its deadline (once
    per round) and ``RectificationReportOverdue`` for every 双报告 owed past its day (once),
    each noted on the unit; how many."""
    async with store.engine.connect() as conn:
        items = await queries.items_past_deadline(conn, today)
        reports = await queries.reports_past_due(conn, today)

    def item_late(n: RectificationItemOverdue) -> overdue.Late:
        return overdue.Late(overdue_event_id(n.item_id, n.round),
                            f"rectification:{n.item_id}:{n.round}", "rectification", n.deadline)  # fmt: skip

    def report_late(n: RectificationReportOverdue) -> overdue.Late:
        event_id = uuid5(NAMESPACE_URL, f"zhengfeng:rectification:{n.list_id}:report-overdue")
        return overdue.Late(event_id, f"rectification_report:{n.list_id}", "rectification_report",
                            n.report_due)  # fmt: skip

    def decide(
        command: domain.Command,
    ) -> Callable[[RectificationList, domain.Context], list[Event]]:
        return lambda state, ctx: domain.decide(
            state, command, ctx, deps.rectification, deps.calendar
        )

    async def item(row: tuple[UUID, UUID]) -> int:
        list_id, item_id = row
        stream = list_stream(list_id)
        return await overdue.notice_once(
            store, deps, stream, LIST, decide(domain.NoticeOverdue(item_id)), item_late, today
        )

    async def report(list_id: UUID) -> int:
        stream = list_stream(list_id)
        return await overdue.notice_once(
            store, deps, stream, LIST, decide(domain.NoticeReportOverdue()), report_late, today
        )

    return await overdue.each(items, item) + await overdue.each(reports, report)


__all__ = [
    "ACCEPT",
    "ADD_ITEM",
    "COMPLETE",
    "LIST",
    "NOTE_PROGRESS",
    "OPEN",
    "REPORT",
    "REVIEW",
    "AcceptanceIn",
    "CompletionIn",
    "ItemIn",
    "OnItem",
    "OpenIn",
    "ProgressIn",
    "ReportIn",
    "ReviewIn",
    "new_list_id",
    "notice_overdue",
    "read_list",
    "view",
]
