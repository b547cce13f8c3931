"""审批 over HTTP: the routes a service mounts for each aggregate with approvals.

``POST {path}/proposals/{proposal_id}/approve|meeting|resubmit|withdraw`` run the approval
actions on the pipeline (If-Match required, Idempotency-Key honoured); ``GET
{path}/proposals`` and ``…/{proposal_id}`` read them; ``GET /v1/approvals?assignee=me`` is
the caller's inbox.
"""

# No ``from __future__ import annotations``: endpoints are built in a loop and FastAPI must
# see the body classes themselves.

from collections.abc import Callable, Coroutine
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from libs.kit.approvals import proposals as pr
from libs.kit.approvals.gate import ACTION_BODIES, Approvable, Approvals, OnProposal, proposal_view
from libs.kit.approvals.inbox import assigned_to
from libs.kit.auth import Principal
from libs.kit.commands import Command, Commands, IdempotencyKey, RequiredIfMatch
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store

SUMMARIES = {
    "approve": "审批：同意 / 不同意 / 退回修改，附意见",
    "meeting": "会议研究：记录会次、日期、出席人员、结论和不同意见",
    "resubmit": "被退回后由提出人修改并重新提交",
    "withdraw": "提出人撤回审批单",
}


def _action(
    command: Command[Any], body_cls: type[Any], caller: Any
) -> Callable[..., Coroutine[Any, Any, JSONResponse]]:
    async def endpoint(
        key: UUID,
        proposal_id: UUID,
        body: body_cls,  # type: ignore[valid-type]
        principal: caller,
        commands: Commands,
        if_match: RequiredIfMatch,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        on = OnProposal(proposal_id=proposal_id, body=body)
        return await commands.run(
            command, key, on, principal, if_match=if_match, idempotency_key=idempotency_key
        )

    endpoint.__name__ = f"{command.aggregate.noun}_{command.name}"
    return endpoint


def router(approvals: Approvals, caller: Any, *, inbox: bool = True) -> APIRouter:
    """The approval routes of every approvable aggregate of a service, and its inbox.

    ``caller`` is the service's dependency for who may act (e.g. its ``Operator``).
    """
    api = APIRouter(tags=["approvals"])
    for matter in approvals.matters:
        _mount(api, approvals, matter, caller)
    if inbox:
        _mount_inbox(api, caller)
    return api


def _mount(api: APIRouter, approvals: Approvals, matter: Approvable, caller: Any) -> None:
    path = matter.path
    for name, command in approvals.actions[matter.aggregate.noun].items():
        api.add_api_route(
            f"{path}/proposals/{{proposal_id}}/{name}",
            _action(command, ACTION_BODIES[name], caller),
            methods=["POST"],
            summary=SUMMARIES[name],
            response_class=JSONResponse,
        )

    async def read_all(key: UUID, principal: caller, store: Store) -> list[dict[str, Any]]:
        """本事项的审批单."""
        found = await _proposals(store, matter, key, principal)
        return [proposal_view(p, path.format(key=key)) for p in found.values()]

    async def read_one(
        key: UUID, proposal_id: UUID, principal: caller, store: Store
    ) -> dict[str, Any]:
        """一张审批单：审批链、当前步骤、已签批的人."""
        found = await _proposals(store, matter, key, principal)
        p = found.get(proposal_id)
        if p is None:
            raise Problem(
                404, "no-such-proposal", "审批单不存在", f"本事项没有审批单 {proposal_id}。"
            )
        return proposal_view(p, path.format(key=key))

    noun = matter.aggregate.noun
    api.add_api_route(f"{path}/proposals", read_all, methods=["GET"], name=f"{noun}_proposals")
    api.add_api_route(
        f"{path}/proposals/{{proposal_id}}", read_one, methods=["GET"], name=f"{noun}_proposal"
    )


async def _proposals(
    store: Any, matter: Approvable, key: UUID, principal: Principal
) -> pr.Proposals:
    records = await store.read_stream(matter.aggregate.stream(key))
    events = [r.event for r in records]
    state = matter.aggregate.replay(events)
    exists = matter.aggregate.exists(state) if matter.aggregate.exists else bool(records)
    if not exists:
        raise Problem(404, "not-found", "事项不存在", f"没有{matter.aggregate.label} {key}。")
    if matter.may_read is not None and not matter.may_read(principal, state):
        raise Problem(403, "forbidden", "无权查看", "此事项不在您的查看范围内。")
    return pr.fold(events)


def _mount_inbox(api: APIRouter, caller: Any) -> None:
    async def inbox(
        principal: caller,
        conn: ReadConnection,
        assignee: Literal["me"] = "me",
    ) -> dict[str, Any]:
        """待办审批：等待我所持角色审批的他人审批单，以及退回给我的审批单."""
        items = await assigned_to(conn, principal.actor, principal.roles)
        return {"assignee": principal.actor, "items": items}

    api.add_api_route("/v1/approvals", inbox, methods=["GET"], name="approval_inbox")
