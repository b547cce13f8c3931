"""一案双查 inquiries: parties, duty checks, findings and 问责 measures, decided purely.

``decide(state, command, ctx)`` returns the events a command records (or raises
``Refused``); ``evolve(state, event)`` folds them. Time, ids and the actor come in the
``Context``; rules come as data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.accountability import (
    DutyChecked,
    FindingRecorded,
    InquiryConcluded,
    InquiryOpened,
    InquiryTrigger,
    InquiryTriggerRevised,
    MeasureDecided,
    MeasureProposed,
    MeasureReviewed,
    MeasureTookEffect,
    ResponsibleParty,
)
from libs.events.contracts.documents import DocumentIssued, DocumentServed
from services.accountability.domain.documents import ServeDocument, serve
from services.accountability.domain.errors import Refused
from services.accountability.domain.lists import ListVersion, list_as_of, responsible_parties
from services.accountability.domain.rules import Rules


def inquiry_stream(inquiry_id: UUID) -> str:
    """The stream of one inquiry."""
    return f"inquiry-{inquiry_id}"


@dataclass(frozen=True)
class Context:
    """Who acts, when, and the day it is where the commission sits (a document served
    "today" after 16:00 UTC is served on the next day in China)."""

    actor: str
    now: datetime
    today: date


# -- commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInquiry:
    inquiry_id: UUID
    unit: str
    department: str | None
    misconduct_date: date
    trigger: InquiryTrigger
    lists: Sequence[ListVersion]
    categories: Sequence[str] = ()
    direct_subject: str | None = None
    direct_subject_sealed: Mapping[str, str] = field(default_factory=dict)
    """The subject's tokens as casework sealed them (context: ``direct_subject_context``)."""
    direct_subject_ref: UUID | None = None
    direct_subject_context: str | None = None
    direct_measures: Sequence[str] = ()
    require_list: bool = True
    """A manual opening needs a list; an automatic one opens anyway and says none covered."""


@dataclass(frozen=True)
class CheckDuty:
    party_id: str
    duty: str
    fulfilled: bool
    note: str = ""


@dataclass(frozen=True)
class RecordFinding:
    party_id: str
    fulfilled: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProposeMeasure:
    measure_id: UUID
    party_id: str
    measure: str
    reasons: str = ""
    responsibility_kind: str | None = None
    """全面/主要/重要领导责任; ``None``: what the party's list entry implies."""
    bearing: str | None = None
    """集体责任 / 个人责任; ``None``: what the party's list entry implies."""


@dataclass(frozen=True)
class ReviewMeasure:
    measure_id: UUID
    office: str
    agreed: bool
    note: str = ""


@dataclass(frozen=True)
class DecideMeasure:
    measure_id: UUID
    decided_by_body: str
    """``commission`` for the commission's own decision, else the body with authority."""
    approved: bool
    document_number: str = ""


@dataclass(frozen=True)
class ConcludeInquiry:
    summary: str


Command = (
    OpenInquiry
    | CheckDuty
    | RecordFinding
    | ProposeMeasure
    | ReviewMeasure
    | DecideMeasure
    | ConcludeInquiry
    | ServeDocument
)

# -- state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A proposed measure and how far it got."""

    proposed: MeasureProposed
    reviews: dict[str, bool] = field(default_factory=dict)
    decision: MeasureDecided | None = None
    effective_at: datetime | None = None

    @property
    def status(self) -> str:
        """proposed / in_review / decided / rejected / review_refused / in_effect."""
        if self.effective_at is not None:
            return "in_effect"
        if self.decision is not None and not self.decision.approved:
            return "rejected"
        if any(agreed is False for agreed in self.reviews.values()):
            return "review_refused"
        if self.decision is not None:
            return "decided"
        return "in_review" if self.reviews else "proposed"

    @property
    def pending(self) -> bool:
        """Still waiting for a decision or a review before it can take effect."""
        return self.status in ("proposed", "in_review", "decided")


MEASURE_STATUS_LABELS = {
    "proposed": "已提出",
    "in_review": "会审中",
    "decided": "已决定",
    "rejected": "未获批准",
    "review_refused": "会审未通过",
    "in_effect": "已生效",
}
"""A measure's status as a clerk names it."""

_TARGETS = {"organisation": "党组织", "leader": "领导干部"}


