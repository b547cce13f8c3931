"""一案双查 inquiries as commands of the pipeline: the inquiry aggregate, its commands and
the inquiry as a clerk reads it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from pydantic import BaseModel, Field

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.accountability import InquiryTrigger
from libs.events.contracts.documents import ServiceManner
from libs.events.store import EventStore
from libs.kit.approvals import policy as approvals_policy
from libs.kit.approvals.gate import Approvable, Approvals
from libs.kit.auth import Principal
from libs.kit.commands import After, Aggregate, Command, Context, Guard
from libs.kit.fields import STRIPPED
from libs.kit.refusal import Refused
from libs.kit.workdays import WorkCalendar
from services.accountability.domain import inquiry as domain
from services.accountability.domain.documents import ServeDocument
from services.accountability.domain.inquiry import Inquiry, evolve, inquiry_stream
from services.accountability.domain.rules import Rules
from services.accountability.personal import (
    record_access,
    reveal_inquiry,
    revealing_role,
)
from services.accountability.service import documents
from services.accountability.service.integrity import INTEGRITY_REPLY_APPROVALS
from services.accountability.service.lists import unit_lists
from services.accountability.service.rectification import local_today
from services.accountability.service.reports import TYPICAL_CASE_APPROVALS
from services.accountability.service.suggestions import SUGGESTION_APPROVALS

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = STRIPPED


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
    responsibility_kind: str | None = Field(
        default=None,
        max_length=40,
        description="全面/主要/重要领导责任 (data/responsibility_kinds.json); "
        "omitted: what the party's list entry implies",
    )
    bearing: str | None = Field(
        default=None,
        max_length=40,
        description="collective 集体责任 / individual 个人责任; omitted: as the list entry implies",
    )


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


class ServeIn(_In):
    """送达: the day the document reached its addressee and how (直接送达, 邮寄送达…)."""

    served_on: date
    manner: ServiceManner


class OnDocument(BaseModel):
    """送达 of one of the inquiry's documents: the document (from the path) and the body."""

    document_id: UUID
    body: ServeIn


class OnMeasure(BaseModel):
    """A command on one measure of an inquiry: the measure (from the path) and the body,
    so that a retry with the same Idempotency-Key is one on the same measure."""

    measure_id: UUID
    body: ReviewIn | DecisionIn


def _party_view(state: Inquiry, party: Any, rules: Rules) -> dict[str, Any]:
    assert state.opened is not None
    finding = state.findings.get(party.party_id)
    return {
        **pii.scrubbed(party.model_dump(mode="json")),
        "responsibility_label": rules.responsibilities.get(
            party.responsibility, party.responsibility
        ),
        "duties": [
            {
                "duty": d,
                "label": rules.duty_labels.get(d, d),
                "fulfilled": (c.fulfilled if c else None),
                "note": (c.note if c else ""),
            }
            for d in state.opened.duties.get(party.party_id, [])
            for c in [state.checks.get((party.party_id, d))]
        ],
        "finding": (
            {
                "fulfilled": finding.fulfilled,
                "reasons": finding.reasons,
                "recorded_by": finding.recorded_by,
                "recorded_at": finding.recorded_at.isoformat(),
            }
            if finding
            else None
        ),
    }


def _measure_view(measure_id: UUID, m: domain.Measure, rules: Rules) -> dict[str, Any]:
    offices = rules.review.offices
    kinds = rules.responsibility_kinds
    return {
        "measure_id": str(measure_id),
        "party_id": m.proposed.party_id,
        "measure": m.proposed.measure,
        "label": rules.measure_label(m.proposed.measure),
        "responsibility_kind": m.proposed.responsibility_kind,
        "responsibility_kind_label": kinds.kind_label(m.proposed.responsibility_kind),
        "bearing": m.proposed.bearing,
        "bearing_label": kinds.bearing_label(m.proposed.bearing),
        "authority": m.proposed.authority,
        "authority_label": rules.authorities.get(m.proposed.authority, ""),
        "review_required": m.proposed.review_required,
        "reviews": [
            {"office": k, "label": offices.get(k, k), "agreed": v} for k, v in m.reviews.items()
        ],
        "decision": (
            m.decision.model_dump(mode="json", exclude={"inquiry_id", "measure_id"})
            if m.decision
            else None
        ),
        "status": m.status,
        "effective_at": m.effective_at.isoformat() if m.effective_at else None,
    }


