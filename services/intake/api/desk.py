"""The intake desk (信访室台账): clerks list and filter every clue, and read each clue's
handler ledger (经手人记录).

Both read the ``clue_desk`` projection (rebuildable from the store); personal data is
masked there for good, so the list never needs to record a read. Opening a clue does:
``service.clues.record_view`` writes a ClueViewed event for every masked read.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import RowMapping

from libs.events.taxonomy import Taxonomy
from libs.kit.auth import Principal, require_roles
from libs.kit.fields import CATEGORY_FILTER_CATALOGUE, DATE_ORDER
from libs.kit.openapi import refusals
from libs.kit.pagination import Page
from libs.kit.problems import Problem, dates_out_of_order
from libs.kit.service import ReadConnection, Store
from services.intake import queries
from services.intake.api.deps import IntakeDeps
from services.intake.domain.desk import (
    ACKNOWLEDGEMENT_STATES,
    SOURCE_KINDS,
    action_label,
    actor_kind,
    source_kind_label,
)
from services.intake.domain.duplicates import priority
from services.intake.domain.jurisdiction import STATUS_LABELS as JURISDICTION_LABELS
from services.intake.domain.progress import STATUSES, status_label
from services.intake.domain.transfers import URGENCIES
from services.intake.queries import DeskFilter, DeskSort
from services.intake.service import Deps
from services.intake.service.clues import OPERATOR_ROLES

router = APIRouter(prefix="/v1", tags=["clues (operators)"])

Operator = Annotated[Principal, require_roles(*OPERATOR_ROLES)]

DeskStatus = StrEnum("DeskStatus", {s: s for s in [*STATUSES, "merged"]})  # type: ignore[misc]
"""Where a clue stands: casework's progress as intake learns it, or merged (重复件)."""
SourceKind = StrEnum("SourceKind", {k: k for k in SOURCE_KINDS})  # type: ignore[misc]
Urgency = StrEnum("Urgency", {u: u for u in URGENCIES})  # type: ignore[misc]
Jurisdiction = StrEnum("Jurisdiction", {j: j for j in JURISDICTION_LABELS})  # type: ignore[misc]
Acknowledgement = StrEnum("Acknowledgement", {a: a for a in ACKNOWLEDGEMENT_STATES})  # type: ignore[misc]


class Category(BaseModel):
    """A problem category with the label a clerk reads."""

    code: str
    label: str


class PersonOnDesk(BaseModel):
    """A reported person as the list shows them: the name masked, always."""

    name: str
    unit: str
    post: str | None = None
    rank: str | None = None
    top_leader: bool = False
    key_minority: bool = False


class ClueOnDesk(BaseModel):
    """One clue in the clerks' list."""

    clue_id: UUID
    clue_number: str
    status: str
    """received / registered / disposed / case_filed / closed / name_cleared / merged."""
    status_label: str
    outcome: str | None
    source_kind: str
    source_kind_label: str
    source_department: str | None
    source_reference: str | None
    categories: list[Category]
    reported_persons: list[PersonOnDesk]
    urgency: str
    urgency_label: str
    priority: str
    """normal / elevated / high / top by default: urgency and repeats, by the 重复件 rules."""
    priority_label: str
    received_at: datetime
    repeat_count: int
    """重复件: repeat reports merged into this clue."""
    merged_into: UUID | None
    """For a repeat report: the clue it was merged into."""
    anonymous: bool | None
    """For a public report: whether the reporter is anonymous."""
    acknowledgement: str
    """not_required / due / overdue / acknowledged (受理告知 of real-name reports)."""
    acknowledgement_label: str
    acknowledge_by: date | None
    acknowledged_at: datetime | None
    jurisdiction: str
    """in_jurisdiction / undetermined / marked / kept / forwarded (管辖, 转办)."""
    jurisdiction_label: str
    forward_by: date | None
    """For a clue marked for forwarding or undetermined: the 5-working-day limit."""
    forwarded_to: str | None
    last_touched_at: datetime
    url: str
    handlers_url: str


def _acknowledgement(row: RowMapping, today: date) -> str:
    if row["acknowledged_at"] is not None:
        return "acknowledged"
    if row["acknowledge_by"] is None:
        return "not_required"
    return "overdue" if row["acknowledge_by"] < today else "due"


