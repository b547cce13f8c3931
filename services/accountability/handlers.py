"""What accountability does with other services' events.

intake's ``ClueReceived`` counts clues per unit (信访 ones in its rating), ``ClueMerged``
counts repeat reports (重复件) in it and ``ClueSplit`` takes a wrongly merged one back out; casework's ``CaseDecided`` is noted on
the unit's stream, may open 一案双查 inquiries and move the unit's rating; ``CaseFiled``,
``CaseClosed`` and ``DeadlineOverdue`` feed the monthly report and the rating;
``FirstFormApplied`` (形态一 on a clue) counts in the monthly report's 四种形态;
analysis's ``AlertRaised`` counts towards the rating of the unit it names, until an
``AlertVerified`` finds it a false positive. Every append
joins the consumer's transaction, so it commits with the inbox row or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.consumer import Handler
from libs.events.contracts import Event
from libs.events.contracts.accountability import (
    AlertNoted,
    AlertVerificationNoted,
    CaseDecisionNoted,
    CaseMilestoneNoted,
    FirstFormNoted,
    InquiryTrigger,
    OverdueNoted,
)
from libs.events.contracts.analysis import AlertRaised, AlertVerified
from libs.events.contracts.casework import (
    CaseClosed,
    CaseDecided,
    CaseDecisionRevised,
    CaseFiled,
    ClueDisposed,
    DeadlineOverdue,
    FirstFormApplied,
    NameCleared,
)
from libs.events.contracts.intake import ClueMerged, ClueReceived, ClueSplit
from libs.events.dispatch import Delivery, HandlerDispatch
from libs.events.store import ANY, NO_STREAM, EventStore, Metadata
from services.accountability.domain import note_units, unit_stream
from services.accountability.domain.inquiry import (
    Context,
    Inquiry,
    OpenInquiry,
    decide,
    inquiry_stream,
)
from services.accountability.domain.rating import rating_change
from services.accountability.domain.rules import Rules
from services.accountability.domain.triggers import (
    already_noted,
    already_revised,
    decision_triggers,
    inquiry_id_for,
    note_decision,
    note_revision,
    revision_triggers,
    trigger_revised,
)
from services.accountability.domain.units import (
    RepeatReportNoted,
    RepeatReportSplitNoted,
    UnitNamedInClue,
    note_repeats,
    unit_key,
)
from services.accountability.service import Deps, integrity
from services.accountability.service.lists import unit_lists
from services.accountability.service.rectification import local_today

ACTOR = "service:accountability"


def _stream_of_unit(unit: str) -> str:
    return unit_stream(unit_key(unit))


async def record_on_unit(
    store: EventStore,
    conn: AsyncConnection,
    unit: str,
    meta: Metadata,
    make: Callable[[list[Event]], list[Event]],
    now: Any,
    deps: Deps,
) -> list[Event]:
    """Append what ``make`` derives from the unit's history, then its rating change, if any."""
    stream = _stream_of_unit(unit)
    history = [r.event for r in await store.read_stream(stream, conn=conn)]
    added = make(history)
    if not added:
        return []
    added += rating_change(
        unit,
        [*history, *added],
        now,
        deps.rules.rating,
        deps.rules.version,
        deps.taxonomy.label,
    )
    await store.append(stream, added, expected_version=len(history), meta=meta, conn=conn)
    return added


async def unit_of_case(store: EventStore, conn: AsyncConnection, case_id: Any) -> str | None:
    """The unit of a case, from the filing casework told us about."""
    for r in await store.read_stream(f"case-{case_id}", conn=conn):
        if isinstance(r.event, CaseMilestoneNoted) and r.event.unit:
            return r.event.unit
    return None


async def unit_of_alert(conn: AsyncConnection, alert_id: Any) -> str | None:
    """The unit an alert was noted for, from this service's own events (verifications are
    rare and come after the alert, in the same analysis stream)."""
    found = await conn.execute(
        text(
            """SELECT data::jsonb->>'unit' FROM events
               WHERE type = :type AND data::jsonb->>'alert_id' = :id
               ORDER BY global_position LIMIT 1"""
        ),
        {"type": AlertNoted.type_name, "id": str(alert_id)},
    )
    return found.scalar_one_or_none()


