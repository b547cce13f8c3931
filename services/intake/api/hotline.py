"""12345 hotline work orders, posted by the 12345 platform's system client."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.kit.auth import Principal, require_scopes
from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.fields import INVALID_RESIDENT_ID, STRIPPED, CategoryCode
from libs.kit.openapi import refusals
from services.intake.api.deps import IntakeDeps
from services.intake.api.transfers import PersonIn
from services.intake.service import hotline
from services.intake.service.hotline import RECEIVE_ORDER, UPDATE_ORDER, HotlineOrderOut

router = APIRouter(prefix="/v1", tags=["12345 hotline orders"])

Hotline = Annotated[Principal, require_scopes("hotline:orders")]
Satisfaction = Literal["满意", "基本满意", "不满意"]


class HotlineOrderIn(BaseModel):
    """A 12345 work order (工单)."""

    model_config = STRIPPED

    order_number: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    unit: str = Field(min_length=1, max_length=100, description="承办单位")
    category: str = Field(min_length=1, max_length=100, description="The platform's own category")
    content: str = Field(min_length=1, max_length=20000)
    deadline: datetime | None = None
    status: str = Field(min_length=1, max_length=32)
    reopened: bool = False
    satisfaction: Satisfaction | None = None
    named_officials: list[PersonIn] = Field(default_factory=list, max_length=10)
    """Officials the caller names (then the order may also become a clue)."""
    misconduct_categories: list[CategoryCode] = Field(
        default_factory=list, max_length=20, description="Taxonomy codes of alleged misconduct"
    )


class HotlineUpdateIn(BaseModel):
    """A later state of a work order."""

    model_config = STRIPPED

    status: str = Field(min_length=1, max_length=32)
    reopened: bool = False
    satisfaction: Satisfaction | None = None


@router.post(
    "/hotline-orders",
    status_code=201,
    response_model=HotlineOrderOut,
    responses=refusals(INVALID_RESIDENT_ID),
)
async def receive_hotline_order(
    body: HotlineOrderIn,
    platform: Hotline,
    commands: Commands,
    deps: IntakeDeps,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Publish a work order; one naming an official for misconduct also becomes a clue
    (or a repeat report of the clue already open on the same matter)."""
    hotline.admit(body, deps.taxonomy)
    return await commands.run(RECEIVE_ORDER, None, body, platform, idempotency_key=idempotency_key)


@router.post(
    "/hotline-orders/{order_number}/updates", status_code=201, response_model=HotlineOrderOut
)
async def update_hotline_order(
    order_number: str, body: HotlineUpdateIn, platform: Hotline, commands: Commands
) -> JSONResponse:
    """Publish a later state of an order (status, reopened, satisfaction)."""
    return await commands.run(UPDATE_ORDER, order_number, body, platform)
