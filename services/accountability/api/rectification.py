"""整改台账 over HTTP: hand a unit's problem list over, follow each item to 销号, read the
lists of a unit and the items of the console."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.kit import documents
from libs.kit.commands import Commands, IdempotencyKey, IfMatch, RequiredIfMatch
from libs.kit.openapi import VERSIONED, refusals
from libs.kit.pagination import Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from services.accountability import queries_rectification as queries
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader
from services.accountability.domain.rectification import STATUS_LABELS
from services.accountability.queries_rectification import ItemFilter, RectificationFilter
from services.accountability.service import rectification_lists
from services.accountability.service.rectification import (
    ACCEPT,
    ADD_ITEM,
    COMPLETE,
    NOTE_PROGRESS,
    OPEN,
    REPORT,
    REVIEW,
    AcceptanceIn,
    CompletionIn,
    ItemIn,
    OnItem,
    OpenIn,
    ProgressIn,
    ReportIn,
    ReviewIn,
    item_view,
    new_list_id,
    read_list,
    view,
)

DEADLINE_PASSED = (422, "deadline-passed", "整改时限须在今天以后")
"""A deadline of today or before (a schema cannot compare a date with today)."""

router = APIRouter(prefix="/v1", tags=["rectification"])


@router.post("/rectifications", status_code=201, responses=refusals(DEADLINE_PASSED))
async def open_rectification(
    body: OpenIn, officer: Officer, commands: Commands, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """清单交办: a unit's problem list from a case, a 巡察, an inspection, an alert pattern or
    a 建议书; each item with measures, the owning department and a deadline in working days."""
    list_id = new_list_id(officer, idempotency_key)
    return await commands.run(OPEN, list_id, body, officer, idempotency_key=idempotency_key)


@router.get("/rectifications/{list_id}", responses=VERSIONED)
async def get_rectification(
    list_id: UUID, reader: Reader, store: Store, deps: AccountabilityDeps, response: Response
) -> dict[str, Any]:
    """One list with its 双报告, progress and every item's history; ``ETag`` for commands."""
    state, version = await read_list(store, list_id)
    response.headers["ETag"] = f'"{version}"'
    return view(state, version, deps.rectification)