async def units_of_repeat(conn: AsyncConnection, repeat_id: Any) -> list[str]:
    """The units a repeat report was noted for, from this service's own events."""
    found = await conn.execute(
        text(
            """SELECT DISTINCT data::jsonb->>'unit' FROM events
               WHERE type = :type AND data::jsonb->>'repeat_id' = :id"""
        ),
        {"type": RepeatReportNoted.type_name, "id": str(repeat_id)},
    )
    return sorted(found.scalars())


HANDLERS: HandlerDispatch[Deps] = HandlerDispatch(ACTOR)
"""Accountability's handlers; the services it subscribes to follow from them."""


def make_handler(store: EventStore, deps: Deps) -> Handler:
    """The consumer handler, bound to accountability's store and deps (rules, categories)."""
    return HANDLERS.handler(store, deps)


@HANDLERS.on(ClueReceived)
async def count_clue(event: ClueReceived, d: Delivery[Deps]) -> None:
    """A clue counts for each unit it names (a 信访 one in its rating, too)."""
    petition = event.source_kind in d.deps.rules.rating.petition_sources
    for stream_id, events in note_units(event).items():
        if not petition:
            # Not a rating input: noted without reading the unit's history (the inbox
            # makes a redelivery a no-op), so a busy unit costs one append per clue.
            await d.store.append(stream_id, events, expected_version=ANY, meta=d.meta, conn=d.conn)
            continue
        for noted in events:
            assert isinstance(noted, UnitNamedInClue)

            def make(history: list[Event], noted: UnitNamedInClue = noted) -> list[Event]:
                seen = any(
                    isinstance(h, UnitNamedInClue) and h.clue_id == noted.clue_id for h in history
                )
                return [] if seen else [noted]

            await record_on_unit(
                d.store, d.conn, noted.unit, d.meta, make, event.received_at, d.deps
            )
    await integrity.note_reported(d, event)


@HANDLERS.on(ClueMerged)
async def count_repeat(event: ClueMerged, d: Delivery[Deps]) -> None:
    """重复件: a repeat report counts in the rating of each unit it names."""
    for unit, noted in note_repeats(event).items():

        def make(history: list[Event], noted: RepeatReportNoted = noted) -> list[Event]:
            seen = any(
                isinstance(h, RepeatReportNoted) and h.repeat_id == noted.repeat_id for h in history
            )
            return [] if seen else [noted]

        await record_on_unit(d.store, d.conn, unit, d.meta, make, event.merged_at, d.deps)


@HANDLERS.on(ClueSplit)
async def uncount_repeat(event: ClueSplit, d: Delivery[Deps]) -> None:
    """A wrong merge undone: the report stops counting as a repeat (its own clue counts)."""
    for unit in await units_of_repeat(d.conn, event.repeat_id):
        noted = RepeatReportSplitNoted(
            unit=unit, clue_id=event.clue_id, repeat_id=event.repeat_id, split_at=event.split_at
        )

        def make(history: list[Event], noted: RepeatReportSplitNoted = noted) -> list[Event]:
            seen = any(
                isinstance(h, RepeatReportSplitNoted) and h.repeat_id == noted.repeat_id
                for h in history
            )
            return [] if seen else [noted]

        await record_on_unit(d.store, d.conn, unit, d.meta, make, event.split_at, d.deps)


@HANDLERS.on(CaseDecided)
async def on_decided(decided: CaseDecided, d: Delivery[Deps]) -> None:
    """A decision is noted on the unit's stream; it may open 一案双查 inquiries."""
    r = d.deps.rules
    noted = note_decision(decided)
    found: list[Any] = []

    def make(history: list[Event]) -> list[Event]:
        if already_noted(history, noted.case_id):
            return []
        detected, triggers = decision_triggers(noted, history, r.triggers)
        found.extend(triggers)
        return [noted, *detected]

    await record_on_unit(d.store, d.conn, noted.unit, d.meta, make, noted.decided_at, d.deps)
    if found:
        await open_inquiries(d, noted, found, noted.measures, noted.decided_at, r)


