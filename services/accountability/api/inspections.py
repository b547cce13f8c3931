"""巡察 findings over HTTP: a 巡察组 reports what it found in a unit and follows the unit's
rectification of it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from libs.kit.auth import Principal, require_scopes
from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.openapi import VERSIONED
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.accountability.api.deps import AccountabilityDeps
from services.accountability.service.inspections import (
    REPORT_FINDINGS,
    FindingsIn,
    findings_list_id,
)
from services.accountability.service.rectification import read_list, view

router = APIRouter(prefix="/v1", tags=["inspections"])

InspectionGroup = Annotated[Principal, require_scopes("findings:report")]
"""A 巡察组's client (partner, scope ``findings:report``)."""


@router.post("/inspection-findings", status_code=201)
async def report_findings(
    body: FindingsIn,
    group: InspectionGroup,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """巡察反馈: the problems found in one unit become its rectification list, with the
    双报告 (to the party committee and the commission) and deadlines in working days. The
    same reference again gets the first answer."""
    list_id = findings_list_id(group, body.unit, body.reference)
    return await commands.run(
        REPORT_FINDINGS, list_id, body, group, idempotency_key=idempotency_key
    )


@router.get("/inspection-findings/{list_id}", responses=VERSIONED)
async def read_findings(
    list_id: UUID,
    group: InspectionGroup,
    store: Store,
    deps: AccountabilityDeps,
    response: Response,
) -> dict[str, Any]:
    """How the unit's rectification of the group's findings stands (its own findings only)."""
    try:
        state, version = await read_list(store, list_id)
    except Problem:
        state, version = None, 0
    if state is None or state.opened is None or state.opened.opened_by != group.actor:
        raise Problem(
            404, "not-found", "巡察整改清单不存在", f"没有本巡察组报送的整改清单 {list_id}。"
        )
    response.headers["ETag"] = f'"{version}"'
    return group_view(view(state, version, deps.rectification))


def group_view(body: dict[str, Any]) -> dict[str, Any]:
    """The list as the 巡察组 reads it: what was done and when, not which officer did it."""
    body.pop("opened_by", None)
    for item in body["items"]:
        for step in item["history"]:
            step.pop("by", None)
    return body
