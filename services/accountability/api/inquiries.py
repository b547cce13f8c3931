"""一案双查 inquiries over HTTP: open, check duties, record findings, propose and decide 问责."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.accountability import InquiryTrigger
from libs.events.store import ConcurrencyError, EventStore, Metadata
from libs.kit.auth import Principal
from libs.kit.logs import correlation_id
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.accountability.api.common import (
    Officer,
    Reader,
    Reviewer,
    command,
    expected_version,
)
from services.accountability.domain.inquiry import (
    CheckDuty,
    Command,
    ConcludeInquiry,
    Context,
    DecideMeasure,
    Inquiry,
    OpenInquiry,
    ProposeMeasure,
    RecordFinding,
    ReviewMeasure,
    decide,
    evolve,
    inquiry_stream,
    replay,
)
from services.accountability.domain.rules import Rules, load_rules
from services.accountability.handlers import read_lists

router = APIRouter(prefix="/v1", tags=["inquiries"])

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OpenIn(_In):
    """Open an inquiry by hand (an operator's decision, not a casework trigger)."""

    unit: Annotated[str, Field(min_length=1, max_length=100)]
    department: str | None = Field(default=None, max_length=100)
    misconduct_date: date
    reason: Text
    case_ids: list[UUID] = Field(default_factory=list, max_length=100)
    categories: list[str] = Field(default_factory=list, max_length=20)
    direct_subject: str | None = Field(default=None, max_length=50)


class DutyCheckIn(_In):
    party_id: str
    duty: str
    fulfilled: bool
    note: str = Field(default="", max_length=2000)


class FindingIn(_In):
    party_id: str
    fulfilled: bool
    reasons: list[Text] = Field(default_factory=list, max_length=20)


class MeasureIn(_In):
    party_id: str
    measure: str
    reasons: str = Field(default="", max_length=2000)


class ReviewIn(_In):
    office: str
    agreed: bool
    note: str = Field(default="", max_length=2000)


class DecisionIn(_In):
    decided_by_body: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="commission, or the name of the body with authority (e.g. 县委组织部)"
    )
    approved: bool
    document_number: str = Field(default="", max_length=100)


class ConclusionIn(_In):
    summary: Text


def view(state: Inquiry, version: int, rules: Rules) -> dict[str, Any]:
    """The inquiry as a clerk reads it, labels included."""
    o = state.opened
    assert o is not None
    offices = rules.review.offices
    return {
        "inquiry_id": str(o.inquiry_id),
        "version": version,
        "status": "concluded" if state.concluded else "open",
        "unit": o.unit,
        "department": o.department,
        "misconduct_date": o.misconduct_date.isoformat(),
        "trigger": o.trigger.model_dump(mode="json"),
        "direct_subject": o.direct_subject,
        "direct_measures": o.direct_measures,
        "key_area": o.key_area,
        "opened_by": o.opened_by,
        "opened_at": o.opened_at.isoformat(),
        "parties": [
            {
                **p.model_dump(mode="json"),
                "responsibility_label": rules.responsibilities.get(
                    p.responsibility, p.responsibility
                ),
                "duties": [
                    {
                        "duty": d,
                        "label": rules.duty_labels.get(d, d),
                        "fulfilled": (c.fulfilled if c else None),
                        "note": (c.note if c else ""),
                    }
                    for d in o.duties.get(p.party_id, [])
                    for c in [state.checks.get((p.party_id, d))]
                ],
                "finding": (
                    {
                        "fulfilled": f.fulfilled,
                        "reasons": f.reasons,
                        "recorded_by": f.recorded_by,
                        "recorded_at": f.recorded_at.isoformat(),
                    }
                    if (f := state.findings.get(p.party_id))
                    else None
                ),
            }
            for p in o.parties
        ],
        "measures": [
            {
                "measure_id": str(mid),
                "party_id": m.proposed.party_id,
                "measure": m.proposed.measure,
                "label": rules.measure_label(m.proposed.measure),
                "authority": m.proposed.authority,
                "authority_label": rules.authorities.get(m.proposed.authority, ""),
                "review_required": m.proposed.review_required,
                "reviews": [
                    {"office": k, "label": offices.get(k, k), "agreed": v}
                    for k, v in m.reviews.items()
                ],
                "decision": (
                    m.decision.model_dump(mode="json", exclude={"inquiry_id", "measure_id"})
                    if m.decision
                    else None
                ),
                "status": m.status,
                "effective_at": m.effective_at.isoformat() if m.effective_at else None,
            }
            for mid, m in state.measures.items()
        ],
        "trigger_revisions": [
            r.model_dump(mode="json", exclude={"inquiry_id"}) for r in state.revisions
        ],
        "concluded": (
            state.concluded.model_dump(mode="json", exclude={"inquiry_id"})
            if state.concluded
            else None
        ),
    }