def view(state: Inquiry, version: int, rules: Rules) -> dict[str, Any]:
    """The inquiry as a clerk reads it, labels included."""
    o = state.opened
    assert o is not None
    return {
        "inquiry_id": str(o.inquiry_id),
        "version": version,
        "status": "concluded" if state.concluded else "open",
        "unit": o.unit,
        "department": o.department,
        "misconduct_date": o.misconduct_date.isoformat(),
        "trigger": o.trigger.model_dump(mode="json"),
        "direct_subject": pii.mask_name(o.direct_subject) if o.direct_subject else None,
        "direct_measures": o.direct_measures,
        "key_area": o.key_area,
        "opened_by": o.opened_by,
        "opened_at": o.opened_at.isoformat(),
        "parties": [_party_view(state, p, rules) for p in o.parties],
        "measures": [_measure_view(mid, m, rules) for mid, m in state.measures.items()],
        "trigger_revisions": [
            r.model_dump(mode="json", exclude={"inquiry_id"}) for r in state.revisions
        ],
        "concluded": (
            state.concluded.model_dump(mode="json", exclude={"inquiry_id"})
            if state.concluded
            else None
        ),
    }


INQUIRY: Aggregate[Inquiry] = Aggregate(
    noun="inquiry", label="问责调查", stream=inquiry_stream, initial=Inquiry, evolve=evolve
)
"""一案双查: one stream per inquiry, from its opening to its conclusion."""

REQUIRED_IF_MATCH = "请在 If-Match 中带上您读取的版本号（ETag）。"


def new_inquiry_id(principal: Principal, idempotency_key: str | None) -> UUID:
    """The id of an inquiry opened by hand: a retry with the same Idempotency-Key names the
    same inquiry (so it gets the first answer); without a key, a new one."""
    if idempotency_key is None:
        return uuid4()
    return uuid5(
        NAMESPACE_URL, f"zhengfeng:accountability:inquiry:{principal.actor}:{idempotency_key}"
    )


async def read_inquiry(store: EventStore, inquiry_id: UUID) -> tuple[Inquiry, int]:
    """An inquiry as it stands and its version (the ``ETag`` of its commands)."""
    history = await store.read_stream(inquiry_stream(inquiry_id))
    if not history:
        raise INQUIRY.missing_problem(inquiry_id)
    return INQUIRY.replay([r.event for r in history]), history[-1].version


def _context(ctx: Context) -> domain.Context:
    return domain.Context(ctx.actor, ctx.now, local_today(ctx.now, ctx.deps.rectification))


def _render(state: Inquiry, ctx: Context) -> dict[str, Any]:
    return view(state, ctx.version, ctx.deps.rules)


async def _direct_subject(body: OpenIn, ctx: Context) -> dict[str, Any]:
    """The person named by hand as directly responsible, sealed (context: the inquiry)."""
    if not body.direct_subject:
        return {}
    context = str(ctx.key)
    sealed = await pii.sealed_person(
        ctx.deps.vault,
        ctx.conn,
        name=body.direct_subject,
        unit=body.unit,
        context=context,
        now=ctx.now,
    )
    return {
        "direct_subject": sealed["name"],
        "direct_subject_ref": sealed["person_ref"],
        "direct_subject_context": context,
        "direct_subject_sealed": sealed["sealed"],
    }


async def _open(state: Inquiry, body: OpenIn, ctx: Context) -> list[Event]:
    command = domain.OpenInquiry(
        inquiry_id=ctx.key,
        unit=body.unit,
        department=body.department,
        misconduct_date=body.misconduct_date,
        trigger=InquiryTrigger(kind="manual", reason=body.reason, case_ids=body.case_ids),
        lists=await unit_lists(ctx.store, body.unit, ctx.conn),
        categories=tuple(body.categories),
        **await _direct_subject(body, ctx),
    )
    return domain.decide(state, command, _context(ctx), ctx.deps.rules)


OPEN: Command[Inquiry] = Command(
    name="open_inquiry",
    aggregate=INQUIRY,
    decide=_open,
    render=_render,
    creates=True,
    status_code=201,
)
"""Open an inquiry by hand; its parties come from the list valid on the misconduct date."""


COMMAND_LABELS = {
    "check_duty": "核查履责情况",
    "record_finding": "认定履责情况",
    "propose_measure": "提出问责建议",
    "review_measure": "三方会审",
    "decide_measure": "问责决定",
    "conclude_inquiry": "问责调查办结",
    "serve": "送达",
}
"""An inquiry's commands as a clerk names them."""


def _on_inquiry(
    name: str,
    command: Callable[[Any], domain.Command],
    *,
    status_code: int = 200,
    guards: Sequence[Guard[Inquiry]] = (),
    after: After[Inquiry] | None = None,
    body_model: type[BaseModel] | None = None,
) -> Command[Inquiry]:
    """A command on an open inquiry: If-Match required, the domain decides; a clerk reads
    its name from ``COMMAND_LABELS``."""

    def decide(state: Inquiry, body: Any, ctx: Context) -> list[Event]:
        return domain.decide(state, command(body), _context(ctx), ctx.deps.rules)

    return Command(
        name=name,
        aggregate=INQUIRY,
        decide=decide,
        render=_render,
        if_match="required",
        status_code=status_code,
        guards=guards,
        required_if_match=REQUIRED_IF_MATCH,
        after=after,
        body_model=body_model,
        label=COMMAND_LABELS.get(name, ""),
    )


