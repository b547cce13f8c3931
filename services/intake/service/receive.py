"""The one receive path: every way a clue comes in (部门移送, 信访举报, 12345) runs it.

A source is declared once (``Source``): whom a request names, the source's own number for
it if it has one, whether it becomes a clue, what it records and what it answers.
``receiving(source)`` makes its command, and the pipeline runs each in one transaction:

1. the persons named are held (``hold_persons``) before anything is written, so that two
   reports of one matter arriving together cannot both open a clue;
2. the ``Idempotency-Key`` and the source's own number are claimed last, with the answer
   (step 4, or 5 for a repeat report): a request that finds one taken there (a retry under
   it, or another request) is rolled back and runs again, looking them up first — a retry
   gets the first answer, another request under the number a 409 (under the key a 422);
3. the request gets a new clue id, and the source records it — persons sealed, the pure
   domain deciding the events; the narrative is sealed under the persons' keys and carried
   with their names masked; a new clue is assessed for jurisdiction and indexed;
4. when it becomes a clue, it takes the year's next clue number — last, so that the
   year's number row (locked until the commit, to keep numbers gapless) is held only
   for the writes: the events are appended with it. A new clue's answer is known by
   then: the source's number and the key are taken with it, in the same statement;
5. a repeat report (重复件) is merged into the clue already open (``ClueMerged`` there, its
   reporter's side on its own stream); the source's number and the key are taken with
   the answer, and so are a request's that became no clue.

A stream that moved meanwhile (a merge into a clue another request merged into) runs the
whole path again under a new id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueContent, ClueMerged, ClueReceived
from libs.events.store import NO_STREAM
from libs.events.taxonomy import Taxonomy
from libs.kit import idempotency
from libs.kit.commands import Aggregate, AnsweredBefore, ClaimedMeanwhile, Command, Context
from libs.kit.problems import Problem
from services.intake.domain import clue_stream
from services.intake.domain.duplicates import Match, PersonKeys
from services.intake.personal import PersonForm, seal_narrative
from services.intake.references import (
    UNNUMBERED,
    all_numbered,
    answered_reference,
    claim_answered_reference,
    next_clue_number,
    number_and_claim_reference,
    numbered,
)
from services.intake.service.repeats import find_repeat, hold_persons, merge_into

SENT_AS_IS = set(ClueContent.model_fields) - {"reported_persons", "attachments"}
"""The content fields a request carries as the clue keeps them (persons are sealed and
attachments looked up first)."""

NEW_CLUE: Aggregate[tuple[Event, ...]] = Aggregate(
    noun="clue",
    label="线索",
    stream=clue_stream,
    initial=tuple,
    evolve=lambda state, event: (*state, event),
)
"""A clue on its way in: a new stream under a new id."""


@dataclass(frozen=True)
class Reference:
    """A source's own number for a request (a partner's 文号, a 12345 order number)."""

    source: str
    number: str
    field: str = "reference"


@dataclass
class Arrival:
    """One request on its way in: what each step learns, for the next."""

    held: list[PersonKeys]
    clue_id: UUID | None = None
    clue_number: str | None = None
    """Given when the request becomes a clue."""
    reference: Reference | None = None
    request_hash: str = ""
    """What tells a retry under the reference from another request."""
    received: ClueReceived | None = None
    match: Match | None = None
    merged: ClueMerged | None = None
    """When it was merged into a clue already open, as a repeat report."""
    elsewhere: dict[str, list[Event]] = field(default_factory=dict)
    """What it records on streams other than the clue's (a work order's)."""
    claimed: bool = False
    """Its source's number (and key) taken with the clue's number, with the answer."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What a source's recording hands to its answer (e.g. a receipt code)."""
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One way a clue comes in, declared once."""

    name: str
    persons: Callable[[Any], Sequence[PersonForm]]
    """The persons a request names."""
    record: Callable[[Any, Arrival, Context], Awaitable[dict[str, list[Event]]]]
    """What the request records, by stream (a clue's under its ``clue_stream``)."""
    answer: Callable[[Arrival, Context], Awaitable[dict[str, Any]]]
    reference: Callable[[Any, Context], Reference | None] = lambda body, ctx: None
    becomes_clue: Callable[[Any], bool] = lambda body: True
    also_named: Callable[[Any], Sequence[str]] = lambda body: ()
    """Names besides the reported persons' that the narrative must not carry in clear."""


def check_categories(codes: list[str], taxonomy: Taxonomy, *, field: str = "categories") -> None:
    """A 422 problem listing the valid codes if any of ``codes`` is not in the taxonomy."""
    unknown = taxonomy.unknown(codes)
    if unknown:
        raise Problem(
            422,
            "unknown-category",
            "问题类别不存在",
            f"以下类别不在问题类别目录（{taxonomy.version} 版）中：{'、'.join(unknown)}。"
            "请从 valid_categories 中选用。",
            errors=[
                {"field": f"{field}[{i}]", "reason": f"没有类别「{code}」"}
                for i, code in enumerate(codes)
                if code in unknown
            ],
            valid_categories=taxonomy.codes(),
        )


async def _hold(source: Source, body: Any, ctx: Context) -> None:
    ctx.result = Arrival(held=await hold_persons(ctx.conn, ctx.deps.vault, source.persons(body)))


async def _receive(source: Source, state: Any, body: Any, ctx: Context) -> list[Event]:
    """Steps 2 to 4, and whether it is a repeat: what the new clue's own stream records."""
    arrival: Arrival = ctx.result
    arrival.reference = ref = source.reference(body, ctx)
    if ref is not None:
        arrival.request_hash = idempotency.fingerprint(body.model_dump(mode="json"))
        if ctx.look_up_keys:  # (a run after its claim found the number taken)
            stored = await answered_reference(
                ctx.conn, ref.source, ref.number, arrival.request_hash, field=ref.field
            )
            if stored is not None:
                raise AnsweredBefore(stored)
    arrival.clue_id = ctx.key
    if source.becomes_clue(body):
        arrival.clue_number = UNNUMBERED  # taken last, below
    own = await _unnumbered(source, body, arrival, ctx)
    sealer = ctx.store.sealer
    if sealer is not None:  # the store would seal their free text on append, under the lock
        own = await sealer(ctx.conn, clue_stream(ctx.key), own)
        arrival.elsewhere = {
            stream: await sealer(ctx.conn, stream, more)
            for stream, more in arrival.elsewhere.items()
        }
    if arrival.received is None:  # no clue after all: no number taken
        arrival.clue_number = None
        return own
    # Last before the writes: from here to the commit the year's number row is locked and
    # every other receipt of the year waits (the number stays gapless: a rollback undoes it).
    if ref is not None and arrival.match is None:  # its answer is known: taken with it
        number = await _number_and_claim(source, arrival, ref, ctx)
    else:
        number = await next_clue_number(ctx.conn, ctx.now)
    arrival.clue_number = number
    arrival.elsewhere = {s: all_numbered(more, number) for s, more in arrival.elsewhere.items()}
    arrival.received = numbered(arrival.received, number)
    return all_numbered(own, number)


async def _number_and_claim(source: Source, arrival: Arrival, ref: Reference, ctx: Context) -> str:
    """The clue's number, and the source's number (and the key) taken with the answer in the
    same statement: one round trip less with the year's row locked."""
    answer = await source.answer(arrival, ctx)  # (its number still ``UNNUMBERED``)
    number, numbered_answer = await number_and_claim_reference(
        ctx.conn,
        ctx.now,
        ref.source,
        ref.number,
        ctx.key,
        arrival.request_hash,
        answer,
        ctx.last_claim,
    )
    if numbered_answer is None:
        raise ClaimedMeanwhile(ref.number)  # a retry: run again to answer as the first
    arrival.answer, arrival.claimed = numbered_answer, True
    return number


async def _unnumbered(source: Source, body: Any, arrival: Arrival, ctx: Context) -> list[Event]:
    """What the request records, its number still ``UNNUMBERED``; a new clue indexed."""
    streams = await source.record(body, arrival, ctx)
    own = streams.pop(clue_stream(ctx.key), [])
    arrival.elsewhere = streams
    recorded = next((e for e in own if isinstance(e, ClueReceived)), None)
    if recorded is None:
        return own
    received = arrival.received = await seal_narrative(
        ctx.deps.vault, ctx.conn, recorded, source.persons(body), source.also_named(body)
    )
    own = [received if e is recorded else e for e in own]
    # A clue that repeats none is indexed by the statement that looks (one round trip).
    arrival.match = await find_repeat(
        ctx.conn, ctx.deps.duplicate_rules, arrival.held, received, index=True
    )
    if arrival.match is None:
        return ctx.deps.jurisdiction.on_receipt(own)  # type: ignore[no-any-return]
    return [e for e in own if e is not received]  # its reporter's side, if any


async def _record_rest(source: Source, state: Any, events: list[Event], ctx: Context) -> None:
    """Steps 4 and 5: the merge or the index, other streams, the answer kept for retries."""
    arrival: Arrival = ctx.result
    for stream, more in arrival.elsewhere.items():
        await ctx.store.append(
            stream, more, expected_version=NO_STREAM, meta=ctx.meta, conn=ctx.conn
        )
    received = arrival.received
    if received is not None and arrival.match is not None:
        arrival.merged = await merge_into(ctx, received, arrival.match)
    if arrival.claimed:
        return
    arrival.answer = await source.answer(arrival, ctx)
    ref = arrival.reference
    if ref is not None and not await claim_answered_reference(
        ctx.conn,
        ref.source,
        ref.number,
        ctx.key,
        arrival.request_hash,
        arrival.answer,
        ctx.last_claim,  # the Idempotency-Key, if it came with one, in the same statement
    ):
        raise ClaimedMeanwhile(ref.number)  # a retry: run again to answer as the first


def receiving(source: Source, **options: Any) -> Command[tuple[Event, ...]]:
    """The pipeline command of a source: its clue received under a new id, answered 201."""
    return Command(
        name=source.name,
        aggregate=NEW_CLUE,
        creates=True,
        new_key=uuid4,
        lock=partial(_hold, source),
        decide=partial(_receive, source),
        after=partial(_record_rest, source),
        render=lambda state, ctx: ctx.result.answer,
        status_code=201,
        etag=False,
        claims_last=True,
        **options,
    )
