"""送达: recording that a document reached the person it concerns (pure).

Serving is a step on the matter like the others (a ``CaseTransitioned`` with the command
``serve`` that keeps the status), with the ``DocumentServed`` fact beside it. Some documents'
service starts a clock (``service_starts_clock`` in ``data/documents.json`` names which):

* ``decision`` (党纪/政务处分决定书): 复审 may be applied for within a month of receiving
  it; serving it also clears the limit for serving it (政务处分 within a month);
* ``inquiry_reply`` (谈话函询通知书): the written reply is due 15 working days after the
  letter's receipt;
* ``recheck`` (复审决定书): 复核 may be applied for within a month of receiving it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event
from libs.events.contracts.casework import CaseTransitioned
from libs.events.contracts.documents import DocumentServed, ServiceManner
from libs.kit.refusal import Kind, Refused
from services.casework.domain.rules import Rules
from services.casework.domain.state import CaseState, IssuedDocument, Status


class ServeDocument(BaseModel):
    """送达: the document (from the path), the day it reached its addressee and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str] = "serve"
    document_id: UUID
    served_on: date
    manner: ServiceManner
    reason: str = Field(default="", max_length=4000)


def _refused(slug: str, detail: str, field: str, kind: Kind = "conflict") -> Refused:
    return Refused(slug, detail, kind=kind, field=field, title="送达不成立")


def _check(state: CaseState, cmd: ServeDocument, today: date) -> IssuedDocument:
    document = state.document(cmd.document_id)
    if document is None:
        raise _refused("unknown-document", "本案没有该文书。", "document_id", "missing")
    if document.served_on is not None:
        raise _refused(
            "already-served",
            f"{document.number}已于{document.served_on.isoformat()}送达。",
            "document_id",
        )
    if cmd.served_on > today:
        raise _refused("served-in-future", "送达日期不能晚于今天。", "served_on", "invalid")
    if cmd.served_on < document.issued_at.date():
        raise _refused("served-before-issue", "送达日期不能早于成文日期。", "served_on", "invalid")
    return document


def serve(
    state: CaseState,
    cmd: ServeDocument,
    now: datetime,
    clocks: Mapping[str, str],
    actor: str,
    rules: Rules,
) -> list[Event]:
    """The events of serving one of the matter's documents, or ``Refused``; ``clocks``
    says which clock the service of each kind of document starts."""
    assert state.case_id is not None
    document = _check(state, cmd, now.date())
    clock = clocks.get(document.kind)
    cleared = (
        ["decision_service"]
        if clock == "decision" and "decision_service" in state.deadlines
        else []
    )
    started: dict[str, date] = {}
    if clock == "inquiry_reply" and state.status is Status.TALK_OR_INQUIRY:
        started["inquiry_reply"] = rules.calendar.due(cmd.served_on, rules.limits["inquiry_reply"])
    record = CaseTransitioned(
        case_id=state.case_id,
        command="serve",
        from_status=state.status.value,
        to_status=state.status.value,
        reason=cmd.reason or f"{document.title}{cmd.manner.label}",
        documents=[document.number],
        details={
            "document_id": str(document.document_id),
            "kind": document.kind,
            "served_on": cmd.served_on.isoformat(),
            "manner": cmd.manner.value,
            "starts_clock": clock is not None,
            "clock": clock,
        },
        deadlines_set=started,
        deadlines_cleared=cleared,
        at=now,
    )
    served = DocumentServed(
        document_id=document.document_id,
        matter_id=state.case_id,
        kind=document.kind,
        number=document.number,
        served_on=cmd.served_on,
        manner=cmd.manner,
        recorded_by=actor,
        recorded_at=now,
    )
    return [record, served]