async def _load(
    store: EventStore, inquiry_id: UUID, conn: AsyncConnection | None = None
) -> tuple[Inquiry, int]:
    history = await store.read_stream(inquiry_stream(inquiry_id), conn=conn)
    if not history:
        raise Problem(404, "not-found", "Not found", f"No inquiry {inquiry_id}.")
    return replay([r.event for r in history]), history[-1].version


def _meta(principal: Principal) -> Metadata:
    return Metadata(actor=principal.actor, correlation_id=correlation_id.get() or str(uuid4()))


async def _run(
    store: EventStore,
    principal: Principal,
    inquiry_id: UUID,
    cmd: Command,
    if_match: str | None,
    idempotency_key: str | None,
    payload: dict[str, Any],
    status: int = 200,
) -> JSONResponse:
    expected = expected_version(if_match, required=True)
    assert expected is not None
    rules = load_rules()

    async def work(conn: AsyncConnection) -> tuple[int, dict[str, Any], dict[str, str]]:
        state, version = await _load(store, inquiry_id, conn)
        if expected != version:
            raise ConcurrencyError(inquiry_stream(inquiry_id), expected, version)
        events = decide(state, cmd, Context(principal.actor, store.clock()), rules)
        recorded = await store.append(
            inquiry_stream(inquiry_id),
            events,
            expected_version=version,
            meta=_meta(principal),
            conn=conn,
        )
        for r in recorded:
            state = evolve(state, r.event)
        new_version = recorded[-1].version if recorded else version
        return status, view(state, new_version, rules), {"ETag": f'"{new_version}"'}

    return await command(
        store, principal, idempotency_key, {"inquiry": str(inquiry_id), **payload}, work
    )


Key = Annotated[str | None, Header(alias="Idempotency-Key")]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


@router.post("/inquiries", status_code=201)
async def open_inquiry(
    body: OpenIn, officer: Officer, store: Store, idempotency_key: Key = None
) -> JSONResponse:
    """Open an inquiry by hand; its parties come from the list valid on the misconduct date."""
    rules = load_rules()
    inquiry_id = uuid4()

    async def work(conn: AsyncConnection) -> tuple[int, dict[str, Any], dict[str, str]]:
        cmd = OpenInquiry(
            inquiry_id=inquiry_id,
            unit=body.unit,
            department=body.department,
            misconduct_date=body.misconduct_date,
            trigger=InquiryTrigger(kind="manual", reason=body.reason, case_ids=body.case_ids),
            lists=await read_lists(store, body.unit, conn),
            categories=tuple(body.categories),
            direct_subject=body.direct_subject,
        )
        events = decide(Inquiry(), cmd, Context(officer.actor, store.clock()), rules)
        await store.append(
            inquiry_stream(inquiry_id), events, expected_version=0, meta=_meta(officer), conn=conn
        )
        state = replay(events)
        return (
            201,
            view(state, len(events), rules),
            {
                "ETag": f'"{len(events)}"',
                "Location": f"/v1/inquiries/{inquiry_id}",
            },
        )

    return await command(store, officer, idempotency_key, body.model_dump(mode="json"), work)


@router.get("/inquiries/{inquiry_id}")
async def get_inquiry(
    inquiry_id: UUID, reader: Reader, store: Store, response: Response
) -> dict[str, Any]:
    """One inquiry with its parties, checklist, findings and measures; ``ETag`` for commands."""
    state, version = await _load(store, inquiry_id)
    response.headers["ETag"] = f'"{version}"'
    return view(state, version, load_rules())


@router.post("/inquiries/{inquiry_id}/duty-checks")
async def check_duty(
    inquiry_id: UUID,
    body: DutyCheckIn,
    officer: Officer,
    store: Store,
    if_match: IfMatch = None,
    idempotency_key: Key = None,
) -> JSONResponse:
    """Record one checklist item of a party's duties (日常监督, 警示教育, …)."""
    cmd = CheckDuty(body.party_id, body.duty, body.fulfilled, body.note)
    return await _run(store, officer, inquiry_id, cmd, if_match, idempotency_key, body.model_dump())


