"""Casework's HTTP API for cases: commands, the register, one case, its timeline.

Commands are ``POST /v1/cases/{id}/{command}`` with the actor's reason and documents,
``If-Match`` (the version the caller saw) and an optional ``Idempotency-Key``.
"""

# No ``from __future__ import annotations`` here: each command's endpoint is built in a
# loop and FastAPI must see the body class itself, not its name.

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from libs.events import pii
from libs.events.contracts.intake import PersonalDataAccessed
from libs.events.store import ANY, Metadata
from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.casework.domain import (
    COMMANDS,
    CaseState,
    Command,
    Status,
    clue_stream,
)
from services.casework.policy import LEADER, OFFICER, REVIEWER, SUPERVISOR, may_read
from services.casework.service import CASE_COMMANDS, case_body, load, not_found, record_read

router = APIRouter(prefix="/v1", tags=["cases"])

Operator = Annotated[
    Principal,
    require_roles("clerk", SUPERVISOR, OFFICER, REVIEWER, LEADER, "auditor"),
]
BY_REGISTRATION = Keyset(
    ("registered_at", "case_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


def _with_etag(body: dict[str, Any], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status, headers={"ETag": f'"{body["version"]}"', **headers})


def _command_endpoint(
    cmd_cls: type[Command],
) -> Callable[..., Coroutine[Any, Any, JSONResponse]]:
    command = CASE_COMMANDS[cmd_cls.name]

    async def endpoint(
        case_id: UUID,
        body: cmd_cls,  # type: ignore[valid-type]
        principal: Operator,
        commands: Commands,
        if_match: IfMatch,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        return await commands.run(
            command,
            case_id,
            body,
            principal,
            if_match=if_match,
            idempotency_key=idempotency_key,
        )

    endpoint.__doc__ = cmd_cls.__doc__
    endpoint.__name__ = cmd_cls.name
    return endpoint


for _name, _cls in COMMANDS.items():
    router.add_api_route(
        f"/cases/{{case_id}}/{_name}",
        _command_endpoint(_cls),
        methods=["POST"],
        summary=(_cls.__doc__ or _name).strip().splitlines()[0],
        response_class=JSONResponse,
    )


async def _readable(
    store: Store, case_id: UUID, principal: Principal, view: str, as_of: datetime | None
) -> tuple[CaseState, list[Any]]:
    async with store.engine.begin() as conn:
        state, records = await load(store, case_id, as_of=as_of, conn=conn)
        if state.case_id is None:
            if as_of is not None and await store.stream_version(clue_stream(case_id), conn):
                raise Problem(
                    404,
                    "not-found",
                    "Not found at that time",
                    f"Case {case_id} was not yet registered at {as_of.isoformat()}.",
                )
            raise not_found(case_id)
        current, _ = (state, records) if as_of is None else await load(store, case_id, conn=conn)
        if not may_read(principal, current):
            raise Problem(
                403, "forbidden", "Not allowed", "This case is outside your jurisdiction."
            )
        await record_read(conn, case_id, principal, view, as_of)
    return state, records


REVEALERS = frozenset({LEADER, REVIEWER, OFFICER})
"""Roles that may see reported persons unmasked (officers: their own matters only)."""


async def _vault(request: Request, store: Store) -> pii.Vault:
    vault: pii.Vault | None = getattr(request.app.state, "vault", None)
    if vault is None:
        vault = pii.Vault.from_env(store.engine)
        await vault.ensure()
        request.app.state.vault = vault
    return vault


async def _reveal(
    request: Request, store: Store, state: CaseState, principal: Principal, body: dict[str, Any]
) -> None:
    """Unmask the reported persons for an allowed reader and record the access."""
    held = principal.roles & REVEALERS
    if not held:
        raise Problem(
            403,
            "forbidden",
            "Not allowed",
            "Personal data is shown unmasked to leaders, reviewers and the assigned officer.",
        )
    vault = await _vault(request, store)
    shown = []
    for p in state.reported_persons:
        doc = p.model_dump(mode="json", exclude={"sealed", "blind_index"})
        for field, token in p.sealed.items():
            value = await vault.reveal(token, context=str(state.case_id), field=field)
            doc[field] = pii.display(value)
        shown.append(doc)
    body["reported_persons"] = shown
    sealed = [p for p in state.reported_persons if p.sealed]
    if not sealed or state.case_id is None:
        return
    await store.append(
        f"pii-access-{state.case_id}",
        [
            PersonalDataAccessed(
                clue_id=state.case_id,
                person_refs=[p.person_ref for p in sealed if p.person_ref],
                fields=sorted({f for p in sealed for f in p.sealed}),
                accessed_by=principal.actor,
                role=sorted(held)[0],
                purpose="案件办理",
                accessed_at=store.clock(),
            )
        ],
        expected_version=ANY,
        meta=Metadata(actor=principal.actor),
    )


@router.get("/cases/{case_id}")
async def get_case(
    case_id: UUID,
    principal: Operator,
    store: Store,
    request: Request,
    as_of: datetime | None = None,
    reveal: bool = False,
) -> JSONResponse:
    """One case, as it stands or as it stood at ``as_of``; its version is the ``ETag``.

    ``reveal=true`` shows reported persons unmasked to allowed roles (the access is recorded).
    """
    state, _ = await _readable(
        store, case_id, principal, "case+reveal" if reveal else "case", as_of
    )
    body = case_body(state)
    if reveal:
        await _reveal(request, store, state, principal, body)
    return _with_etag(body)


@router.get("/cases/{case_id}/timeline")
async def get_timeline(
    case_id: UUID, principal: Operator, store: Store, as_of: datetime | None = None
) -> dict[str, Any]:
    """Every event in order with actor, reason and documents; linked cases' events included."""
    state, records = await _readable(store, case_id, principal, "timeline", as_of)
    entries = _entries(case_id, records)
    for link in state.links:
        _, linked = await load(store, link.case_id, as_of=as_of)
        entries += _entries(link.case_id, linked, linked_as=link.relation)
    entries.sort(key=lambda e: (e["time"], e["case_id"] != str(case_id), e["version"]))
    return {"case": case_body(state), "as_of": as_of, "events": entries}


def _entries(
    case_id: UUID, records: list[Any], linked_as: str | None = None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    reason, documents = "", []
    for r in records:
        data = dict(r.envelope.data)
        if "reported_persons" in data:  # masked only, as everywhere in answers
            data["reported_persons"] = [
                {k: v for k, v in p.items() if k not in ("sealed", "blind_index")}
                for p in data["reported_persons"]
            ]
        if "command" in data and "to_status" in data:
            reason, documents = data.get("reason", ""), data.get("documents", [])
        out.append(
            {
                "case_id": str(case_id),
                "linked_as": linked_as,
                "version": r.version,
                "type": r.envelope.type,
                "time": r.envelope.time.isoformat(),
                "actor": r.envelope.actor,
                "reason": data.get("reason", reason),
                "documents": data.get("documents", documents),
                "data": data,
            }
        )
    return out


@router.get("/cases", response_model=Page[dict[str, Any]])
async def list_cases(
    principal: Operator,
    store: Store,
    status: Status | None = None,
    category: str | None = None,
    unit: str | None = None,
    officer: str | None = None,
    overdue: bool | None = None,
    supervised: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[dict[str, Any]]:
    """The case register, oldest first; officers see their own, supervisors their jurisdiction."""
    scope_officer = scope_department = None
    if not principal.roles & {LEADER, REVIEWER, "auditor"}:
        if SUPERVISOR in principal.roles:
            scope_department = principal.department
        elif OFFICER in principal.roles:
            scope_officer = principal.subject
        else:
            scope_officer = principal.subject  # clerks: nothing beyond their own
    async with store.engine.begin() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT state, registered_at, case_id FROM cases",
            keyset=BY_REGISTRATION,
            where={
                "st": ("status = :st", status.value if status else None),
                "cat": (":cat = ANY(categories)", category),
                "unit": ("unit = :unit", unit),
                "off": ("officer = :off", officer),
                "od": ("overdue = :od", overdue),
                "sup": ("supervised = :sup", supervised),
                "sc_off": ("officer = :sc_off", scope_officer),
                "sc_dep": ("department = :sc_dep", scope_department),
            },
            cursor=cursor,
            limit=limit,
        )
        states = [CaseState.model_validate(r["state"]) for r in rows]
        await record_read(
            conn, [s.case_id for s in states if s.case_id is not None], principal, "list", None
        )
    return Page[dict[str, Any]](items=[case_body(s) for s in states], next_cursor=next_cursor)


@router.get("/cases/{case_id}/reads")
async def list_reads(case_id: UUID, principal: Operator, store: Store) -> list[dict[str, Any]]:
    """Who read this case, when, which view (leaders and auditors)."""
    if not principal.roles & {LEADER, "auditor"}:
        raise Problem(403, "forbidden", "Not allowed", "Leaders and auditors see the read log.")
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT actor, view, as_of, read_at FROM case_reads WHERE case_id = :c ORDER BY id"
            ),
            {"c": case_id},
        )
        return [dict(r) for r in rows.mappings()]
