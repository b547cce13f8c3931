"""账号管理 on the pipeline: an administrator opens operator accounts and changes their
roles, stops and restarts them, and registers and revokes partner/system clients.

Every command takes the directory lock first (two administrators stopping each other at
once cannot leave none), decides on the entry as the issuer reads it, appends its event to
``account-<id>`` and writes the entry in the same transaction — so a login after the answer
already sees it. A person's name is sealed in the events under their own key (context: the
stream id); answers mask it. The new secret (an operator's first password, a client's
secret) is in the first answer only: a retry under the same ``Idempotency-Key`` gets the
answer without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.issuer import insert_client, new_secret, update_client
from libs.kit.refusal import Refused
from libs.kit.roles import ADMIN, ROLE_LABELS
from services.intake.domain import accounts as domain
from services.intake.domain.accounts import CLIENT_KINDS, Entry, account_stream

DIRECTORY_LOCK = 0x5A46_4143  # "ZFAC": one administrator's change at a time


class OperatorOut(BaseModel):
    """An operator account as an administrator sees it (the name masked)."""

    account_id: str
    name: str
    department: str | None
    roles: list[str]
    role_labels: list[str]
    active: bool
    version: int
    """The entry's stream version: ``If-Match`` for a change (0 if never changed here)."""
    password: str | None = None
    """The first password: in the answer that opened the account, and never again."""


class ClientOut(BaseModel):
    """A partner department's or a system's client."""

    client_id: str
    kind: str
    kind_label: str
    name: str
    department: str | None
    scopes: list[str]
    active: bool
    version: int
    client_secret: str | None = None
    """The secret: in the answer that registered the client, and never again."""


def operator_out(entry: Entry, version: int, password: str | None = None) -> dict[str, Any]:
    """An operator entry as answers show it."""
    return OperatorOut(
        account_id=entry.account_id,
        name=pii.mask_name(entry.name),
        department=entry.department,
        roles=list(entry.roles),
        role_labels=[ROLE_LABELS.get(r, r) for r in entry.roles],
        active=entry.active,
        version=version,
        password=password,
    ).model_dump(mode="json")


def client_out(entry: Entry, version: int, secret: str | None = None) -> dict[str, Any]:
    """A client entry as answers show it."""
    return ClientOut(
        client_id=entry.account_id,
        kind=entry.kind,
        kind_label=CLIENT_KINDS.get(entry.kind, entry.kind),
        name=entry.name,
        department=entry.department,
        scopes=list(entry.scopes),
        active=entry.active,
        version=version,
        client_secret=secret,
    ).model_dump(mode="json")


def entry_of(row: Any) -> Entry:
    """A ``clients`` row as a directory entry."""
    return Entry(
        account_id=row["client_id"],
        kind=row["kind"],
        name=row["name"],
        department=row["department"],
        roles=tuple(row["roles"]),
        scopes=tuple(row["scopes"]),
        active=row["active"],
        created_at=row["created_at"],
    )


ENTRY_COLUMNS = """c.client_id, c.kind, c.name, c.department, c.roles, c.scopes, c.active,
    c.created_at, COALESCE(s.version, 0) AS version"""
ENTRIES = f"""SELECT {ENTRY_COLUMNS} FROM clients c
    LEFT JOIN streams s ON s.stream_id = 'account-' || c.client_id"""
"""The directory with each entry's stream version (``fetch_page`` adds WHERE and ORDER)."""


async def entry_with_version(conn: AsyncConnection, account_id: str) -> tuple[Entry, int] | None:
    """The directory entry ``account_id`` as it is now, and its stream version."""
    row = (
        (await conn.execute(text(f"{ENTRIES} WHERE c.client_id = :id"), {"id": account_id}))
        .mappings()
        .first()
    )
    return None if row is None else (entry_of(row), int(row["version"]))


async def entry(conn: AsyncConnection, account_id: str) -> Entry | None:
    """The directory entry ``account_id`` as it is now."""
    found = await entry_with_version(conn, account_id)
    return None if found is None else found[0]