@dataclass(frozen=True)
class Inquiry:
    """An inquiry as its events left it."""

    opened: InquiryOpened | None = None
    checks: dict[tuple[str, str], DutyChecked] = field(default_factory=dict)
    findings: dict[str, FindingRecorded] = field(default_factory=dict)
    measures: dict[UUID, Measure] = field(default_factory=dict)
    concluded: InquiryConcluded | None = None
    revisions: tuple[InquiryTriggerRevised, ...] = ()
    """Appeals that changed the decision which opened the inquiry (复审/复核)."""
    documents: dict[UUID, DocumentIssued] = field(default_factory=dict)
    """文书 its decisions issued (问责决定书, 通报), in issue order."""
    served: dict[UUID, DocumentServed] = field(default_factory=dict)
    """送达 of those documents, by document."""

    def party(self, party_id: str) -> ResponsibleParty:
        assert self.opened is not None
        for p in self.opened.parties:
            if p.party_id == party_id:
                return p
        raise Refused(
            "unknown-party",
            f"本问责调查没有当事方 {party_id}；当事方为："
            f"{'、'.join(p.party_id for p in self.opened.parties) or '无'}。",
            field="party_id",
        )


def evolve(state: Inquiry, event: Event) -> Inquiry:
    """Fold one event into the inquiry."""
    if isinstance(event, InquiryOpened):
        return replace(state, opened=event)
    if isinstance(event, DutyChecked):
        return replace(state, checks={**state.checks, (event.party_id, event.duty): event})
    if isinstance(event, FindingRecorded):
        return replace(state, findings={**state.findings, event.party_id: event})
    if isinstance(event, MeasureProposed):
        return replace(state, measures={**state.measures, event.measure_id: Measure(event)})
    if isinstance(event, MeasureReviewed):
        m = state.measures[event.measure_id]
        m = replace(m, reviews={**m.reviews, event.office: event.agreed})
        return replace(state, measures={**state.measures, event.measure_id: m})
    if isinstance(event, MeasureDecided):
        m = replace(state.measures[event.measure_id], decision=event)
        return replace(state, measures={**state.measures, event.measure_id: m})
    if isinstance(event, MeasureTookEffect):
        m = replace(state.measures[event.measure_id], effective_at=event.effective_at)
        return replace(state, measures={**state.measures, event.measure_id: m})
    if isinstance(event, InquiryConcluded):
        return replace(state, concluded=event)
    if isinstance(event, InquiryTriggerRevised):
        return replace(state, revisions=(*state.revisions, event))
    if isinstance(event, DocumentIssued):
        return replace(state, documents={**state.documents, event.document_id: event})
    if isinstance(event, DocumentServed):
        return replace(state, served={**state.served, event.document_id: event})
    return state


def replay(events: Sequence[Event]) -> Inquiry:
    """The inquiry from its whole history."""
    state = Inquiry()
    for e in events:
        state = evolve(state, e)
    return state


def decide(state: Inquiry, command: Command, ctx: Context, rules: Rules) -> list[Event]:
    """The events a command records on the inquiry; ``Refused`` when the rules forbid it."""
    if isinstance(command, OpenInquiry):
        return _open(state, command, ctx, rules)
    if state.opened is None:
        raise Refused("no-inquiry", "没有这项问责调查。", kind="missing", title="问责调查不存在")
    if isinstance(command, ServeDocument):
        return serve(state, command, ctx)
    if state.concluded is not None:
        raise Refused(
            "inquiry-concluded",
            "问责调查已办结，记录保持不变（终身问责）。",
            kind="conflict",
            title="问责调查已办结",
        )
    inquiry_id = state.opened.inquiry_id
    if isinstance(command, CheckDuty):
        party = state.party(command.party_id)
        duties = state.opened.duties.get(party.party_id, [])
        if command.duty not in duties:
            listed = "、".join(rules.duty_labels.get(d, d) for d in duties)
            raise Refused(
                "unknown-duty",
                f"{command.duty} 不在{party.name}的责任清单上，清单事项为：{listed}。",
                field="duty",
            )
        return [
            DutyChecked(
                inquiry_id=inquiry_id,
                party_id=party.party_id,
                duty=command.duty,
                fulfilled=command.fulfilled,
                note=command.note,
                checked_by=ctx.actor,
                checked_at=ctx.now,
            )
        ]
    if isinstance(command, RecordFinding):
        party = state.party(command.party_id)
        if not command.fulfilled and not any(r.strip() for r in command.reasons):
            raise Refused(
                "reasons-required",
                f"请写明{party.name}未履行"
                f"{rules.responsibilities.get(party.responsibility, party.responsibility)}的理由。",
                field="reasons",
            )
        return [
            FindingRecorded(
                inquiry_id=inquiry_id,
                party_id=party.party_id,
                fulfilled=command.fulfilled,
                reasons=[r.strip() for r in command.reasons if r.strip()],
                recorded_by=ctx.actor,
                recorded_at=ctx.now,
            )
        ]
    if isinstance(command, ProposeMeasure):
        return _propose(state, command, ctx, rules)
    if isinstance(command, ReviewMeasure):
        return _review(state, command, ctx, rules)
    if isinstance(command, DecideMeasure):
        return _decide_measure(state, command, ctx, rules)
    return _conclude(state, command, ctx)


