"""12345 工单: a work order as a source of the receive path (one naming an official for
misconduct also becomes a clue), and the order's later states."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel

from libs.events.contracts import Event
from libs.events.contracts.intake import HotlineOrderReceived, ReportedPerson
from libs.events.taxonomy import Taxonomy
from libs.kit.commands import Aggregate, Command, Context
from services.intake.domain.hotline import (
    HOTLINE_SOURCE,
    HotlineOrder,
    alleges_misconduct,
    order_stream,
    receive_order,
    update_order,
)
from services.intake.personal import seal_persons
from services.intake.service.receive import (
    Arrival,
    Reference,
    Source,
    check_categories,
    receiving,
)


class HotlineOrderOut(BaseModel):
    """What the platform learns back: the order, and the clue it became if it did."""

    order_number: str
    status: str
    clue_id: UUID | None = None
    clue_number: str | None = None
    clue_status: str | None = None
    """``received``, or ``merged`` when it repeats a clue already open (重复件)."""


def admit(body: Any, taxonomy: Taxonomy) -> None:
    """What an order must be before it is received: misconduct named by taxonomy codes."""
    if body.misconduct_categories:
        check_categories(body.misconduct_categories, taxonomy, field="misconduct_categories")


def _order(body: Any) -> HotlineOrder:
    return HotlineOrder(
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


def _becomes_clue(body: Any) -> bool:
    return alleges_misconduct(_order(body), len(body.named_officials))


async def _record(body: Any, arrival: Arrival, ctx: Context) -> dict[str, list[Event]]:
    clue = None
    officials: tuple[ReportedPerson, ...] = ()
    if arrival.clue_number is not None:
        assert arrival.clue_id is not None
        clue = (arrival.clue_id, arrival.clue_number)
        officials = await seal_persons(
            ctx.deps.vault, ctx.conn, body.named_officials, context=str(clue[0]), now=ctx.now
        )
    return receive_order(_order(body), now=ctx.now, clue=clue, officials=officials)


async def _answer(arrival: Arrival, ctx: Context) -> dict[str, Any]:
    body = ctx.body
    clue = arrival.clue_number is not None
    return HotlineOrderOut(
        order_number=body.order_number,
        status=body.status,
        clue_id=arrival.clue_id if clue else None,
        clue_number=arrival.clue_number,
        clue_status=("merged" if arrival.merged else "received") if clue else None,
    ).model_dump(mode="json")


ORDERS = Source(
    name="receive_hotline_order",
    persons=lambda body: body.named_officials,
    record=_record,
    answer=_answer,
    reference=lambda body, ctx: Reference(HOTLINE_SOURCE, body.order_number, "order_number"),
    becomes_clue=_becomes_clue,
)
RECEIVE_ORDER = receiving(ORDERS)
"""Publish a work order; one naming an official for misconduct also becomes a clue (or a
repeat report of the clue already open on the same matter)."""


def _received(state: HotlineOrderReceived | None, event: Event) -> HotlineOrderReceived | None:
    return event if state is None and isinstance(event, HotlineOrderReceived) else state


ORDER: Aggregate[HotlineOrderReceived | None] = Aggregate(
    noun="work order",
    label="工单",
    stream=order_stream,
    initial=lambda: None,
    evolve=_received,
    exists=lambda state: state is not None,
    missing="没有工单 {key}。",
)
"""A 12345 work order, as it was received."""


def _update(state: HotlineOrderReceived | None, body: Any, ctx: Context) -> list[Event]:
    assert state is not None
    return update_order(
        ctx.key,
        state.unit,
        status=body.status,
        reopened=body.reopened,
        satisfaction=body.satisfaction,
        now=ctx.now,
    )


UPDATE_ORDER: Command[HotlineOrderReceived | None] = Command(
    name="update_hotline_order",
    aggregate=ORDER,
    decide=_update,
    render=lambda state, ctx: HotlineOrderOut(
        order_number=ctx.key, status=ctx.body.status
    ).model_dump(mode="json"),
    status_code=201,
    etag=False,
)
"""A later state of an order (status, reopened, satisfaction)."""
