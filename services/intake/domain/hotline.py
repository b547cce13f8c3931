"""12345 hotline work orders (12345 工单): published for analysis; misconduct becomes a clue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import (
    ClueReceived,
    HotlineOrderReceived,
    HotlineOrderUpdated,
    ReportedPerson,
)

HOTLINE_SOURCE = "12345"


def order_stream(order_number: str) -> str:
    """The stream of one work order."""
    return f"hotline-{order_number}"


@dataclass(frozen=True)
class HotlineOrder:
    """A work order as the 12345 platform forwards it."""

    order_number: str
    unit: str
    category: str
    content: str
    deadline: datetime | None
    status: str
    reopened: bool
    satisfaction: str | None
    misconduct_categories: tuple[str, ...] = ()
    """Taxonomy codes when the order alleges misconduct by a named official."""


def alleges_misconduct(order: HotlineOrder, named_officials: int) -> bool:
    """An order becomes a clue when it names an official and says what they did."""
    return named_officials > 0 and bool(order.misconduct_categories)


def receive_order(
    order: HotlineOrder,
    *,
    now: datetime,
    clue: tuple[UUID, str] | None = None,
    officials: tuple[ReportedPerson, ...] = (),
) -> dict[str, list[Event]]:
    """Per stream, what a new order records: the order, and a clue if it alleges misconduct."""
    out: dict[str, list[Event]] = {
        order_stream(order.order_number): [
            HotlineOrderReceived(
                order_number=order.order_number,
                unit=order.unit,
                category=order.category,
                content=order.content,
                deadline=order.deadline,
                status=order.status,
                reopened=order.reopened,
                satisfaction=order.satisfaction,
                received_at=now,
            )
        ]
    }
    if clue is not None and alleges_misconduct(order, len(officials)):
        clue_id, clue_number = clue
        out[f"clue-{clue_id}"] = [
            ClueReceived(
                clue_id=clue_id,
                clue_number=clue_number,
                source_kind="hotline_12345",
                source_department=HOTLINE_SOURCE,
                source_reference=order.order_number,
                reported_persons=list(officials),
                categories=list(dict.fromkeys(order.misconduct_categories)),
                narrative=order.content,
                received_at=now,
            )
        ]
    return out


def update_order(
    order_number: str,
    unit: str,
    *,
    status: str,
    reopened: bool,
    satisfaction: str | None,
    now: datetime,
) -> list[Event]:
    """A later state of an order."""
    return [
        HotlineOrderUpdated(
            order_number=order_number,
            unit=unit,
            status=status,
            reopened=reopened,
            satisfaction=satisfaction,
            updated_at=now,
        )
    ]