async def _active_admins(conn: AsyncConnection) -> int:
    found = await conn.execute(
        text(
            "SELECT count(*) FROM clients WHERE kind = 'operator' AND active"
            " AND :admin = ANY(roles)"
        ),
        {"admin": ADMIN},
    )
    return int(found.scalar_one())


async def _still_administrator(state: int, body: Any, ctx: Context) -> None:
    """The caller's token says ``admin``; the directory must still say so: an administrator
    stopped or relieved since their token was issued acts no more (a caller the directory
    does not hold, e.g. from another identity provider, is taken at their token's word)."""
    if ctx.principal.kind != "operator":
        return
    found = await ctx.conn.execute(
        text("SELECT active, roles FROM clients WHERE client_id = :id"),
        {"id": ctx.principal.subject},
    )
    row = found.first()
    if row is not None and not (row.active and ADMIN in row.roles):
        raise Refused(
            "no-longer-administrator",
            "您的账号已停用或已不再是系统管理员（在您本次登录之后变更），不能再管理账号。",
            kind="forbidden",
            title="无权办理",
        )


GUARDS = (_still_administrator,)


async def _lock(body: Any, ctx: Context) -> None:
    await ctx.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DIRECTORY_LOCK})


@dataclass
class Change:
    """What a command decided besides its events: the entry as it will be, and the new
    secret when it opened one."""

    entry: Entry
    secret: str | None = None
    created: bool = False


def _evolve(state: int, event: Event) -> int:
    return state + 1


ACCOUNT: Aggregate[int] = Aggregate(
    noun="account",
    label="账号",
    stream=account_stream,
    initial=lambda: 0,
    evolve=_evolve,
    # The directory says whether there is such an entry (the bootstrap path records none).
    exists=lambda state: True,
    missing="没有账号 {key}。",
)
"""A directory entry's record of changes (the entry itself is the issuer's row)."""


async def _open_operator(state: int, body: Any, ctx: Context) -> list[Event]:
    # Refused before anything is sealed: a taken id, an unknown role.
    domain.account_free(await entry(ctx.conn, ctx.key), ctx.key, "account_id")
    roles = domain.check_roles(body.roles)
    vault = ctx.deps.vault
    ref = await vault.person_for(ctx.conn, vault.blind_index("operator", ctx.key), ctx.now)
    sealed = await vault.seal(
        ctx.conn, ref, body.name, context=account_stream(ctx.key), field="name"
    )
    events = domain.open_operator(
        account_id=ctx.key,
        masked_name=pii.mask_name(body.name),
        person_ref=ref,
        sealed={"name": sealed},
        department=body.department,
        roles=roles,
        by=ctx.actor,
        now=ctx.now,
    )
    new = Entry(ctx.key, "operator", body.name, body.department, roles, (), True, ctx.now)
    ctx.result = Change(new, new_secret(), created=True)
    return events


async def _write(state: int, events: list[Event], ctx: Context) -> None:
    change: Change = ctx.result
    e = change.entry
    if change.created:
        assert change.secret is not None
        await insert_client(
            ctx.conn,
            client_id=e.account_id,
            secret=change.secret,
            kind=e.kind,
            name=e.name,
            department=e.department,
            scopes=list(e.scopes),
            roles=list(e.roles),
        )
    else:
        await update_client(ctx.conn, e.account_id, roles=list(e.roles), active=e.active)


def _operator_answer(state: int, ctx: Context) -> dict[str, Any]:
    change: Change = ctx.result
    return operator_out(change.entry, ctx.version, change.secret)


def _client_answer(state: int, ctx: Context) -> dict[str, Any]:
    change: Change = ctx.result
    return client_out(change.entry, ctx.version, change.secret)


def _without(field: str) -> Any:
    return lambda answer: {**answer, field: None}


def _operator_location(answer: dict[str, Any]) -> str:
    return f"/v1/operators/{answer['account_id']}"