def _may_decide(state: Inquiry, on: OnMeasure, ctx: Context) -> None:
    """The accountability office proposes the commission's decision (its chain in
    ``data/approvals.json`` approves it) and records a body's decision (or a leader does)."""
    assert isinstance(on.body, DecisionIn)
    roles = ctx.principal.roles
    if on.body.decided_by_body == "commission" and "accountability" not in roles:
        why = "纪委的问责决定由党风政风监督室拟办，经审批后生效。"
    elif on.body.decided_by_body != "commission" and not roles & {"accountability", "leader"}:
        why = "记录有权机关的决定需要 accountability 角色。"
    else:
        return
    raise Refused("forbidden-role", why, kind="forbidden", title="无权办理")


def _review(on: OnMeasure) -> domain.Command:
    assert isinstance(on.body, ReviewIn)
    return domain.ReviewMeasure(on.measure_id, on.body.office, on.body.agreed, on.body.note)


def _decision(on: OnMeasure) -> domain.Command:
    assert isinstance(on.body, DecisionIn)
    b = on.body
    return domain.DecideMeasure(on.measure_id, b.decided_by_body, b.approved, b.document_number)


CHECK_DUTY = _on_inquiry(
    "check_duty", lambda b: domain.CheckDuty(b.party_id, b.duty, b.fulfilled, b.note)
)
RECORD_FINDING = _on_inquiry(
    "record_finding", lambda b: domain.RecordFinding(b.party_id, b.fulfilled, tuple(b.reasons))
)
PROPOSE_MEASURE = _on_inquiry(
    "propose_measure",
    lambda b: domain.ProposeMeasure(
        uuid4(), b.party_id, b.measure, b.reasons, b.responsibility_kind, b.bearing
    ),
    status_code=201,
)
REVIEW_MEASURE = _on_inquiry("review_measure", _review)
DECIDE_MEASURE = _on_inquiry(
    "decide_measure",
    _decision,
    guards=(_may_decide,),
    after=documents.issue,
    body_model=OnMeasure,
)
"""The decision on a measure; the commission's own takes effect when its approval chain
(``data/approvals.json``) approves it, and issues its 问责决定书 (and 通报)."""


CONCLUDE = _on_inquiry(
    "conclude_inquiry", lambda b: domain.ConcludeInquiry(b.summary), body_model=ConclusionIn
)
"""一案双查 concluded (every party found, no measure pending): the office proposes it, its
chain in ``data/approvals.json`` (the 常委会 collectively) concludes it."""


def approval_facts(state: Inquiry, body: Any) -> dict[str, Any]:
    """What the approval policy names: whether the commission decides, in a key area."""
    decision = getattr(body, "body", None)
    return {
        "by_commission": getattr(decision, "decided_by_body", None) == "commission",
        "key_area": bool(state.opened and state.opened.key_area),
    }


INQUIRY_APPROVALS = Approvable(
    aggregate=INQUIRY,
    commands={c.name: c for c in (DECIDE_MEASURE, CONCLUDE)},
    facts=approval_facts,
    path="/v1/inquiries/{key}",
    escalate_to=lambda state: state.opened.opened_by if state.opened else None,
)
"""问责 decisions go through the chains of ``data/approvals.json``."""

APPROVALS_FILE = Path(__file__).parents[1] / "data" / "approvals.json"


def load_approvals(calendar: WorkCalendar, path: str | None = None) -> Approvals:
    """Accountability's approvals: its policy file (the shipped one unless another is named)."""
    matters = [
        INQUIRY_APPROVALS,
        TYPICAL_CASE_APPROVALS,
        SUGGESTION_APPROVALS,
        INTEGRITY_REPLY_APPROVALS,
    ]
    return Approvals(approvals_policy.load(path or APPROVALS_FILE), calendar, matters)


SERVE = _on_inquiry(
    "serve",
    lambda on: ServeDocument(on.document_id, on.body.served_on, on.body.manner),
    body_model=OnDocument,
)
"""送达 of a 问责决定书 or 通报: the date and manner, once per document, concluded or not."""


async def reveal_names(
    store: EventStore, deps: Any, state: Inquiry, principal: Principal, body: dict[str, Any]
) -> None:
    """Unmask an inquiry's parties and direct subject for an allowed reader, and record it
    as 个人信息查阅记录 (PersonalDataAccessed) in accountability's store."""
    role = revealing_role(principal, "问责调查中的人员姓名只向领导和党风政风监督室完整显示。")
    assert state.opened is not None and deps.vault is not None
    refs = await reveal_inquiry(deps.vault, state.opened, body)
    await record_access(store, state.opened.inquiry_id, refs, principal, role, "问责调查")