def _on_desk(row: RowMapping, today: date, deps: Deps) -> ClueOnDesk:
    taxonomy, rules = deps.taxonomy, deps.duplicate_rules
    ack = _acknowledgement(row, today)
    level = priority(row["urgency"], row["repeat_count"], rules)
    return ClueOnDesk(
        clue_id=row["clue_id"],
        clue_number=row["clue_number"],
        status=row["status"],
        status_label="已并入" if row["status"] == "merged" else status_label(row["status"]),
        outcome=row["outcome"],
        source_kind=row["source_kind"],
        source_kind_label=source_kind_label(row["source_kind"]),
        source_department=row["source_department"],
        source_reference=row["source_reference"],
        categories=[Category(code=c, label=taxonomy.label(c)) for c in row["categories"]],
        reported_persons=[PersonOnDesk(**p) for p in row["persons"]],
        urgency=row["urgency"],
        urgency_label=URGENCIES.get(row["urgency"], row["urgency"]),
        priority=level,
        priority_label=rules.label(level),
        received_at=row["received_at"],
        repeat_count=row["repeat_count"],
        merged_into=row["merged_into"],
        anonymous=row["anonymous"],
        acknowledgement=ack,
        acknowledgement_label=ACKNOWLEDGEMENT_STATES[ack],
        acknowledge_by=row["acknowledge_by"],
        acknowledged_at=row["acknowledged_at"],
        jurisdiction=row["jurisdiction"],
        jurisdiction_label=JURISDICTION_LABELS.get(row["jurisdiction"], row["jurisdiction"]),
        forward_by=row["forward_by"],
        forwarded_to=row["forwarded_to"],
        last_touched_at=row["last_touched_at"],
        url=f"/v1/clues/{row['clue_id']}",
        handlers_url=f"/v1/clues/{row['clue_id']}/handlers",
    )


def _category_codes(category: str, taxonomy: Taxonomy) -> list[str]:
    """The codes a category filter means: the code itself (a class with its manifestations),
    or every code of a group."""
    if category in taxonomy:
        code = taxonomy.canonical(category)
        return [code, *(c.code for c in taxonomy.categories.values() if c.parent == code)]
    in_group = [c.code for c in taxonomy.categories.values() if c.group == category]
    if in_group:
        return in_group
    groups = list(dict.fromkeys(c.group for c in taxonomy.categories.values()))
    raise Problem(
        422,
        "unknown-category",
        "问题类别不存在",
        f"「{category}」不是问题类别目录（{taxonomy.version} 版）中的类别或大类，"
        "请从 valid_categories 或 valid_groups 中选用。",
        errors=[{"field": "category", "reason": f"没有类别「{category}」"}],
        valid_categories=taxonomy.codes(),
        valid_groups=groups,
    )


@router.get("/clues", response_model=Page[ClueOnDesk], responses=refusals(DATE_ORDER))
async def list_clues(
    operator: Operator,
    conn: ReadConnection,
    store: Store,
    deps: IntakeDeps,
    status: Annotated[DeskStatus | None, Query(description="办理状态")] = None,
    source_kind: Annotated[
        SourceKind | None, Query(description="来源: 部门移送 / 信访举报 / 12345热线")
    ] = None,
    department: Annotated[
        str | None, Query(max_length=64, description="The transferring department's code")
    ] = None,
    category: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A category code, or a group code (first level)",
            json_schema_extra={"x-catalogue": CATEGORY_FILTER_CATALOGUE},
        ),
    ] = None,
    unit: Annotated[
        str | None, Query(max_length=100, description="A reported person's unit, exactly")
    ] = None,
    received_from: Annotated[
        date | None, Query(description="Received on or after this day")
    ] = None,
    received_to: Annotated[date | None, Query(description="Received on or before this day")] = None,
    min_repeat_count: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    urgency: Urgency | None = None,
    acknowledgement: Annotated[
        Acknowledgement | None, Query(description="受理告知 of real-name reports")
    ] = None,
    jurisdiction: Annotated[
        Jurisdiction | None,
        Query(description="管辖: 本委管辖 / 管辖待定 / 待转办 / 留本委办理 / 已转办"),
    ] = None,
    sort: DeskSort = DeskSort.newest,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ClueOnDesk]:
    """Every clue intake holds, newest first; filters combine (all must hold)."""
    if received_from and received_to and received_to < received_from:
        raise dates_out_of_order("received_to", "不得早于起始日期（received_from）")
    zone = ZoneInfo(deps.settings.timezone)
    today = store.clock().astimezone(zone).date()

    def start_of(day: date | None) -> datetime | None:
        return datetime.combine(day, time(), zone) if day else None

    where = DeskFilter(
        today=today,
        status=status.value if status else None,
        source_kind=source_kind.value if source_kind else None,
        department=department,
        categories=_category_codes(category, deps.taxonomy) if category else None,
        unit=unit,
        received_from=start_of(received_from),
        received_before=start_of(received_to + timedelta(days=1) if received_to else None),
        min_repeat_count=min_repeat_count,
        urgency=urgency.value if urgency else None,
        jurisdiction=jurisdiction.value if jurisdiction else None,
        acknowledgement=acknowledgement.value if acknowledgement else None,
    )
    rows, next_cursor = await queries.desk(conn, where, sort, deps.duplicate_rules, cursor, limit)
    return Page[ClueOnDesk](items=[_on_desk(r, today, deps) for r in rows], next_cursor=next_cursor)