def _client_location(answer: dict[str, Any]) -> str:
    return f"/v1/partner-clients/{answer['client_id']}"


OPEN_OPERATOR: Command[int] = Command(
    name="open_operator_account",
    label="开设工作人员账号",
    aggregate=ACCOUNT,
    decide=_open_operator,
    after=_write,
    render=_operator_answer,
    status_code=201,
    lock=_lock,
    guards=GUARDS,
    location=_operator_location,
    remembered=_without("password"),
)
"""开设工作人员账号: name (sealed in the event), department, roles; a first password once."""


async def _operator(ctx: Context) -> Entry:
    return domain.operator_of(await entry(ctx.conn, ctx.key), ctx.key)


async def _change_roles(state: int, body: Any, ctx: Context) -> list[Event]:
    current = await _operator(ctx)
    new, events = domain.change_roles(
        current,
        body.roles,
        reason=body.reason,
        active_admins=await _active_admins(ctx.conn),
        by=ctx.actor,
        now=ctx.now,
    )
    ctx.result = Change(new)
    return events


async def _deactivate(state: int, body: Any, ctx: Context) -> list[Event]:
    current = await _operator(ctx)
    new, events = domain.deactivate(
        current,
        caller=ctx.principal.subject if ctx.principal.kind == "operator" else "",
        reason=body.reason,
        active_admins=await _active_admins(ctx.conn),
        by=ctx.actor,
        now=ctx.now,
    )
    ctx.result = Change(new)
    return events


async def _reactivate(state: int, body: Any, ctx: Context) -> list[Event]:
    current = await _operator(ctx)
    new, events = domain.reactivate(current, reason=body.reason, by=ctx.actor, now=ctx.now)
    ctx.result = Change(new)
    return events


def _on_operator(name: str, label: str, decide: Any) -> Command[int]:
    return Command(
        name=name,
        label=label,
        aggregate=ACCOUNT,
        decide=decide,
        after=_write,
        render=_operator_answer,
        if_match="required",
        lock=_lock,
        guards=GUARDS,
    )


CHANGE_ROLES = _on_operator("change_operator_roles", "角色调整", _change_roles)
"""角色调整: known roles; never the last administrator's admin role."""
DEACTIVATE = _on_operator("deactivate_operator", "停用账号", _deactivate)
"""停用: not one's own account, not the last active administrator."""
REACTIVATE = _on_operator("reactivate_operator", "启用账号", _reactivate)
"""启用: a stopped account may log in again."""


async def _register(state: int, body: Any, ctx: Context) -> list[Event]:
    new, events = domain.register_client(
        await entry(ctx.conn, ctx.key),
        client_id=ctx.key,
        kind=body.kind,
        name=body.name,
        department=body.department,
        scopes=body.scopes,
        by=ctx.actor,
        now=ctx.now,
    )
    ctx.result = Change(new, new_secret(), created=True)
    return events


REGISTER_CLIENT: Command[int] = Command(
    name="register_partner_client",
    label="登记合作单位客户端",
    aggregate=ACCOUNT,
    decide=_register,
    after=_write,
    render=_client_answer,
    status_code=201,
    lock=_lock,
    guards=GUARDS,
    location=_client_location,
    remembered=_without("client_secret"),
)
"""登记客户端: a partner department's or a system's; its secret once."""


async def _revoke(state: int, body: Any, ctx: Context) -> list[Event]:
    current = domain.client_of(await entry(ctx.conn, ctx.key), ctx.key)
    new, events = domain.revoke(current, reason=body.reason, by=ctx.actor, now=ctx.now)
    ctx.result = Change(new)
    return events


REVOKE_CLIENT: Command[int] = Command(
    name="revoke_partner_client",
    label="吊销客户端",
    aggregate=ACCOUNT,
    decide=_revoke,
    after=_write,
    render=_client_answer,
    if_match="required",
    lock=_lock,
    guards=GUARDS,
)
"""吊销: the client gets no more tokens."""
