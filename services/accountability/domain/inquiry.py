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
from services.accountability.domain.errors import Refused
from services.accountability.domain.lists import ListVersion, list_as_of, responsible_parties
from services.accountability.domain.rules import Rules


def inquiry_stream(inquiry_id: UUID) -> str:
    """The stream of one inquiry."""
    return f"inquiry-{inquiry_id}"


@dataclass(frozen=True)
class Context:
    """Who acts and when."""

    actor: str
    now: datetime


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

    def party(self, party_id: str) -> ResponsibleParty:
        assert self.opened is not None
        for p in self.opened.parties:
            if p.party_id == party_id:
                return p
        raise Refused(
            "unknown-party",
            f"The inquiry names no party {party_id!r}; its parties are "
            f"{', '.join(p.party_id for p in self.opened.parties) or 'none'}.",
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
        raise Refused("no-inquiry", "There is no such inquiry.", kind="missing")
    if state.concluded is not None:
        raise Refused(
            "inquiry-concluded",
            "The inquiry is concluded; its record stays as it is (终身问责).",
            kind="conflict",
        )
    inquiry_id = state.opened.inquiry_id
    if isinstance(command, CheckDuty):
        party = state.party(command.party_id)
        duties = state.opened.duties.get(party.party_id, [])
        if command.duty not in duties:
            raise Refused(
                "unknown-duty",
                f"{command.duty!r} is not on the checklist of {party.name}: {', '.join(duties)}.",
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
                f"Say why {party.name} did not fulfil the {party.responsibility} responsibility.",
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
        raise Refused("inquiry-exists", "This inquiry is already open.", kind="conflict")
    found = list_as_of(c.lists, c.misconduct_date)
    if found is None and c.require_list:
        raise Refused(
            "no-list",
            f"No responsibility list of {c.unit} covers {c.misconduct_date}; publish it first.",
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
            f"{c.measure!r} is not a 问责 measure; use one of {', '.join(rules.measures)}.",
            field="measure",
        )
    if party.kind not in rule.targets:
        raise Refused(
            "measure-not-for-party",
            f"{rule.label} applies to {' / '.join(rule.targets)}, not to {party.name} ({party.kind}).",
            field="measure",
        )
    finding = state.findings.get(party.party_id)
    if finding is None or finding.fulfilled:
        raise Refused(
            "no-failing-finding",
            f"Record that {party.name} did not fulfil the responsibility before proposing 问责.",
            field="party_id",
            kind="conflict",
        )
    if any(
        m.proposed.party_id == party.party_id and m.proposed.measure == c.measure and m.pending
        for m in state.measures.values()
    ):
        raise Refused(
            "measure-already-proposed",
            f"{rule.label} on {party.name} is already proposed.",
            field="measure",
            kind="conflict",
        )
    return [
        MeasureProposed(
            inquiry_id=state.opened.inquiry_id,
            measure_id=c.measure_id,
            party_id=party.party_id,
            measure=c.measure,
            authority=rule.authority,
            review_required=state.opened.key_area,
            reasons=c.reasons,
            proposed_by=ctx.actor,
            proposed_at=ctx.now,
        )
    ]


def _measure(state: Inquiry, measure_id: UUID) -> Measure:
    m = state.measures.get(measure_id)
    if m is None:
        raise Refused(
            "unknown-measure", f"No measure {measure_id} in this inquiry.", kind="missing"
        )
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
            effective_at=ctx.now,
        )
    ]


def _review(state: Inquiry, c: ReviewMeasure, ctx: Context, rules: Rules) -> list[Event]:
    m = _measure(state, c.measure_id)
    if c.office not in rules.review.offices:
        raise Refused(
            "unknown-office",
            f"{c.office!r} is not a review office; use {', '.join(rules.review.offices)}.",
            field="office",
        )
    if not m.proposed.review_required:
        raise Refused(
            "review-not-required",
            "This measure is not in a key area; it needs no three-party review.",
            kind="conflict",
        )
    if c.office in m.reviews:
        raise Refused(
            "already-reviewed",
            f"{rules.review.offices[c.office]} has already reviewed this measure.",
            field="office",
            kind="conflict",
        )
    if not m.pending:
        raise Refused("measure-settled", f"The measure is {m.status}.", kind="conflict")
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
            f"The commission can only propose {rule.label}"
            f"{'（' + rule.group + '）' if rule.group else ''}; the decision belongs to "
            f"{rules.authorities.get(rule.authority, rule.authority)}. Record that body's "
            "decision with its name in decided_by_body.",
            field="decided_by_body",
            kind="conflict",
        )
    if m.decision is not None:
        raise Refused("already-decided", "This measure has been decided.", kind="conflict")
    if m.status == "review_refused":
        raise Refused(
            "review-refused",
            "An office of the three-party review did not agree; the measure cannot be decided.",
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
            f"Record a finding for every party first: {', '.join(missing)}.",
            kind="conflict",
        )
    pending = [str(mid) for mid, m in state.measures.items() if m.pending]
    if pending:
        raise Refused(
            "measures-pending",
            f"Measures still waiting for a decision or review: {', '.join(pending)}.",
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