async def open_inquiries(
    d: Delivery[Deps],
    noted: CaseDecisionNoted,
    triggers: list[InquiryTrigger],
    measures: list[str],
    now: Any,
    r: Rules,
) -> None:
    """Open an inquiry for each trigger a decision set off."""
    lists = await unit_lists(d.store, noted.unit, d.conn)
    for trigger in triggers:
        inquiry_id = inquiry_id_for(trigger, noted.unit)
        events = decide(
            Inquiry(),
            OpenInquiry(
                inquiry_id=inquiry_id,
                unit=noted.unit,
                department=noted.department,
                misconduct_date=noted.misconduct_date,
                trigger=trigger,
                lists=lists,
                categories=noted.categories,
                direct_subject=noted.subject_name,
                direct_subject_ref=noted.subject_ref,
                direct_subject_context=str(noted.case_id) if noted.subject_sealed else None,
                direct_subject_sealed=noted.subject_sealed,
                direct_measures=measures,
                require_list=False,
            ),
            Context(actor=ACTOR, now=now, today=local_today(now, d.deps.rectification)),
            r,
        )
        await d.store.append(
            inquiry_stream(inquiry_id),
            events,
            expected_version=NO_STREAM,
            meta=d.meta,
            conn=d.conn,
        )


@HANDLERS.on(CaseDecisionRevised)
async def on_revised(revised: CaseDecisionRevised, d: Delivery[Deps]) -> None:
    """复审/复核 changed a decision: note it; tell the case's inquiry, or open one."""
    r = d.deps.rules
    revision = note_revision(revised)
    original: list[CaseDecisionNoted] = []

    def make(history: list[Event]) -> list[Event]:
        if already_revised(history, revision):
            return []
        original.extend(
            e for e in history if isinstance(e, CaseDecisionNoted) and e.case_id == revision.case_id
        )
        return [revision]

    added = await record_on_unit(
        d.store, d.conn, revision.unit, d.meta, make, revision.revised_at, d.deps
    )
    if not added or not original:
        return  # a redelivery, or a decision this service never saw
    before, after = revision_triggers(revision, r.triggers)
    if before is not None:
        inquiry_id = inquiry_id_for(before, revision.unit)
        stream = inquiry_stream(inquiry_id)
        history = await d.store.read_stream(stream, conn=d.conn)
        if history:
            note = trigger_revised(inquiry_id, revision, still_triggers=after is not None)
            await d.store.append(
                stream, [note], expected_version=len(history), meta=d.meta, conn=d.conn
            )
            return
    if after is not None:
        await open_inquiries(d, original[0], [after], revision.measures, revision.revised_at, r)


@HANDLERS.on(DeadlineOverdue)
async def on_overdue(e: DeadlineOverdue, d: Delivery[Deps]) -> None:
    """An overdue item counts for its unit (or stands alone when no unit is known)."""
    unit = e.unit or (await unit_of_case(d.store, d.conn, e.case_id) if e.case_id else None)
    noted = OverdueNoted(
        deadline_id=e.deadline_id,
        unit=unit,
        item_kind=e.item_kind,
        case_id=e.case_id,
        due_at=e.due_at,
        noticed_at=e.noticed_at,
    )
    if unit is None:
        await d.store.append(
            f"overdue-{e.deadline_id}",
            [noted],
            expected_version=NO_STREAM,
            meta=d.meta,
            conn=d.conn,
        )
        return

    def make(history: list[Event]) -> list[Event]:
        seen = any(isinstance(h, OverdueNoted) and h.deadline_id == e.deadline_id for h in history)
        return [] if seen else [noted]

    await record_on_unit(d.store, d.conn, unit, d.meta, make, e.noticed_at, d.deps)