@router.post("/inquiries/{inquiry_id}/findings")
async def record_finding(
    inquiry_id: UUID,
    body: FindingIn,
    officer: Officer,
    store: Store,
    if_match: IfMatch = None,
    idempotency_key: Key = None,
) -> JSONResponse:
    """Record whether a party fulfilled its responsibility; not fulfilled needs reasons."""
    cmd = RecordFinding(body.party_id, body.fulfilled, tuple(body.reasons))
    return await _run(store, officer, inquiry_id, cmd, if_match, idempotency_key, body.model_dump())


@router.post("/inquiries/{inquiry_id}/measures", status_code=201)
async def propose_measure(
    inquiry_id: UUID,
    body: MeasureIn,
    officer: Officer,
    store: Store,
    if_match: IfMatch = None,
    idempotency_key: Key = None,
) -> JSONResponse:
    """Propose a 问责 measure on a party found not to have fulfilled its responsibility."""
    cmd = ProposeMeasure(uuid4(), body.party_id, body.measure, body.reasons)
    return await _run(
        store, officer, inquiry_id, cmd, if_match, idempotency_key, body.model_dump(), 201
    )


@router.post("/inquiries/{inquiry_id}/measures/{measure_id}/reviews")
async def review_measure(
    inquiry_id: UUID,
    measure_id: UUID,
    body: ReviewIn,
    reviewer: Reviewer,
    store: Store,
    if_match: IfMatch = None,
    idempotency_key: Key = None,
) -> JSONResponse:
    """One office's part of the three-party review of a key-area measure."""
    cmd = ReviewMeasure(measure_id, body.office, body.agreed, body.note)
    payload = {"measure": str(measure_id), **body.model_dump()}
    return await _run(store, reviewer, inquiry_id, cmd, if_match, idempotency_key, payload)


@router.post("/inquiries/{inquiry_id}/measures/{measure_id}/decision")
async def decide_measure(
    inquiry_id: UUID,
    measure_id: UUID,
    body: DecisionIn,
    reader: Reader,
    store: Store,
    if_match: IfMatch = None,
    idempotency_key: Key = None,
) -> JSONResponse:
    """The commission's own decision (a leader signs), or the recorded decision of the body
    with authority (``decided_by_body`` names it). 组织调整 cannot be decided by the commission."""
    if body.decided_by_body == "commission" and "leader" not in reader.roles:
        raise Problem(
            403, "forbidden-role", "Not allowed", "A commission decision is signed by a leader."
        )
    if body.decided_by_body != "commission" and not reader.roles & {"accountability", "leader"}:
        raise Problem(
            403,
            "forbidden-role",
            "Not allowed",
            "Recording a decision needs the accountability role.",
        )
    cmd = DecideMeasure(measure_id, body.decided_by_body, body.approved, body.document_number)
    payload = {"measure": str(measure_id), **body.model_dump()}
    return await _run(store, reader, inquiry_id, cmd, if_match, idempotency_key, payload)


@router.post("/inquiries/{inquiry_id}/conclusion")
async def conclude(
    inquiry_id: UUID,
    body: ConclusionIn,
    officer: Officer,
    store: Store,
    if_match: IfMatch = None,
    idempotency_key: Key = None,
) -> JSONResponse:
    """Conclude the inquiry once every party has a finding and no measure is pending."""
    return await _run(
        store,
        officer,
        inquiry_id,
        ConcludeInquiry(body.summary),
        if_match,
        idempotency_key,
        body.model_dump(),
    )


class InquiryRow(BaseModel):
    inquiry_id: UUID
    unit: str
    department: str | None
    trigger_kind: str
    trigger_reason: str
    misconduct_date: date
    status: str
    opened_at: datetime
    parties: list[str]
    measures_in_effect: int


BY_OPENING = Keyset(
    ("opened_at", "inquiry_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


@router.get("/inquiries", response_model=Page[InquiryRow])
async def list_inquiries(
    reader: Reader,
    store: Store,
    unit: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[InquiryRow]:
    """Inquiries, oldest first; filter by unit, status (open/concluded) and trigger kind."""
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM inquiries",
            keyset=BY_OPENING,
            where={
                "unit": ("unit = :unit", unit),
                "st": ("status = :st", status),
                "tk": ("trigger_kind = :tk", trigger),
            },
            cursor=cursor,
            limit=limit,
        )
    return Page[InquiryRow](items=[InquiryRow(**r) for r in rows], next_cursor=next_cursor)
