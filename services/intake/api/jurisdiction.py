"""管辖与转办: clerks forward clues outside this commission's jurisdiction, or keep them.

Commands take the clue's stream version in ``If-Match`` (its ``ETag`` from
``GET /v1/clues/{id}/jurisdiction``) and/or an ``Idempotency-Key``; a retry with the
same key gets the first answer, a stale version a 409.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.kit.auth import Principal, require_roles
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.fields import STRIPPED, stripped
from libs.kit.openapi import refusals
from libs.kit.service import ReadConnection, Store
from services.intake import queries
from services.intake.service import jurisdiction as service
from services.intake.service.jurisdiction import (
    DECIDE,
    DESIGNATE,
    FORWARD,
    TAKE_UP,
    JurisdictionOut,
    render,
)

AUTHORITY_REQUIRED = (422, "authority-required", "管辖登记表中没有此线索的受理机关，须填写移送机关")

router = APIRouter(prefix="/v1", tags=["jurisdiction and forwarding (clerks)"])

Clerk = Annotated[Principal, require_roles("clerk", "supervisor")]
Reader = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "leader", "auditor")
]
Method = Literal["official_letter", "document_system", "confidential_delivery", "in_person"]


class ForwardIn(BaseModel):
    """转办: where the clue goes and how."""

    model_config = STRIPPED

    authority: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The body with jurisdiction; defaults to the one the clue is marked for",
    )
    method: Method = Field(description="公函 / 公文交换系统 / 机要交通 / 当面移交")
    letter_number: str | None = Field(default=None, max_length=64, description="转办文号")
    note: str | None = Field(default=None, max_length=2000)


class DecisionIn(BaseModel):
    """A clerk's jurisdiction decision: keep the clue here, or mark it for forwarding."""

    model_config = stripped(
        one_of=[
            {"properties": {"decision": {"const": "keep"}, "authority": {"type": "null"}}},
            {"properties": {"decision": {"const": "forward"}}},
        ]
    )

    decision: Literal["keep", "forward"]
    reason: str = Field(min_length=1, max_length=1000)
    authority: str | None = Field(
        default=None, min_length=1, max_length=100, description="For forward: where it goes"
    )


class TakeUpIn(BaseModel):
    """提级办理: the higher commission's decision to take the matter up."""

    model_config = STRIPPED

    authority: str = Field(
        min_length=1, max_length=100, description="The higher commission (e.g. 市纪委监委)"
    )
    decision_number: str = Field(min_length=1, max_length=64, description="提级办理决定文号")
    reason: str = Field(min_length=1, max_length=1000)


class DesignationIn(BaseModel):
    """指定管辖: the higher commission's designation of the commission that handles it."""

    model_config = stripped(
        one_of=[
            {
                "properties": {"here": {"const": True}, "designated_to": {"type": "null"}},
                "required": ["here"],
            },
            {
                "properties": {"here": {"const": False}, "designated_to": {"type": "string"}},
                "required": ["designated_to"],
            },
        ]
    )

    designated_by: str = Field(min_length=1, max_length=100, description="作出指定的上级机关")
    designated_to: str | None = Field(
        default=None, min_length=1, max_length=100, description="被指定机关; empty when here"
    )
    here: bool = Field(default=False, description="指定本委管辖")
    decision_number: str = Field(min_length=1, max_length=64, description="指定管辖决定文号")
    reason: str = Field(min_length=1, max_length=1000)


def _with_etag(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={"ETag": f'"{body["version"]}"'})


@router.get("/clues/{clue_id}/jurisdiction", response_model=JurisdictionOut)
async def jurisdiction_of(clue_id: UUID, reader: Reader, store: Store) -> JSONResponse:
    """Whose the clue is (本委管辖 / 管辖待定 / 待转办 / 留本委办理 / 已转办); ETag = version."""
    return _with_etag(render(await service.jurisdiction_of(store, clue_id)))


@router.post(
    "/clues/{clue_id}/forwarding",
    status_code=201,
    response_model=JurisdictionOut,
    responses=refusals(AUTHORITY_REQUIRED),
)
async def forward_clue(
    clue_id: UUID,
    body: ForwardIn,
    clerk: Clerk,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """转办: record that a clue marked for forwarding went to the body with jurisdiction."""
    return await commands.run(
        FORWARD, clue_id, body, clerk, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post(
    "/clues/{clue_id}/jurisdiction",
    response_model=JurisdictionOut,
    responses=refusals(AUTHORITY_REQUIRED),
)
async def decide_jurisdiction(
    clue_id: UUID,
    body: DecisionIn,
    clerk: Clerk,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """管辖认定: keep a marked or undetermined clue here, or mark a clue for forwarding."""
    return await commands.run(
        DECIDE, clue_id, body, clerk, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post("/clues/{clue_id}/taking-up", status_code=201, response_model=JurisdictionOut)
async def take_up_clue(
    clue_id: UUID,
    body: TakeUpIn,
    clerk: Clerk,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """提级办理: record a higher commission's decision to take the matter up."""
    return await commands.run(
        TAKE_UP, clue_id, body, clerk, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post("/clues/{clue_id}/designation", status_code=201, response_model=JurisdictionOut)
async def designate_jurisdiction(
    clue_id: UUID,
    body: DesignationIn,
    clerk: Clerk,
    commands: Commands,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """指定管辖: record which commission a higher commission designated to handle the matter."""
    return await commands.run(
        DESIGNATE, clue_id, body, clerk, if_match=if_match, idempotency_key=idempotency_key
    )


class OverdueOut(BaseModel):
    """An intake limit that passed unmet."""

    clue_id: UUID
    clue_number: str | None
    kind: str
    """forwarding (转办) / acknowledgement (受理告知)."""
    due: date
    escalated_to: str | None


@router.get("/intake-deadlines/overdue", response_model=list[OverdueOut])
async def overdue_deadlines(reader: Clerk, conn: ReadConnection) -> list[OverdueOut]:
    """Intake's overdue limits still open, oldest first (what the supervisor chases)."""
    return [OverdueOut(**r) for r in await queries.overdue_deadlines(conn)]