def _open(state: Inquiry, c: OpenInquiry, ctx: Context, rules: Rules) -> list[Event]:
    if state.opened is not None:
        raise Refused(
            "inquiry-exists", "该问责调查已经启动。", kind="conflict", title="问责调查已启动"
        )
    found = list_as_of(c.lists, c.misconduct_date)
    if found is None and c.require_list:
        raise Refused(
            "no-list",
            f"{c.unit}没有覆盖 {c.misconduct_date} 的责任清单，请先发布责任清单。",
            field="misconduct_date",
        )
    parties = responsible_parties(found, c.department) if found else []
    key_area = bool(found and found.published.key_area) or any(
        cat in rules.review.key_area_categories for cat in c.categories
    )
    return [
        InquiryOpened(
            inquiry_id=c.inquiry_id,
            unit=c.unit,
            department=c.department,
            misconduct_date=c.misconduct_date,
            trigger=c.trigger,
            direct_subject=c.direct_subject,
            direct_subject_ref=c.direct_subject_ref,
            direct_subject_context=c.direct_subject_context,
            direct_subject_sealed=dict(c.direct_subject_sealed),
            direct_measures=list(c.direct_measures),
            parties=parties,
            duties={p.party_id: list(rules.duties.get(p.responsibility, [])) for p in parties},
            key_area=key_area,
            opened_by=ctx.actor,
            opened_at=ctx.now,
        )
    ]


def _propose(state: Inquiry, c: ProposeMeasure, ctx: Context, rules: Rules) -> list[Event]:
    assert state.opened is not None
    party = state.party(c.party_id)
    rule = rules.measures.get(c.measure)
    if rule is None:
        raise Refused(
            "unknown-measure",
            f"{c.measure} 不是问责方式，可选："
            f"{'、'.join(f'{k}（{r.label}）' for k, r in rules.measures.items())}。",
            field="measure",
        )
    if party.kind not in rule.targets:
        raise Refused(
            "measure-not-for-party",
            f"{rule.label}只适用于{'、'.join(_TARGETS.get(t, t) for t in rule.targets)}，"
            f"不适用于{party.name}（{_TARGETS.get(party.kind, party.kind)}）。",
            field="measure",
        )
    finding = state.findings.get(party.party_id)
    if finding is None or finding.fulfilled:
        raise Refused(
            "no-failing-finding",
            f"提出问责前，须先认定{party.name}未履行责任。",
            field="party_id",
            kind="conflict",
        )
    if any(
        m.proposed.party_id == party.party_id and m.proposed.measure == c.measure and m.pending
        for m in state.measures.values()
    ):
        raise Refused(
            "measure-already-proposed",
            f"已对{party.name}提出{rule.label}。",
            field="measure",
            kind="conflict",
        )
    kind, bearing = _responsibility(party, c, rules)
    return [
        MeasureProposed(
            inquiry_id=state.opened.inquiry_id,
            measure_id=c.measure_id,
            party_id=party.party_id,
            measure=c.measure,
            responsibility_kind=kind,
            bearing=bearing,
            authority=rule.authority,
            review_required=state.opened.key_area,
            reasons=c.reasons,
            proposed_by=ctx.actor,
            proposed_at=ctx.now,
        )
    ]


def _responsibility(party: ResponsibleParty, c: ProposeMeasure, rules: Rules) -> tuple[str, str]:
    """Whose responsibility of which kind (问责条例 第六条): named, or implied by the list."""
    catalogue = rules.responsibility_kinds
    implied = catalogue.default_for(party.basis)
    target = _TARGETS.get(party.kind, party.kind)
    chosen: list[str] = []
    for name, value, implied_value, entries, what in (
        (
            "responsibility_kind",
            c.responsibility_kind,
            implied and implied.kind,
            catalogue.kinds,
            "领导责任类型",
        ),
        ("bearing", c.bearing, implied and implied.bearing, catalogue.bearings, "责任形式"),
    ):
        code = value or implied_value
        if not code:
            raise Refused(
                f"{name.replace('_', '-')}-required",
                f"请写明{party.name}承担的{what}，可选："
                f"{'、'.join(f'{k}（{r.label}）' for k, r in entries.items())}。",
                field=name,
            )
        rule = entries.get(code)
        if rule is None:
            raise Refused(
                f"unknown-{name.replace('_', '-')}",
                f"{code} 不是{what}，可选："
                f"{'、'.join(f'{k}（{r.label}）' for k, r in entries.items())}。",
                field=name,
            )
        if party.kind not in rule.targets:
            raise Refused(
                f"{name.replace('_', '-')}-not-for-party",
                f"{rule.label}只适用于{'、'.join(_TARGETS.get(t, t) for t in rule.targets)}，"
                f"不适用于{party.name}（{target}）。",
                field=name,
            )
        chosen.append(code)
    return chosen[0], chosen[1]