@HANDLERS.on(AlertRaised)
async def on_alert(e: AlertRaised, d: Delivery[Deps]) -> None:
    """An alert counts towards the rating of the unit it names."""
    unit = e.subject.unit
    if not unit:
        return
    noted = AlertNoted(
        alert_id=e.alert_id,
        unit=unit,
        level=e.level.value,
        category=e.category,
        summary=e.summary,
        raised_at=e.raised_at,
    )

    def make(history: list[Event]) -> list[Event]:
        seen = any(isinstance(h, AlertNoted) and h.alert_id == e.alert_id for h in history)
        return [] if seen else [noted]

    await record_on_unit(d.store, d.conn, unit, d.meta, make, e.raised_at, d.deps)


@HANDLERS.on(AlertVerified)
async def on_verified(e: AlertVerified, d: Delivery[Deps]) -> None:
    """线下核查 of an alert this service counted: a false positive stops counting."""
    unit = await unit_of_alert(d.conn, e.alert_id)
    if unit is None:
        return  # an alert about no unit never counted in a rating
    noted = AlertVerificationNoted(
        alert_id=e.alert_id, unit=unit, finding=e.finding, verified_at=e.verified_at
    )

    def make(history: list[Event]) -> list[Event]:
        seen = any(
            isinstance(h, AlertVerificationNoted)
            and h.alert_id == e.alert_id
            and h.verified_at == e.verified_at
            for h in history
        )
        return [] if seen else [noted]

    await record_on_unit(d.store, d.conn, unit, d.meta, make, e.verified_at, d.deps)


@HANDLERS.on(CaseFiled, CaseClosed)
async def on_milestone(e: CaseFiled | CaseClosed, d: Delivery[Deps]) -> None:
    """A case filed or closed is noted on the case's stream, once each."""
    if isinstance(e, CaseFiled):
        noted = CaseMilestoneNoted(
            case_id=e.case_id,
            case_number=e.case_number,
            milestone="filed",
            unit=e.subject.unit,
            categories=e.categories,
            at=e.filed_at,
        )
    else:
        noted = CaseMilestoneNoted(
            case_id=e.case_id, case_number=e.case_number, milestone="closed", at=e.closed_at
        )
    stream = f"case-{e.case_id}"
    history = [r.event for r in await d.store.read_stream(stream, conn=d.conn)]
    if any(isinstance(h, CaseMilestoneNoted) and h.milestone == noted.milestone for h in history):
        return
    await d.store.append(stream, [noted], expected_version=len(history), meta=d.meta, conn=d.conn)
    if isinstance(e, CaseFiled):  # the 廉政档案 of the person it is about
        await integrity.note_subject(
            d, "case_filed", e.subject, e.case_id, e.case_number, e.categories, e.filed_at
        )


@HANDLERS.on(ClueDisposed)
async def on_disposed(e: ClueDisposed, d: Delivery[Deps]) -> None:
    """线索处置 (谈话函询 and its outcome) goes into the 廉政档案 of those the clue names."""
    await integrity.note_disposal(d, e)


@HANDLERS.on(NameCleared)
async def on_cleared(e: NameCleared, d: Delivery[Deps]) -> None:
    """澄清正名 is marked in the cadre's 廉政档案."""
    await integrity.note_cleared(d, e)


@HANDLERS.on(FirstFormApplied)
async def on_first_form(e: FirstFormApplied, d: Delivery[Deps]) -> None:
    """形态一 on a clue is noted once, on its own stream: the monthly statistics count it."""
    s = e.subject
    noted = FirstFormNoted(
        clue_id=e.case_id,
        clue_number=e.clue_number,
        unit=s.unit,
        department=s.department,
        subject_name=s.name,
        subject_ref=s.person_ref,
        subject_sealed=s.sealed,
        rank=s.rank,
        categories=e.categories,
        measures=e.measures,
        applied_at=e.applied_at,
    )
    stream = f"first-form-{e.case_id}"
    if await d.store.read_stream(stream, conn=d.conn):
        return
    await d.store.append(stream, [noted], expected_version=NO_STREAM, meta=d.meta, conn=d.conn)
