"""12345 hotline work orders, posted by the 12345 platform's system client."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts.intake import HotlineOrderReceived
from libs.events.store import ANY, NO_STREAM, Metadata
from libs.kit import idempotency
from libs.kit.auth import Principal, require_scopes
from libs.kit.conflicts import rerun_on_conflict
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import DuplicateRulesDep, Jurisdiction, VaultDep
from services.intake.api.transfers import PersonIn, check_categories
from services.intake.domain import clue_stream
from services.intake.domain.hotline import (
    HOTLINE_SOURCE,
    HotlineOrder,
    alleges_misconduct,
    order_stream,
    receive_order,
    update_order,
)
from services.intake.personal import seal_persons
from services.intake.references import claim_reference, next_clue_number, remember_reference
from services.intake.service.repeats import hold_persons, record_clue

router = APIRouter(prefix="/v1", tags=["12345 hotline orders"])

Hotline = Annotated[Principal, require_scopes("hotline:orders")]
Satisfaction = Literal["满意", "基本满意", "不满意"]


class HotlineOrderIn(BaseModel):
    """A 12345 work order (工单)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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
    misconduct_categories: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20, description="Taxonomy codes of alleged misconduct"
    )


class HotlineUpdateIn(BaseModel):
    """A later state of a work order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: str = Field(min_length=1, max_length=32)
    reopened: bool = False
    satisfaction: Satisfaction | None = None


class HotlineOrderOut(BaseModel):
    """What the platform learns back: the order, and the clue it became if it did."""

    order_number: str
    status: str
    clue_id: UUID | None = None
    clue_number: str | None = None
    clue_status: str | None = None
    """``received``, or ``merged`` when it repeats a clue already open (重复件)."""


@router.post("/hotline-orders", status_code=201, response_model=HotlineOrderOut)
async def receive_hotline_order(
    body: HotlineOrderIn,
    platform: Hotline,
    store: Store,
    vault: VaultDep,
    duplicate_rules: DuplicateRulesDep,
    jurisdiction: Jurisdiction,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Publish a work order; one naming an official for misconduct also becomes a clue
    (or a repeat report of the clue already open on the same matter)."""
    if body.misconduct_categories:
        check_categories(body.misconduct_categories, field="misconduct_categories")
    request_hash = idempotency.fingerprint(body.model_dump(mode="json"))
    order = HotlineOrder(
        order_number=body.order_number,
        unit=body.unit,
        category=body.category,
        content=body.content,
        deadline=body.deadline,
        status=body.status,
        reopened=body.reopened,
        satisfaction=body.satisfaction,
        misconduct_categories=tuple(body.misconduct_categories),
    )

    async def once() -> JSONResponse:
        async with store.engine.begin() as conn:
            held = await hold_persons(conn, vault, body.named_officials)
            if idempotency_key is not None:
                stored = await idempotency.claim(
                    conn, platform.actor, idempotency_key, request_hash
                )
                if stored is not None:
                    return JSONResponse(stored.body, stored.status_code)
            stored_answer = await claim_reference(
                conn, HOTLINE_SOURCE, body.order_number, uuid4(), request_hash, field="order_number"
            )
            if stored_answer is None:
                now = store.clock()
                clue = None
                officials: tuple[Any, ...] = ()
                if alleges_misconduct(order, len(body.named_officials)):
                    clue = (uuid4(), await next_clue_number(conn, now))
                    officials = await seal_persons(
                        vault, conn, body.named_officials, context=str(clue[0]), now=now
                    )
                meta = Metadata(
                    actor=platform.actor, correlation_id=correlation_id.get() or str(uuid4())
                )
                merged = None
                for stream, events in receive_order(
                    order, now=now, clue=clue, officials=officials
                ).items():
                    if clue is not None and stream == clue_stream(clue[0]):
                        merged = await record_clue(
                            conn,
                            store,
                            duplicate_rules,
                            events,
                            held,
                            meta=meta,
                            on_receipt=jurisdiction.on_receipt,
                        )
                    else:
                        await store.append(
                            stream, events, expected_version=NO_STREAM, meta=meta, conn=conn
                        )
                stored_answer = HotlineOrderOut(
                    order_number=order.order_number,
                    status=order.status,
                    clue_id=clue[0] if clue else None,
                    clue_number=clue[1] if clue else None,
                    clue_status=("merged" if merged else "received") if clue else None,
                ).model_dump(mode="json")
                await remember_reference(conn, HOTLINE_SOURCE, body.order_number, stored_answer)
            if idempotency_key is not None:
                await idempotency.remember(
                    conn, platform.actor, idempotency_key, 201, stored_answer
                )
        return JSONResponse(stored_answer, 201)

    return await rerun_on_conflict(once, pinned=False)


@router.post(
    "/hotline-orders/{order_number}/updates", status_code=201, response_model=HotlineOrderOut
)
async def update_hotline_order(
    order_number: str, body: HotlineUpdateIn, platform: Hotline, store: Store
) -> HotlineOrderOut:
    """Publish a later state of an order (status, reopened, satisfaction)."""
    history = await store.read_stream(order_stream(order_number))
    received = next((r.event for r in history if isinstance(r.event, HotlineOrderReceived)), None)
    if received is None:
        raise Problem(404, "not-found", "Not found", f"No work order {order_number}.")
    await store.append(
        order_stream(order_number),
        update_order(
            order_number,
            received.unit,
            status=body.status,
            reopened=body.reopened,
            satisfaction=body.satisfaction,
            now=store.clock(),
        ),
        expected_version=ANY,
        meta=Metadata(actor=platform.actor, correlation_id=correlation_id.get() or str(uuid4())),
    )
    return HotlineOrderOut(order_number=order_number, status=body.status)
