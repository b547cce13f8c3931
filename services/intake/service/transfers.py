"""线索移送: a partner department's transfer, as a source of the receive path, and what the
partner may read of its transfers afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts import Event
from libs.events.contracts.intake import AttachmentRef, ClueMerged, ClueReceived
from libs.events.store import EventStore
from libs.events.taxonomy import Taxonomy
from libs.kit.auth import Principal
from libs.kit.commands import Context
from libs.kit.problems import Problem
from services.intake import queries
from services.intake.domain import TransferClue, clue_stream, receive_transfer
from services.intake.domain.progress import SourceView, evolve, status_label
from services.intake.domain.transfers import source_kind_of
from services.intake.personal import seal_persons
from services.intake.service.receive import (
    SENT_AS_IS,
    Arrival,
    Reference,
    Source,
    check_categories,
    receiving,
)
from services.intake.service.repeats import merged_into


class MergedInto(BaseModel):
    """The department's own earlier clue a repeat report was merged into."""

    clue_number: str
    reference: str | None


class TransferOut(BaseModel):
    """What a partner learns about a clue it sent."""

    clue_id: UUID
    clue_number: str
    reference: str | None
    status: str
    """received / registered / disposed / case_filed / closed / name_cleared; ``merged``
    (已并入) when it was merged into an existing clue as a repeat report (重复件)."""
    status_label: str
    outcome: str | None = None
    """What casework decided the source may be told, once it has decided."""
    categories: list[str]
    received_at: datetime
    updated_at: datetime | None = None
    status_url: str
    merged_into: MergedInto | None = None
    """For a repeat report: the clue it joined, shown only when the department sent it too."""


def status_url(clue_id: UUID) -> str:
    """Where the partner reads a transfer's status."""
    return f"/v1/clue-transfers/{clue_id}"


def admit(partner: Principal, body: Any, taxonomy: Taxonomy) -> None:
    """What a transfer must be before it is received: from a department, in the taxonomy."""
    if not partner.department:
        raise Problem(403, "no-department", "无权移送", "该客户端未绑定移送单位。")
    check_categories(body.categories, taxonomy)


async def uploaded(
    conn: AsyncConnection, uploader: str, wanted: Sequence[Any]
) -> tuple[AttachmentRef, ...]:
    """The attachments a transfer names by hash; a 422 problem for any not uploaded."""
    # Only the uploader's own files: a hash alone must not let a partner attach (or
    # probe for) what someone else uploaded.
    if not wanted:
        return ()
    found = await queries.uploads(conn, uploader, [a.sha256 for a in wanted])
    missing = [
        {"field": f"attachments[{i}].sha256", "reason": "没有该哈希值的已上传文件"}
        for i, a in enumerate(wanted)
        if a.sha256 not in found
    ]
    if missing:
        raise Problem(
            422,
            "unknown-attachment",
            "附件尚未上传",
            "请先逐个通过 POST /v1/attachments 上传附件，再填写其 sha256。",
            errors=missing,
        )
    return tuple(found[a.sha256] for a in wanted)


async def _record(body: Any, arrival: Arrival, ctx: Context) -> dict[str, list[Event]]:
    assert arrival.clue_id is not None and arrival.clue_number is not None
    command = TransferClue(
        department=ctx.principal.department or "",
        reference=body.reference,
        **body.model_dump(include=SENT_AS_IS),
        reported_persons=list(
            await seal_persons(
                ctx.deps.vault,
                ctx.conn,
                body.reported_persons,
                context=str(arrival.clue_id),
                now=ctx.now,
            )
        ),
        attachments=list(await uploaded(ctx.conn, ctx.actor, body.attachments)),
    )
    events = receive_transfer(
        command,
        clue_id=arrival.clue_id,
        clue_number=arrival.clue_number,
        now=ctx.now,
        source_kind=source_kind_of(ctx.principal.scopes),
    )
    return {clue_stream(arrival.clue_id): list(events)}


async def _answer(arrival: Arrival, ctx: Context) -> dict[str, Any]:
    if arrival.merged is not None:
        out = await merged_out(ctx.store, arrival.merged, ctx.principal.department, ctx.conn)
    else:
        assert arrival.received is not None
        out = transfer_out(arrival.received)
    return out.model_dump(mode="json")


TRANSFERS = Source(
    name="transfer_clue",
    persons=lambda body: body.reported_persons,
    record=_record,
    answer=_answer,
    reference=lambda body, ctx: Reference(ctx.principal.department or "", body.reference),
)
TRANSFER = receiving(TRANSFERS, location=lambda answer: answer["status_url"])
"""Receive a clue from a partner department; a retry (by key or reference) gets the first
answer, Location included. A transfer on a matter already open is merged into that clue."""


def transfer_out(event: ClueReceived, view: SourceView | None = None) -> TransferOut:
    """A transfer as its partner sees it: the clue it became, and where that stands."""
    view = view or SourceView(updated_at=event.received_at)
    return TransferOut(
        clue_id=event.clue_id,
        clue_number=event.clue_number,
        reference=event.source_reference,
        status=view.status,
        status_label=status_label(view.status),
        outcome=view.outcome,
        categories=event.categories,
        received_at=event.received_at,
        updated_at=view.updated_at,
        status_url=status_url(event.clue_id),
    )


async def merged_out(
    store: EventStore,
    merged: ClueMerged,
    department: str | None,
    conn: AsyncConnection | None = None,
) -> TransferOut:
    """A transfer merged as a repeat report: which clue it joined, only when that clue is
    one of the department's own."""
    original = await store.read_stream(clue_stream(merged.clue_id), conn=conn)
    first = original[0].event if original else None
    into = None
    if isinstance(first, ClueReceived) and first.source_department == department:
        into = MergedInto(clue_number=first.clue_number, reference=first.source_reference)
    received_at = merged.received_at or merged.merged_at
    return TransferOut(
        clue_id=merged.repeat_id,
        clue_number=merged.repeat_number,
        reference=merged.source_reference,
        status="merged",
        status_label=status_label("merged"),
        categories=merged.categories,
        received_at=received_at,
        updated_at=merged.merged_at,
        status_url=status_url(merged.repeat_id),
        merged_into=into,
    )


async def transfer_of(store: EventStore, clue_id: UUID, department: str | None) -> TransferOut:
    """A transfer's status and outcome; another department's clue is not found."""
    history = [r.event for r in await store.read_stream(clue_stream(clue_id))]
    received = next((e for e in history if isinstance(e, ClueReceived)), None)
    if received is not None and received.source_department == department:
        view = SourceView()
        for event in history:
            view = evolve(view, event)
        return transfer_out(received, view)
    if received is None and (merged := await merged_into(store, clue_id)) is not None:
        if merged.source_department == department:
            return await merged_out(store, merged, department)
    raise Problem(404, "not-found", "移送记录不存在", f"本单位没有移送过线索 {clue_id}。")
