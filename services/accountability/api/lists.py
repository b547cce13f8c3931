"""责任清单 over HTTP: publish lists (JSON or CSV) and ask who was responsible on a date."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.events import pii
from libs.events.contracts.accountability import ResponsibleParty
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.openapi import refusals
from libs.kit.pagination import Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from services.accountability import queries
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader
from services.accountability.domain.lists import responsible_parties
from services.accountability.personal import record_access, reveal_parties, revealing_role
from services.accountability.queries import ListFilter
from services.accountability.service.lists import (
    PUBLISH,
    UPLOAD,
    ListIn,
    ListOut,
    list_on,
    list_out,
)

CSV_REFUSALS = [
    (422, "csv-columns-missing", "CSV 文件缺少必需的列"),
    (422, "csv-empty", "CSV 文件没有数据行"),
    (422, "csv-unreadable", "CSV 文件某行无法读取"),
    (422, "csv-row-invalid", "CSV 文件某行的内容有误（errors 指明行和列）"),
    (422, "csv-list-incomplete", "某份清单缺少必需的责任主体"),
    (422, "duplicate-department", "同一部门列了两位分管领导"),
    (422, "invalid-period", "清单的有效期有误（结束早于开始）"),
    (422, "nul-character", "CSV 文件含有空字符（U+0000）"),
    (422, "csv-encoding", "文件不是 UTF-8 编码"),
]
"""What a CSV upload refuses that its schema (a string) cannot say."""

router = APIRouter(prefix="/v1", tags=["responsibility lists"])


class UploadOut(BaseModel):
    """The list versions a CSV upload published."""

    items: list[ListOut]


class PartyOut(ResponsibleParty):
    responsibility_label: str


class ResponsibilityOut(BaseModel):
    """Who was responsible for a unit (and department) on a date, and by which list."""

    unit: str
    department: str | None
    on: date
    source_list: ListOut
    parties: list[PartyOut]


@router.post(
    "/responsibility-lists",
    status_code=201,
    response_model=ListOut,
    responses=refusals(
        (422, "invalid-period", "清单的有效期有误（结束早于开始）"),
        (422, "duplicate-department", "同一部门列了两位分管领导"),
    ),
)
async def publish(
    body: ListIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Publish a new version of a unit's list; If-Match (the unit's list version) guards edits."""
    return await commands.run(
        PUBLISH, body.unit, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post(
    "/responsibility-lists/csv",
    status_code=201,
    response_model=UploadOut,
    responses=refusals(*CSV_REFUSALS),
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def upload_csv(
    request: Request,
    officer: Officer,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Publish lists from a CSV file (all or nothing); errors name the line and column."""
    raw = await request.body()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(
            422,
            "csv-encoding",
            "文件不是 UTF-8 编码",
            "请将 CSV 另存为 UTF-8 编码后重新上传。",
            errors=[{"field": "file", "reason": "不是 UTF-8 编码"}],
        ) from None
    return await commands.run(UPLOAD, None, content, officer, idempotency_key=idempotency_key)


@router.get("/responsibility", response_model=ResponsibilityOut)
async def responsible_on(
    reader: Reader,
    store: Store,
    deps: AccountabilityDeps,
    unit: Annotated[str, Query(min_length=1)],
    on: date,
    department: str | None = None,
    reveal: bool = False,
) -> ResponsibilityOut:
    """Who was responsible for ``unit`` (and ``department``) on ``on``, from the list valid
    then; leaders' names masked, ``reveal=true`` shows them to allowed roles (recorded)."""
    found = await list_on(store, unit, on)
    labels = deps.rules.responsibilities
    parties = responsible_parties(found, department)
    shown = [pii.scrubbed(p.model_dump(mode="json")) for p in parties]
    if reveal:
        role = revealing_role(reader, "责任清单上的领导姓名只向领导和党风政风监督室完整显示。")
        assert deps.vault is not None
        shown = await reveal_parties(deps.vault, parties)
        refs = [p.person_ref for p in parties if p.sealed]
        await record_access(store, found.published.list_id, refs, reader, role, "责任认定")
    return ResponsibilityOut(
        unit=unit,
        department=department,
        on=on,
        source_list=ListOut(**list_out(found.version, found.published)),
        parties=[
            PartyOut(**doc, responsibility_label=labels.get(p.responsibility, p.responsibility))
            for doc, p in zip(shown, parties, strict=True)
        ],
    )


@router.get("/responsibility-lists", response_model=Page[ListOut])
async def list_lists(
    reader: Reader,
    conn: ReadConnection,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ListOut]:
    """Every published list version, by unit then version."""
    rows, next_cursor = await queries.lists(conn, ListFilter(unit), cursor, limit)
    return Page[ListOut](
        items=[ListOut(version=r["version"], **pii.scrubbed(r["body"])) for r in rows],
        next_cursor=next_cursor,
    )
