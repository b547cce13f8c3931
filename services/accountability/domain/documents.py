"""送达 of an inquiry's documents (问责决定书, 通报): recording that one reached the person
or organisation it concerns, pure — the same checks as casework's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.documents import DocumentIssued, DocumentServed, ServiceManner
from libs.kit.refusal import Kind, Refused

if TYPE_CHECKING:
    from services.accountability.domain.inquiry import Context, Inquiry


@dataclass(frozen=True)
class ServeDocument:
    """送达: the document, the day it reached its addressee and how."""

    document_id: UUID
    served_on: date
    manner: ServiceManner


def _refused(slug: str, detail: str, field: str, kind: Kind = "conflict") -> Refused:
    return Refused(slug, detail, kind=kind, field=field, title="送达不成立")


def _check(state: Inquiry, c: ServeDocument, today: date) -> DocumentIssued:
    document = state.documents.get(c.document_id)
    if document is None:
        raise _refused("unknown-document", "本问责调查没有该文书。", "document_id", "missing")
    served = state.served.get(c.document_id)
    if served is not None:
        on = served.served_on.isoformat()
        raise _refused("already-served", f"{document.number}已于{on}送达。", "document_id")
    if c.served_on > today:
        raise _refused("served-in-future", "送达日期不能晚于今天。", "served_on", "invalid")
    if c.served_on < document.issued_at.date():
        raise _refused("served-before-issue", "送达日期不能早于成文日期。", "served_on", "invalid")
    return document


def serve(state: Inquiry, c: ServeDocument, ctx: Context) -> list[Event]:
    """The fact that one of the inquiry's documents was served, or ``Refused``; a concluded
    inquiry's documents are served too (the record stays open to it)."""
    assert state.opened is not None
    document = _check(state, c, ctx.today)
    return [
        DocumentServed(
            document_id=document.document_id,
            matter_id=state.opened.inquiry_id,
            kind=document.kind,
            number=document.number,
            served_on=c.served_on,
            manner=c.manner,
            recorded_by=ctx.actor,
            recorded_at=ctx.now,
        )
    ]
