"""系统 · 账号管理: operator accounts and partner/system clients, for an administrator
(role ``admin``, 系统管理员) only.

Each change is a command on the pipeline: ``Idempotency-Key`` on every one, ``If-Match`` with
the entry's ``version`` (its ``ETag``; 0 for an account ``zhengfeng clients create`` made and
nobody changed since) on every change of an existing entry. An operator's first password and
a client's secret are in the first answer only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands, IdempotencyKey, RequiredIfMatch
from libs.kit.fields import STRIPPED, stripped
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.roles import ADMIN, ROLE_LABELS, SCOPE_LABELS
from libs.kit.service import ReadConnection
from services.intake.service.accounts import (
    CHANGE_ROLES,
    DEACTIVATE,
    ENTRIES,
    OPEN_OPERATOR,
    REACTIVATE,
    REGISTER_CLIENT,
    REVOKE_CLIENT,
    ClientOut,
    OperatorOut,
    client_out,
    entry_of,
    entry_with_version,
    operator_out,
)

router = APIRouter(prefix="/v1", tags=["accounts (administrators)"])

Admin = Annotated[Principal, require_roles(ADMIN)]
AccountId = Annotated[
    str,
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="登录账号：小写字母、数字和 . _ -，3 到 64 位",
    ),
]
BY_ID = Keyset(columns=("client_id",), types=("text",), parsers=(str,))

_CHANGE_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "没有该账号"},
    409: {
        "description": "不能办理：最后一位在用的系统管理员（last-administrator）、"
        "停用本人账号（own-account）、已停用/已启用、角色未变化；或 If-Match 已过期"
    },
    422: {"description": "未知角色（unknown-role，字段 roles）等字段问题"},
    428: {"description": "须提供 If-Match（账号的 version）"},
}


Role = Annotated[
    str, Field(min_length=1, max_length=32, json_schema_extra={"enum": list(ROLE_LABELS)})
]
"""An operator role's machine name (``libs/kit/roles.py``)."""
Scope = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="权限范围：" + "、".join(SCOPE_LABELS) + "，或 feeds:<数据类别>",
        # The document's statement; another scope is refused by the domain (unknown-scope).
        json_schema_extra={
            "pattern": "^(" + "|".join(SCOPE_LABELS) + "|feeds:[a-z0-9_]*[a-z][a-z0-9_]*)$"
        },
    ),
]
"""A scope a client may be granted (``libs.kit.roles.known_scope``)."""


class OperatorIn(BaseModel):
    """开设工作人员账号."""

    model_config = STRIPPED

    account_id: AccountId = Field(
        description="登录账号：小写字母、数字和 . _ -，3 到 64 位；请用工号，不用姓名拼音"
        "（账号作为操作人写入每条记录，不加密）"
    )
    name: str = Field(min_length=1, max_length=50, description="姓名（事件中加密保存）")
    department: str | None = Field(default=None, max_length=100, description="所在部门")
    roles: list[Role] = Field(
        min_length=1, max_length=12, description="角色（机器名，如 clerk、admin）"
    )


class RolesIn(BaseModel):
    """角色调整."""

    model_config = STRIPPED

    roles: list[Role] = Field(min_length=1, max_length=12)
    reason: str = Field(min_length=1, max_length=500, description="调整理由")


class ReasonIn(BaseModel):
    """停用、启用或吊销的理由."""

    model_config = STRIPPED

    reason: str = Field(min_length=1, max_length=500)


class ClientIn(BaseModel):
    """登记合作单位（或系统）客户端."""

    # A partner (the default kind) names its department; a system need not.
    model_config = stripped(
        one_of=[
            {"properties": {"kind": {"const": "system"}}, "required": ["kind"]},
            {
                "properties": {"kind": {"const": "partner"}, "department": {"type": "string"}},
                "required": ["department"],
            },
        ]
    )

    client_id: AccountId
    kind: Literal["partner", "system"] = "partner"
    name: str = Field(min_length=1, max_length=100, description="单位或系统名称")
    department: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="部门代码（合作单位必填），其移送的线索以此记来源",
    )
    scopes: list[Scope] = Field(
        default_factory=list, max_length=30, description="权限范围，如 clue:transfer"
    )


def _missing(noun: str, key: str) -> Problem:
    return Problem(404, "account-not-found", f"{noun}不存在", f"没有{noun} {key}。")


@router.get("/operators", response_model=Page[OperatorOut])
async def list_operators(
    admin: Admin,
    conn: ReadConnection,
    active: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[dict[str, Any]]:
    """工作人员账号, by account id; names masked. ``active`` filters 在用 / 已停用."""
    rows, after = await fetch_page(
        conn,
        ENTRIES,
        keyset=BY_ID,
        where={"kind": ("c.kind = :kind", "operator"), "active": ("c.active = :active", active)},
        cursor=cursor,
        limit=limit,
    )
    return Page(
        items=[operator_out(entry_of(r), int(r["version"])) for r in rows], next_cursor=after
    )


@router.get("/operators/{account_id}", response_model=OperatorOut)
async def read_operator(account_id: str, admin: Admin, conn: ReadConnection) -> JSONResponse:
    """One operator account; ``ETag`` = its version (``If-Match`` of a change)."""
    found = await entry_with_version(conn, account_id)
    if found is None or found[0].kind != "operator":
        raise _missing("工作人员账号", account_id)
    body = operator_out(*found)
    return JSONResponse(body, headers={"ETag": f'"{body["version"]}"'})


@router.post(
    "/operators",
    status_code=201,
    response_model=OperatorOut,
    responses={
        409: {"description": "账号已存在（duplicate-account，字段 account_id）"},
        422: {"description": "未知角色（unknown-role，字段 roles）等字段问题"},
    },
)
async def open_operator(
    body: OperatorIn,
    admin: Admin,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """开设工作人员账号; the answer carries the first password once (``password``)."""
    return await commands.run(
        OPEN_OPERATOR, body.account_id, body, admin, idempotency_key=idempotency_key
    )


@router.post(
    "/operators/{account_id}/roles", response_model=OperatorOut, responses=_CHANGE_REFUSALS
)
async def change_roles(
    account_id: str,
    body: RolesIn,
    admin: Admin,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """角色调整 (effective at the operator's next token, within minutes)."""
    return await commands.run(
        CHANGE_ROLES, account_id, body, admin, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post(
    "/operators/{account_id}/deactivation", response_model=OperatorOut, responses=_CHANGE_REFUSALS
)
async def deactivate_operator(
    account_id: str,
    body: ReasonIn,
    admin: Admin,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """停用: the operator can no longer log in or renew a session."""
    return await commands.run(
        DEACTIVATE, account_id, body, admin, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post(
    "/operators/{account_id}/reactivation", response_model=OperatorOut, responses=_CHANGE_REFUSALS
)
async def reactivate_operator(
    account_id: str,
    body: ReasonIn,
    admin: Admin,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """启用: a stopped operator may log in again (with their password)."""
    return await commands.run(
        REACTIVATE, account_id, body, admin, if_match=if_match, idempotency_key=idempotency_key
    )


@router.get("/partner-clients", response_model=Page[ClientOut])
async def list_clients(
    admin: Admin,
    conn: ReadConnection,
    active: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[dict[str, Any]]:
    """合作单位与系统客户端, by client id. ``active`` filters 在用 / 已吊销."""
    rows, after = await fetch_page(
        conn,
        ENTRIES,
        keyset=BY_ID,
        where={"kind": ("c.kind <> :kind", "operator"), "active": ("c.active = :active", active)},
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[client_out(entry_of(r), int(r["version"])) for r in rows], next_cursor=after)


@router.get("/partner-clients/{client_id}", response_model=ClientOut)
async def read_client(client_id: str, admin: Admin, conn: ReadConnection) -> JSONResponse:
    """One client; ``ETag`` = its version (``If-Match`` of a revocation)."""
    found = await entry_with_version(conn, client_id)
    if found is None or found[0].kind == "operator":
        raise _missing("客户端", client_id)
    body = client_out(*found)
    return JSONResponse(body, headers={"ETag": f'"{body["version"]}"'})


@router.post(
    "/partner-clients",
    status_code=201,
    response_model=ClientOut,
    responses={
        409: {"description": "账号已存在（duplicate-account，字段 client_id）"},
        422: {
            "description": "未知权限范围（unknown-scope，字段 scopes）、合作单位缺部门代码"
            "（department-required，字段 department）等字段问题"
        },
    },
)
async def register_client(
    body: ClientIn,
    admin: Admin,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """登记客户端; the answer carries its secret once (``client_secret``)."""
    return await commands.run(
        REGISTER_CLIENT, body.client_id, body, admin, idempotency_key=idempotency_key
    )


@router.post(
    "/partner-clients/{client_id}/revocation",
    response_model=ClientOut,
    responses={
        404: {"description": "没有该客户端"},
        409: {"description": "已吊销；或 If-Match 已过期"},
        428: {"description": "须提供 If-Match（客户端的 version）"},
    },
)
async def revoke_client(
    client_id: str,
    body: ReasonIn,
    admin: Admin,
    commands: Commands,
    if_match: RequiredIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """吊销: the client gets no more tokens (those it holds expire within minutes)."""
    return await commands.run(
        REVOKE_CLIENT, client_id, body, admin, if_match=if_match, idempotency_key=idempotency_key
    )