def _measure(state: Inquiry, measure_id: UUID) -> Measure:
    m = state.measures.get(measure_id)
    if m is None:
        raise Refused("unknown-measure", f"本问责调查没有问责措施 {measure_id}。", kind="missing")
    return m


def _takes_effect(state: Inquiry, m: Measure, ctx: Context, rules: Rules) -> list[Event]:
    """The measure takes effect once approved and, in a key area, agreed by all three offices."""
    if m.decision is None or not m.decision.approved or m.effective_at is not None:
        return []
    if m.proposed.review_required and not all(
        m.reviews.get(office) is True for office in rules.review.offices
    ):
        return []
    assert state.opened is not None
    return [
        MeasureTookEffect(
            inquiry_id=state.opened.inquiry_id,
            measure_id=m.proposed.measure_id,
            party_id=m.proposed.party_id,
            measure=m.proposed.measure,
            responsibility_kind=m.proposed.responsibility_kind,
            bearing=m.proposed.bearing,
            effective_at=ctx.now,
        )
    ]


def _review(state: Inquiry, c: ReviewMeasure, ctx: Context, rules: Rules) -> list[Event]:
    m = _measure(state, c.measure_id)
    if c.office not in rules.review.offices:
        raise Refused(
            "unknown-office",
            f"{c.office} 不是会审部门，可选："
            f"{'、'.join(f'{k}（{v}）' for k, v in rules.review.offices.items())}。",
            field="office",
        )
    if not m.proposed.review_required:
        raise Refused(
            "review-not-required",
            "该问责措施不属于重点领域，无需三方会审。",
            kind="conflict",
        )
    if c.office in m.reviews:
        raise Refused(
            "already-reviewed",
            f"{rules.review.offices[c.office]}已审核过该问责措施。",
            field="office",
            kind="conflict",
        )
    if not m.pending:
        raise Refused(
            "measure-settled", f"该问责措施{MEASURE_STATUS_LABELS[m.status]}。", kind="conflict"
        )
    assert state.opened is not None
    reviewed = MeasureReviewed(
        inquiry_id=state.opened.inquiry_id,
        measure_id=c.measure_id,
        office=c.office,
        agreed=c.agreed,
        note=c.note,
        reviewed_by=ctx.actor,
        reviewed_at=ctx.now,
    )
    after = evolve(state, reviewed)
    return [reviewed, *_takes_effect(after, after.measures[c.measure_id], ctx, rules)]


def _decide_measure(state: Inquiry, c: DecideMeasure, ctx: Context, rules: Rules) -> list[Event]:
    m = _measure(state, c.measure_id)
    rule = rules.measures[m.proposed.measure]
    if c.decided_by_body == "commission" and rule.authority != "commission":
        raise Refused(
            "beyond-commission-authority",
            f"纪委只能提出{rule.label}"
            f"{'（' + rule.group + '）' if rule.group else ''}的建议，由"
            f"{rules.authorities.get(rule.authority, rule.authority)}决定。"
            "请登记该机关的决定，并在 decided_by_body 中写明机关名称。",
            field="decided_by_body",
            kind="conflict",
        )
    if m.decision is not None:
        raise Refused("already-decided", "该问责措施已作出决定。", kind="conflict")
    if m.status == "review_refused":
        raise Refused(
            "review-refused",
            "三方会审中有部门不同意，该问责措施不能作出决定。",
            kind="conflict",
        )
    assert state.opened is not None
    decided = MeasureDecided(
        inquiry_id=state.opened.inquiry_id,
        measure_id=c.measure_id,
        decided_by_body=c.decided_by_body,
        approved=c.approved,
        document_number=c.document_number,
        decided_by=ctx.actor,
        decided_at=ctx.now,
    )
    after = evolve(state, decided)
    return [decided, *_takes_effect(after, after.measures[c.measure_id], ctx, rules)]


def _conclude(state: Inquiry, c: ConcludeInquiry, ctx: Context) -> list[Event]:
    assert state.opened is not None
    missing = [p.name for p in state.opened.parties if p.party_id not in state.findings]
    if missing:
        # 双问责: every party — organisations and leaders alike — gets a finding.
        raise Refused(
            "findings-missing",
            f"请先对每个当事方作出认定，尚缺：{'、'.join(missing)}。",
            kind="conflict",
        )
    pending = [str(mid) for mid, m in state.measures.items() if m.pending]
    if pending:
        raise Refused(
            "measures-pending",
            f"以下问责措施尚待决定或会审：{'、'.join(pending)}。",
            kind="conflict",
        )
    return [
        InquiryConcluded(
            inquiry_id=state.opened.inquiry_id,
            summary=c.summary,
            concluded_by=ctx.actor,
            concluded_at=ctx.now,
        )
    ]
