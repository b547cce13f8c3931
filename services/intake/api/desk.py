"""The intake desk (信访室台账): clerks list and filter every clue, and read each clue's
handler ledger (经手人记录).

Both read the ``clue_desk`` projection (rebuildable from the store); personal data is
masked there for good, so the list never needs to record a read. Opening a clue does:
``record_view`` writes a ClueViewed event for every masked read.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import RowMapping, text

from libs.events.contracts.intake import ClueViewed
from libs.events.store import ANY, EventStore, Metadata
from libs.events.taxonomy import load as load_taxonomy
from libs.kit.auth import Principal, require_roles
from libs.kit.logs import correlation_id
from libs.kit.pagination import Keyset, Page, decode_cursor, encode_cursor, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import DuplicateRulesDep, Settings
from services.intake.domain.desk import (
    ACKNOWLEDGEMENT_STATES,
    SOURCE_KINDS,
    action_label,
    actor_kind,
    source_kind_label,
)
from services.intake.domain.duplicates import DuplicateRules, priority
from services.intake.domain.jurisdiction import STATUS_LABELS as JURISDICTION_LABELS
from services.intake.domain.progress import STATUSES, status_label
from services.intake.domain.transfers import URGENCIES

router = APIRouter(prefix="/v1", tags=["clues (operators)"])

OPERATOR_ROLES = ("clerk", "supervisor", "investigator", "leader", "auditor")
Operator = Annotated[Principal, require_roles(*OPERATOR_ROLES)]

DeskStatus = StrEnum("DeskStatus", {s: s for s in [*STATUSES, "merged"]})  # type: ignore[misc]
"""Where a clue stands: casework's progress as intake learns it, or merged (重复件)."""
SourceKind = StrEnum("SourceKind", {k: k for k in SOURCE_KINDS})  # type: ignore[misc]
Urgency = StrEnum("Urgency", {u: u for u in URGENCIES})  # type: ignore[misc]
Jurisdiction = StrEnum("Jurisdiction", {j: j for j in JURISDICTION_LABELS})  # type: ignore[misc]
Acknowledgement = StrEnum("Acknowledgement", {a: a for a in ACKNOWLEDGEMENT_STATES})  # type: ignore[misc]


class DeskSort(StrEnum):
    """The order of the list; every one puts the newest first among equals."""

    newest = "newest"
    """Newest received first (default)."""
    priority = "priority"
    """Highest priority first: urgency and repeat reports, as the 重复件 rules weigh them."""
    repeat_count = "repeat_count"
    """The most repeat reports (重复件) first."""


_T = (datetime.fromisoformat, UUID)
SORTS = {
    DeskSort.newest: Keyset(
        ("received_at", "clue_id"), ("timestamptz", "uuid"), _T, descending=True
    ),
    DeskSort.priority: Keyset(
        ("priority_points", "received_at", "clue_id"),
        ("integer", "timestamptz", "uuid"),
        (int, *_T),
        descending=True,
    ),
    DeskSort.repeat_count: Keyset(
        ("repeat_count", "received_at", "clue_id"),
        ("integer", "timestamptz", "uuid"),
        (int, *_T),
        descending=True,
    ),
}


def _desk_select(rules: DuplicateRules) -> str:
    """The desk with each clue's priority points, by the 重复件 rules (data): urgency's
    points plus points per repeat report, as ``domain.duplicates.priority`` counts them."""
    # Only the known urgencies and integer points go into the SQL text.
    cases = " ".join(f"WHEN '{u}' THEN {int(rules.urgency_points.get(u, 0))}" for u in URGENCIES)
    points = f"(CASE urgency {cases} ELSE 0 END + {int(rules.points_per_repeat)} * repeat_count)"
    return f"SELECT * FROM (SELECT *, {points} AS priority_points FROM clue_desk) AS desk"


def views_stream(clue_id: UUID) -> str:
    """Where masked reads of a clue are recorded."""
    return f"clue-reads-{clue_id}"


async def record_view(store: EventStore, clue_id: UUID, operator: Principal, part: str) -> None:
    """Record that an operator opened a clue (or its conversation) with data masked."""
    await store.append(
        views_stream(clue_id),
        [
            ClueViewed(
                clue_id=clue_id,
                viewed_by=operator.actor,
                roles=sorted(operator.roles.intersection(OPERATOR_ROLES)),
                part=part,
                viewed_at=store.clock(),
            )
        ],
        expected_version=ANY,
        meta=Metadata(actor=operator.actor, correlation_id=correlation_id.get() or str(uuid4())),
    )


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


def _on_desk(row: RowMapping, today: date, rules: DuplicateRules) -> ClueOnDesk:
    taxonomy = load_taxonomy()
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


def _category_codes(category: str) -> list[str]:
    """The codes a category filter means: the code itself, or every code of a group."""
    taxonomy = load_taxonomy()
    if category in taxonomy:
        return [category]
    in_group = [c.code for c in taxonomy.categories.values() if c.group == category]
    if in_group:
        return in_group
    groups = list(dict.fromkeys(c.group for c in taxonomy.categories.values()))
    raise Problem(
        422,
        "unknown-category",
        "Unknown problem category",
        f"{category!r} is neither a category nor a group of the taxonomy "
        f"(version {taxonomy.version}). Use one of valid_categories or valid_groups.",
        errors=[{"field": "category", "reason": f"unknown category {category!r}"}],
        valid_categories=taxonomy.codes(),
        valid_groups=groups,
    )


