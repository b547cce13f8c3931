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

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from libs.events import pii
from libs.events.contracts.intake import PersonalDataAccessed
from libs.events.store import ANY, Metadata
from libs.kit.auth import Principal
from libs.kit.commands import Commands, IdempotencyKey, RequiredIfMatch
from libs.kit.openapi import VERSIONED, refusals
from libs.kit.pagination import Keyset, Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from libs.kit.timeparams import AsOf
from services.casework import queries
from services.casework.api.deps import CaseworkDeps, Operator
from services.casework.domain import (
    COMMANDS,
    CaseState,
    Command,
    Status,
)
from services.casework.policy import DIRECTOR, LEADER, OFFICER, REVIEWER, SECRETARY, SUPERVISOR
from services.casework.queries import CaseFilter
from services.casework.service import (
    CASE_COMMANDS,
    case_body,
    commands_for,
    list_register,
    load,
    read_case,
)

router = APIRouter(prefix="/v1", tags=["cases"])

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
        if_match: RequiredIfMatch,
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
        responses=refusals(
            (422, "invalid-command", "不符合办理规定（如复查日期须在今天以后、关联的案件须存在）")
        ),
    )


REVEALERS = frozenset({LEADER, REVIEWER, OFFICER, DIRECTOR, SECRETARY})
"""Roles that may see reported persons unmasked (officers: their own matters only)."""


async def _reveal(
    vault: pii.Vault, store: Store, state: CaseState, principal: Principal, body: dict[str, Any]
) -> None:
    """Unmask the reported persons and the subject for an allowed reader; record the access."""
    held = principal.roles & REVEALERS
    if not held:
        raise Problem(
            403,
            "forbidden",
            "无权查看",
            "被反映人和审查调查对象的个人信息只向分管领导、审理室和本案承办人完整显示。",
        )
    context = str(state.case_id)
    private = {"sealed", "blind_index"}
    body["reported_persons"] = [
        await pii.revealed(
            vault, p.model_dump(mode="json", exclude=private), p.sealed, context=context
        )
        for p in state.reported_persons
    ]
    if state.subject is not None:
        subject = state.subject.model_dump(mode="json", exclude=private)
        body["subject"] = await pii.revealed(vault, subject, state.subject.sealed, context=context)
    await _record_access(store, state, principal, sorted(held)[0])


async def _record_access(store: Store, state: CaseState, principal: Principal, role: str) -> None:
    """个人信息查阅记录: who opened whose sealed fields on this case, and why."""
    people: list[Any] = [p for p in state.reported_persons if p.sealed]
    if state.subject is not None and state.subject.sealed:
        people.append(state.subject)
    if not people or state.case_id is None:
        return
    refs = list(dict.fromkeys(p.person_ref for p in people if p.person_ref))
    await store.append(
        f"pii-access-{state.case_id}",
        [
            PersonalDataAccessed(
                clue_id=state.case_id,
                person_refs=refs,
                fields=sorted({f for p in people for f in p.sealed}),
                accessed_by=principal.actor,
                role=role,
                purpose="案件办理",
                accessed_at=store.clock(),
            )
        ],
        expected_version=ANY,
        meta=Metadata(actor=principal.actor),
    )


@router.get("/cases/{case_id}", responses=VERSIONED)
async def get_case(
    case_id: UUID,
    principal: Operator,
    store: Store,
    deps: CaseworkDeps,
    as_of: AsOf = None,
    reveal: bool = False,
) -> JSONResponse:
    """One case, as it stands or as it stood at ``as_of``; its version is the ``ETag``;
    ``my_commands`` are the ``allowed_commands`` the caller may give.

    ``reveal=true`` shows reported persons unmasked to allowed roles (the access is recorded).
    """
    state, _ = await read_case(
        store, case_id, principal, "case+reveal" if reveal else "case", as_of
    )
    body = case_body(state)
    body["my_commands"] = commands_for(principal, state)
    if reveal:
        assert deps.vault is not None  # opened when the service started
        await _reveal(deps.vault, store, state, principal, body)
    return _with_etag(body)


@router.get("/cases/{case_id}/timeline")
async def get_timeline(
    case_id: UUID, principal: Operator, store: Store, as_of: AsOf = None
) -> dict[str, Any]:
    """Every event in order with actor, reason and documents; linked cases' events included."""
    state, records = await read_case(store, case_id, principal, "timeline", as_of)
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
        data = pii.scrubbed(dict(r.envelope.data))  # masked only, as everywhere in answers
        if "command" in data and "to_status" in data:
            reason, documents = data.get("reason", ""), data.get("documents", [])
        said = _approval_reason(r.envelope.type, data)
        out.append(
            {
                "case_id": str(case_id),
                "linked_as": linked_as,
                "version": r.version,
                "type": r.envelope.type,
                "time": r.envelope.time.isoformat(),
                "actor": r.envelope.actor,
                "reason": said if said is not None else data.get("reason", reason),
                "documents": data.get("documents", documents),
                "data": data,
            }
        )
    return out


def _approval_reason(kind: str, data: dict[str, Any]) -> str | None:
    """What an approval step says: the proposal's reason, an approver's comment, the
    meeting's conclusion, why it was returned or withdrawn (``None``: not an approval)."""
    if not kind.startswith("zhengfeng.approvals."):
        return None
    body = data.get("body") or {}
    for said in (data.get("comment"), data.get("conclusion_text"), data.get("reason")):
        if said:
            return str(said)
    return str(body.get("reason", ""))


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
    if not principal.roles & {LEADER, REVIEWER, DIRECTOR, SECRETARY, "auditor"}:
        if SUPERVISOR in principal.roles:
            scope_department = principal.department
        else:  # officers their own; clerks nothing beyond their own
            scope_officer = principal.subject
    where = CaseFilter(
        status, category, unit, officer, overdue, supervised, scope_officer, scope_department
    )
    states, next_cursor = await list_register(store, where, principal, cursor, limit)
    items = [{**case_body(s), "my_commands": commands_for(principal, s)} for s in states]
    return Page[dict[str, Any]](items=items, next_cursor=next_cursor)


@router.get("/cases/{case_id}/reads")
async def list_reads(
    case_id: UUID, principal: Operator, conn: ReadConnection
) -> list[dict[str, Any]]:
    """Who read this case, when, which view (leaders and auditors)."""
    if not principal.roles & {LEADER, "auditor"}:
        raise Problem(403, "forbidden", "无权查看", "查阅记录只向分管领导和审计人员显示。")
    return await queries.reads_of(conn, case_id)