@router.post(
    "/rectifications/{list_id}/items",
    status_code=201,
    responses=refusals(DEADLINE_PASSED),
)
async def add_item(
    list_id: UUID,
    body: ItemIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Put one more problem on the list (e.g. found during 督办)."""
    return await commands.run(
        ADD_ITEM, list_id, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


async def _on_item(
    command: Any,
    list_id: UUID,
    item_id: UUID,
    body: Any,
    officer: Any,
    commands: Any,
    if_match: int | None,
    idempotency_key: str | None,
) -> JSONResponse:
    on = OnItem(item_id=item_id, body=body)
    response: JSONResponse = await commands.run(
        command, list_id, on, officer, if_match=if_match, idempotency_key=idempotency_key
    )
    return response


@router.post("/rectifications/{list_id}/items/{item_id}/progress", status_code=200)
async def note_progress(
    list_id: UUID,
    item_id: UUID,
    body: ProgressIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """跟踪督办: the unit's progress, or the commission's 督办 (``urged``)."""
    return await _on_item(
        NOTE_PROGRESS, list_id, item_id, body, officer, commands, if_match, idempotency_key
    )


@router.post("/rectifications/{list_id}/items/{item_id}/completion")
async def complete_item(
    list_id: UUID,
    item_id: UUID,
    body: CompletionIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """结果反馈: the unit reports the item done, with evidence and any 问责处理."""
    return await _on_item(
        COMPLETE, list_id, item_id, body, officer, commands, if_match, idempotency_key
    )


@router.post("/rectifications/{list_id}/items/{item_id}/acceptance")
async def accept_item(
    list_id: UUID,
    item_id: UUID,
    body: AcceptanceIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """验收: passed, the item waits for its 回头看; failed, it goes back to the unit."""
    return await _on_item(
        ACCEPT, list_id, item_id, body, officer, commands, if_match, idempotency_key
    )


@router.post(
    "/rectifications/{list_id}/items/{item_id}/review", responses=refusals(DEADLINE_PASSED)
)
async def review_item(
    list_id: UUID,
    item_id: UUID,
    body: ReviewIn,
    officer: Officer,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """回头看: the rectification held (销号), or the problem is back and the item reopens."""
    return await _on_item(
        REVIEW, list_id, item_id, body, officer, commands, if_match, idempotency_key
    )


@router.post("/rectifications/{list_id}/reports", status_code=201)
async def report(
    list_id: UUID,
    body: ReportIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """双报告: record the unit's rectification report to the party committee or the commission."""
    return await commands.run(
        REPORT, list_id, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


class ListRow(BaseModel):
    list_id: UUID
    unit: str
    title: str
    source_kind: str
    source_kind_label: str
    source_reference: str
    reports_to: list[str]
    reported_to: list[str]
    report_due: date | None
    opened_at: datetime
    items: int
    closed: int
    overdue: int


@router.get("/rectifications", response_model=Page[ListRow])
async def list_rectifications(
    reader: Reader,
    conn: ReadConnection,
    deps: AccountabilityDeps,
    unit: str | None = None,
    source_kind: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ListRow]:
    """A unit's problem lists (or all), oldest first, with how many items are 销号 and overdue."""
    rows, next_cursor = await queries.lists(
        conn, RectificationFilter(unit, source_kind), cursor, limit
    )
    kinds = deps.rectification.source_kinds
    items = [
        ListRow(**r, source_kind_label=kinds.get(r["source_kind"], r["source_kind"])) for r in rows
    ]
    return Page[ListRow](items=items, next_cursor=next_cursor)


class ItemRow(BaseModel):
    item_id: UUID
    list_id: UUID
    unit: str
    source_kind: str
    problem: str
    owner: str
    immediate: bool
    deadline: date
    round: int
    status: str
    status_label: str
    overdue: bool
    review_due: date | None


@router.get("/rectification-items", response_model=Page[ItemRow])
async def list_items(
    reader: Reader,
    conn: ReadConnection,
    unit: str | None = None,
    list_id: UUID | None = None,
    status: Annotated[str | None, Query(json_schema_extra={"enum": list(STATUS_LABELS)})] = None,
    overdue: bool | None = None,
    immediate: bool | None = None,
    review_due_by: date | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ItemRow]:
    """整改事项, soonest deadline first: by unit, list, status, overdue, 立行立改, or those
    whose 回头看 is due by a day."""
    if status is not None and status not in STATUS_LABELS:
        raise Problem(
            400,
            "invalid-status",
            "状态不对",
            f"{status} 不是整改事项状态，可选：{'、'.join(f'{k}（{v}）' for k, v in STATUS_LABELS.items())}。",
            errors=[{"field": "status", "reason": "不是整改事项状态"}],
        )
    where = ItemFilter(unit, list_id, status, overdue, immediate, review_due_by)
    rows, next_cursor = await queries.items(conn, where, cursor, limit)
    items = [
        ItemRow(
            **{**r, "overdue": r["overdue"] and r["status"] == "in_progress"},
            status_label=STATUS_LABELS[r["status"]],
        )
        for r in rows
    ]
    return Page[ItemRow](items=items, next_cursor=next_cursor)


@router.get("/rectifications/{list_id}/items/{item_id}")
async def get_item(list_id: UUID, item_id: UUID, reader: Reader, store: Store) -> dict[str, Any]:
    """One item with its measures, evidence and whole history (交办 → … → 销号)."""
    state, _ = await read_list(store, list_id)
    item = state.items.get(item_id)
    if item is None:
        raise Problem(404, "not-found", "整改事项不存在", f"该整改清单没有整改事项 {item_id}。")
    return item_view(list_id, item)


@router.get("/units/{unit}/rectification")
async def unit_rectification(unit: str, reader: Reader, conn: ReadConnection) -> dict[str, Any]:
    """A unit's rectification in figures (what 考核评价 and the reports read)."""
    return {"unit": unit, **await queries.unit_progress(conn, unit)}


@router.get(
    "/rectifications/{list_id}/lists/{kind}",
    responses={200: {"content": {documents.MEDIA_TYPE: {}}}},
)
async def print_list(
    list_id: UUID,
    kind: Annotated[
        str,
        Path(
            pattern="^(key_problems|measures|results|accountability)$",
            description="key_problems 重点问题清单 / measures 整改措施清单 / results 整改成效清单 / "
            "accountability 问责处理清单",
        ),
    ],
    reader: Reader,
    store: Store,
    deps: AccountabilityDeps,
) -> Response:
    """One of the four standard lists as a printable .docx (the list as it stands today)."""
    state, _ = await read_list(store, list_id)
    if deps.documents is None:
        raise Problem(404, "not-found", "文书不存在", "本服务未配置文书模板。")
    content, title = await rectification_lists.printable(
        deps.vault,
        state,
        kind,
        deps.rectification,
        deps.documents.templates,
        deps.taxonomy,
        store.clock(),
    )
    return documents.download(
        content,
        number="",
        title=title,
        sha256=rectification_lists.sha256(content),
        media_type=documents.MEDIA_TYPE,
    )