def _field_problem(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        "The request is not valid",
        f"Check these fields: {field}",
        errors=[{"field": field, "reason": reason}],
    )


@router.get("/clues", response_model=Page[ClueOnDesk])
async def list_clues(
    operator: Operator,
    store: Store,
    settings: Settings,
    rules: DuplicateRulesDep,
    status: Annotated[DeskStatus | None, Query(description="办理状态")] = None,
    source_kind: Annotated[
        SourceKind | None, Query(description="来源: 部门移送 / 信访举报 / 12345热线")
    ] = None,
    department: Annotated[
        str | None, Query(max_length=64, description="The transferring department's code")
    ] = None,
    category: Annotated[
        str | None,
        Query(max_length=64, description="A category code, or a group code (first level)"),
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
        raise _field_problem("received_to", "is before received_from")
    zone = ZoneInfo(settings.timezone)
    today = store.clock().astimezone(zone).date()

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(), zone)

    where: dict[str, tuple[str, Any]] = {
        "st": ("status = :st", status.value if status else None),
        "sk": ("source_kind = :sk", source_kind.value if source_kind else None),
        "dept": ("source_department = :dept", department),
        "cats": (
            "categories && CAST(:cats AS text[])",
            _category_codes(category) if category else None,
        ),
        "unit": (":unit = ANY(units)", unit),
        "rf": ("received_at >= :rf", start_of(received_from) if received_from else None),
        "rt": (
            "received_at < :rt",
            start_of(received_to + timedelta(days=1)) if received_to else None,
        ),
        "mrc": ("repeat_count >= :mrc", min_repeat_count),
        "urg": ("urgency = :urg", urgency.value if urgency else None),
        "jur": ("jurisdiction = :jur", jurisdiction.value if jurisdiction else None),
    }
    if acknowledgement is not None:
        where["ack"] = {
            "acknowledged": ("(acknowledged_at IS NOT NULL) = :ack", True),
            "not_required": ("(acknowledged_at IS NULL AND acknowledge_by IS NULL) = :ack", True),
            "due": ("acknowledged_at IS NULL AND acknowledge_by >= :ack", today),
            "overdue": ("acknowledged_at IS NULL AND acknowledge_by < :ack", today),
        }[acknowledgement.value]
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            _desk_select(rules),
            keyset=SORTS[sort],
            where=where,
            cursor=cursor,
            limit=limit,
        )
    return Page[ClueOnDesk](
        items=[_on_desk(r, today, rules) for r in rows], next_cursor=next_cursor
    )


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


_ACTOR_JOIN = """LEFT JOIN clients c ON c.kind || ':' || c.client_id = h.actor"""


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
    store: Store,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> HandlerLedgerOut:
    """Every person and system that touched the clue, in order: who submitted it, each
    operator who opened it or read its personal data, messages, acknowledgement, merges
    and splits of repeat reports, and casework's progress."""
    async with store.engine.connect() as conn:
        clue = (
            await conn.execute(
                text("SELECT clue_number FROM clue_desk WHERE clue_id = :id"), {"id": clue_id}
            )
        ).first()
        if clue is None:
            raise Problem(404, "not-found", "Not found", f"No clue {clue_id}.")
        summary = (
            await conn.execute(
                text(
                    f"""SELECT h.actor, min(c.name) AS name, min(c.department) AS department,
                               min(h.at) AS first_at, max(h.at) AS last_at, count(*) AS touches,
                               min(h.position) AS first_position,
                               array_agg(h.action ORDER BY h.position) AS actions
                        FROM clue_handlers h {_ACTOR_JOIN}
                        WHERE h.clue_id = :id GROUP BY h.actor ORDER BY first_position"""
                ),
                {"id": clue_id},
            )
        ).mappings()
        handlers = [
            HandlerOut(
                **_who(r["actor"], r["name"], r["department"]),
                first_at=r["first_at"],
                last_at=r["last_at"],
                actions=(actions := list(dict.fromkeys(r["actions"]))),
                action_labels=[action_label(a) for a in actions],
                touches=r["touches"],
            )
            for r in summary
        ]
        params: dict[str, Any] = {"id": clue_id, "lim": limit + 1}
        after = ""
        if cursor:
            position, event_id = decode_cursor(cursor, int, UUID)
            params.update(pos=position, ev=event_id)
            after = "AND (h.position, h.event_id) > (:pos, :ev)"
        rows = (
            (
                await conn.execute(
                    text(
                        f"""SELECT h.*, c.name, c.department FROM clue_handlers h {_ACTOR_JOIN}
                        WHERE h.clue_id = :id {after}
                        ORDER BY h.position, h.event_id LIMIT :lim"""
                    ),
                    params,
                )
            )
            .mappings()
            .all()
        )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["position"], str(rows[-1]["event_id"]))
    return HandlerLedgerOut(
        clue_id=clue_id,
        clue_number=clue.clue_number,
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