ACTOR_KINDS = {
    "partner": "协作单位",
    "operator": "工作人员",
    "system": "对接系统",
    "public": "群众",
    "service": "平台服务",
}
SERVICES = {
    "service:intake": "线索受理服务",
    "service:casework": "案件办理服务（案件监督管理室）",
    "public:reporter": "举报人",
}


class HandlerEntryOut(BaseModel):
    """One touch of the clue, in the order it was recorded."""

    at: datetime
    action: str
    action_label: str
    actor: str
    actor_kind: str
    actor_kind_label: str
    actor_name: str | None
    """The account's name in the token issuer's registry, where it has one."""
    actor_department: str | None
    detail: dict[str, Any]


class HandlerOut(BaseModel):
    """A person or system that touched the clue, with what they did."""

    actor: str
    actor_kind: str
    actor_kind_label: str
    actor_name: str | None
    actor_department: str | None
    first_at: datetime
    last_at: datetime
    actions: list[str]
    """Distinct actions, in the order first done."""
    action_labels: list[str]
    touches: int


class HandlerLedgerOut(BaseModel):
    """经手人记录: who touched a clue — everyone, then every entry in order (paged)."""

    clue_id: UUID
    clue_number: str
    handlers: list[HandlerOut]
    entries: list[HandlerEntryOut]
    next_cursor: str | None = None


def _who(actor: str, name: str | None, department: str | None) -> dict[str, Any]:
    kind = actor_kind(actor)
    return {
        "actor": actor,
        "actor_kind": kind,
        "actor_kind_label": ACTOR_KINDS.get(kind, kind),
        "actor_name": name or SERVICES.get(actor),
        "actor_department": department,
    }


@router.get("/clues/{clue_id}/handlers", response_model=HandlerLedgerOut)
async def clue_handlers(
    clue_id: UUID,
    operator: Operator,
    conn: ReadConnection,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> HandlerLedgerOut:
    """Every person and system that touched the clue, in order: who submitted it, each
    operator who opened it or read its personal data, messages, acknowledgement, merges
    and splits of repeat reports, and casework's progress."""
    clue_number = await queries.desk_clue_number(conn, clue_id)
    if clue_number is None:
        raise Problem(404, "not-found", "线索不存在", f"没有线索 {clue_id}。")
    handlers = [
        HandlerOut(
            **_who(r["actor"], r["name"], r["department"]),
            first_at=r["first_at"],
            last_at=r["last_at"],
            actions=(actions := list(dict.fromkeys(r["actions"]))),
            action_labels=[action_label(a) for a in actions],
            touches=r["touches"],
        )
        for r in await queries.handlers(conn, clue_id)
    ]
    rows, next_cursor = await queries.handler_entries(conn, clue_id, cursor, limit)
    return HandlerLedgerOut(
        clue_id=clue_id,
        clue_number=clue_number,
        handlers=handlers,
        entries=[
            HandlerEntryOut(
                **_who(r["actor"], r["name"], r["department"]),
                at=r["at"],
                action=r["action"],
                action_label=action_label(r["action"]),
                detail=r["detail"],
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )
