"""账号管理: the directory of operator accounts and partner/system clients, kept by an
administrator (系统管理员).

Pure decisions on a directory entry as it is now: what an administrator may open, change,
stop and restart, and the refusals a clerk reads when not. The issuer's ``clients`` table
holds the entries (logins read it); each change is recorded as an event on the entry's
stream ``account-<account_id>`` (accounts made by ``zhengfeng clients create`` have none
until their first change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import (
    OperatorAccountCreated,
    OperatorAccountDeactivated,
    OperatorAccountReactivated,
    OperatorRolesChanged,
    PartnerClientRegistered,
    PartnerClientRevoked,
)
from libs.kit.refusal import Refused
from libs.kit.roles import ADMIN, ROLE_LABELS, SCOPE_LABELS, known_scope

CLIENT_KINDS = {"partner": "合作单位", "system": "系统"}


def account_stream(account_id: str) -> str:
    """The stream of one directory entry (an operator account or a client)."""
    return f"account-{account_id}"


@dataclass(frozen=True)
class Entry:
    """A directory entry as the issuer reads it (the name in clear: tokens carry it)."""

    account_id: str
    kind: str
    """operator / partner / system."""
    name: str
    department: str | None
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    active: bool
    created_at: datetime | None = None


def check_roles(roles: Sequence[str]) -> tuple[str, ...]:
    """The roles, in order without repeats; an unknown one is refused naming ``roles``."""
    unknown = [r for r in roles if r not in ROLE_LABELS]
    if unknown:
        known = "、".join(f"{k}（{v}）" for k, v in ROLE_LABELS.items())
        raise Refused(
            "unknown-role",
            f"没有角色「{'、'.join(unknown)}」。可选角色：{known}。",
            field="roles",
            reason=f"未知角色：{'、'.join(unknown)}",
        )
    return tuple(dict.fromkeys(roles))


def check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """The scopes, in order without repeats; an unknown one is refused naming ``scopes``."""
    unknown = [s for s in scopes if not known_scope(s)]
    if unknown:
        known = "、".join(f"{k}（{v}）" for k, v in SCOPE_LABELS.items())
        raise Refused(
            "unknown-scope",
            f"没有权限范围「{'、'.join(unknown)}」。可选：{known}，以及 feeds:<数据类别>。",
            field="scopes",
            reason=f"未知权限范围：{'、'.join(unknown)}",
        )
    return tuple(dict.fromkeys(scopes))


def account_free(existing: Entry | None, account_id: str, field: str) -> None:
    """Refused naming ``field`` when ``account_id`` is taken (by any entry, even a stopped one)."""
    if existing is not None:
        raise Refused(
            "duplicate-account",
            f"账号 {account_id} 已存在（含已停用、已吊销的账号），请换一个账号名。",
            kind="conflict",
            field=field,
            title="账号已存在",
            reason="已被占用",
        )


def open_operator(
    *,
    account_id: str,
    masked_name: str,
    person_ref: UUID,
    sealed: dict[str, str],
    department: str | None,
    roles: Sequence[str],
    by: str,
    now: datetime,
) -> list[Event]:
    """开设工作人员账号 under an id found free (``account_free``), with known roles."""
    return [
        OperatorAccountCreated(
            account_id=account_id,
            name=masked_name,
            person_ref=person_ref,
            sealed=sealed,
            department=department,
            roles=list(check_roles(roles)),
            created_by=by,
            created_at=now,
        )
    ]


def operator_of(entry: Entry | None, account_id: str) -> Entry:
    """The operator account ``account_id``; refused as missing when there is none."""
    if entry is None or entry.kind != "operator":
        raise Refused(
            "account-not-found",
            f"没有工作人员账号 {account_id}。",
            kind="missing",
            title="账号不存在",
        )
    return entry


def client_of(entry: Entry | None, client_id: str) -> Entry:
    """The partner or system client ``client_id``; refused as missing when there is none."""
    if entry is None or entry.kind not in CLIENT_KINDS:
        raise Refused(
            "client-not-found",
            f"没有合作单位客户端 {client_id}。",
            kind="missing",
            title="客户端不存在",
        )
    return entry


def _last_admin(entry: Entry, active_admins: int, field: str) -> None:
    if entry.active and ADMIN in entry.roles and active_admins <= 1:
        raise Refused(
            "last-administrator",
            f"{entry.account_id} 是最后一位在用的系统管理员：停用或取消其管理员角色后将无人能管理账号。"
            "请先为另一位工作人员开设或授予系统管理员角色。",
            kind="conflict",
            field=field,
            title="不能没有系统管理员",
            reason="最后一位在用的系统管理员",
        )


def change_roles(
    entry: Entry,
    roles: Sequence[str],
    *,
    reason: str,
    active_admins: int,
    by: str,
    now: datetime,
) -> tuple[Entry, list[Event]]:
    """角色调整: known roles, different from today's, never leaving no administrator."""
    new = check_roles(roles)
    if set(new) == set(entry.roles):
        raise Refused(
            "roles-unchanged",
            "提交的角色与该账号现有角色相同，无需调整。",
            kind="conflict",
            field="roles",
            reason="与现有角色相同",
        )
    if ADMIN not in new:
        _last_admin(entry, active_admins, "roles")
    event = OperatorRolesChanged(
        account_id=entry.account_id,
        roles=list(new),
        previous_roles=list(entry.roles),
        reason=reason,
        changed_by=by,
        changed_at=now,
    )
    return replace(entry, roles=new), [event]


def deactivate(
    entry: Entry, *, caller: str, reason: str, active_admins: int, by: str, now: datetime
) -> tuple[Entry, list[Event]]:
    """停用: not one's own account, not the last administrator, not one already stopped."""
    if not entry.active:
        raise Refused(
            "already-deactivated",
            f"账号 {entry.account_id} 已停用。",
            kind="conflict",
            field="account_id",
            reason="已停用",
        )
    if entry.account_id == caller:
        raise Refused(
            "own-account",
            "不能停用自己正在使用的账号，请由另一位系统管理员办理。",
            kind="conflict",
            field="account_id",
            title="不能停用本人账号",
            reason="不能停用本人账号",
        )
    _last_admin(entry, active_admins, "account_id")
    event = OperatorAccountDeactivated(
        account_id=entry.account_id, reason=reason, deactivated_by=by, deactivated_at=now
    )
    return replace(entry, active=False), [event]


def reactivate(entry: Entry, *, reason: str, by: str, now: datetime) -> tuple[Entry, list[Event]]:
    """启用: an account that was stopped."""
    if entry.active:
        raise Refused(
            "already-active",
            f"账号 {entry.account_id} 正在使用，无需启用。",
            kind="conflict",
            field="account_id",
            reason="正在使用",
        )
    event = OperatorAccountReactivated(
        account_id=entry.account_id, reason=reason, reactivated_by=by, reactivated_at=now
    )
    return replace(entry, active=True), [event]


def register_client(
    existing: Entry | None,
    *,
    client_id: str,
    kind: str,
    name: str,
    department: str | None,
    scopes: Sequence[str],
    by: str,
    now: datetime,
) -> tuple[Entry, list[Event]]:
    """登记客户端: a new id; a partner department's client names its department code."""
    account_free(existing, client_id, "client_id")
    if kind == "partner" and not department:
        raise Refused(
            "department-required",
            "合作单位客户端须填写部门代码（其移送的线索以此记来源）。",
            field="department",
            reason="必填",
        )
    granted = check_scopes(scopes)
    entry = Entry(client_id, kind, name, department, (), granted, True, now)
    event = PartnerClientRegistered(
        client_id=client_id,
        kind=kind,
        name=name,
        department=department,
        scopes=list(granted),
        registered_by=by,
        registered_at=now,
    )
    return entry, [event]


def revoke(entry: Entry, *, reason: str, by: str, now: datetime) -> tuple[Entry, list[Event]]:
    """吊销: the client gets no more tokens (those it holds run out within minutes)."""
    if not entry.active:
        raise Refused(
            "already-revoked",
            f"客户端 {entry.account_id} 已吊销。",
            kind="conflict",
            field="client_id",
            reason="已吊销",
        )
    event = PartnerClientRevoked(
        client_id=entry.account_id, reason=reason, revoked_by=by, revoked_at=now
    )
    return replace(entry, active=False), [event]
