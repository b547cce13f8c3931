"""Repeat reports (重复件): one hook every way a clue comes in shares, and the split (拆分).

The receive path (``service/receive.py``) looks a new clue's persons up in
``clue_subjects`` (``find_repeat``: blind indexes only, see ``libs/events/pii.py``) and lets
the pure rules (``domain/duplicates.py``) decide: a new clue is appended as it is and
indexed (``index_clue``); a repeat report is recorded as ``ClueMerged`` on the existing
clue instead (``merge_into``), and anything else the source recorded (a reporter's side)
stays on the repeat's own stream, so its receipt keeps working.

Two reports of one matter arriving together must not both open a clue, so the receive
path calls ``hold_persons`` as the first statement of its transaction: it takes an
advisory lock per blind index of the persons named (shared on name and unit for a person
whose ID number is known, as two different ID numbers are never one person). It has to come first because the
store refuses an append from a transaction older than the stream's last writer (see
``libs/events/store.py``), and a transaction gets its age at its first write.

A split (``SPLIT``) is a compensating event: ``ClueSplit`` on the existing clue (its count
and priority go back down) and a ``ClueReceived`` for the repeat, which becomes a clue of
its own with the id and number its submitter was given. The merge stays in the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.intake import ClueMerged, ClueReceived
from libs.events.store import NO_STREAM, EventStore
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.db import driver
from services.intake import queries
from services.intake.domain import clue_stream
from services.intake.domain.duplicates import (
    Candidate,
    DuplicateRules,
    Match,
    PersonKeys,
    Repeats,
    evolve,
    find_original,
    fold,
    merge,
    split,
)
from services.intake.personal import PersonForm

_LOCK = text(
    """SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7)))
       FROM (SELECT DISTINCT k FROM unnest(CAST(:ks AS text[])) AS k ORDER BY k) AS keys"""
)
# Each lock once, in the order of its number (two keys of one hash taken once, in the
# stronger mode): exclusive unless every key of it asks for a shared one.
_HOLD = """SELECT count(CASE WHEN shared THEN pg_advisory_xact_lock_shared(h)
                              ELSE pg_advisory_xact_lock(h) END)
            FROM (SELECT hashtextextended(k, 7) AS h, bool_and(s) AS shared
                  FROM unnest($1::text[], $2::boolean[]) AS t(k, s)
                  GROUP BY 1 ORDER BY 1) AS locks"""
# Only the rows that can be the same person (``same_person``): the same ID number, or the
# same name and unit where one of the two has no ID number.
_CANDIDATES = """SELECT clue_id, received_at, categories, name_unit_key, id_key
                 FROM clue_subjects
                 WHERE (id_key = ANY($1::text[]) OR name_unit_key = ANY($2::text[])
                        OR (id_key IS NULL AND name_unit_key = ANY($3::text[])))
                   AND received_at >= $4"""
# The look and the new clue's index in one round trip: the look does not see the rows
# the same statement inserts (one snapshot), and a clue that turns out to repeat another
# has them taken out again (``_UNINDEX``).
_CANDIDATES_INDEXED = f"""WITH indexed AS (
        INSERT INTO clue_subjects (clue_id, person_ref, name_unit_key, id_key, categories,
                                   received_at)
        SELECT $5::uuid, p.ref, p.name_unit, p.id, $6::text[], $7::timestamptz
        FROM unnest($8::uuid[], $9::text[], $10::text[]) AS p(ref, name_unit, id))
    {_CANDIDATES}"""
_UNINDEX = "DELETE FROM clue_subjects WHERE clue_id = $1"
_INDEX = """INSERT INTO clue_subjects (clue_id, person_ref, name_unit_key, id_key, categories,
                                       received_at)
            VALUES ($1, $2, $3, $4, $5, $6)"""
_REPEAT = text(
    """INSERT INTO repeat_reports (repeat_id, clue_id, source_department)
       VALUES (:r, :c, :d)"""
)


async def person_keys(
    vault: pii.Vault, conn: AsyncConnection, received: ClueReceived
) -> list[tuple[PersonKeys, UUID | None]]:
    """The blind indexes of a clue's persons (name and unit too when an ID was given)."""
    out = []
    for p in received.reported_persons:
        if p.blind_index is None:
            continue  # an unsealed (pre-v3) person: nothing to compare by
        if "id_number" not in p.sealed:
            out.append((PersonKeys(name_unit=p.blind_index), p.person_ref))
            continue
        name = await vault.reveal(
            p.sealed["name"], context=str(received.clue_id), field="name", conn=conn
        )
        if name is None:
            continue  # shredded: nobody is matched to them any more
        name_unit = vault.blind_index("name_unit", name, p.unit)
        out.append((PersonKeys(name_unit=name_unit, id_number=p.blind_index), p.person_ref))
    return out


async def lock(conn: AsyncConnection, keys: Iterable[str]) -> None:
    """Serialise on these keys until the transaction ends (in order: no deadlocks)."""
    await conn.execute(_LOCK, {"ks": sorted(set(keys))})


async def hold_persons(
    conn: AsyncConnection, vault: pii.Vault, persons: Sequence[PersonForm]
) -> list[PersonKeys]:
    """Serialise reports naming the same persons; their blind indexes, in order, for
    ``record_clue``. Call it before the transaction writes anything."""
    keys = [
        PersonKeys(
            name_unit=vault.blind_index("name_unit", p.name, p.unit),
            id_number=vault.blind_index("id", p.id_number) if p.id_number else None,
        )
        for p in persons
    ]
    # Two persons with ID numbers are the same only by that number (``same_person``): a
    # person with one holds it alone and shares the name-and-unit lock with the others of
    # that name and unit who have one, so that reports on namesakes in one unit do not
    # wait for each other, while one without an ID number waits for them all.
    held = [(k.id_number, False) for k in keys if k.id_number]
    held += [(k.name_unit, k.id_number is not None) for k in keys]
    # The transaction's first statement (``driver`` begins it).
    await (await driver(conn)).fetchval(_HOLD, [k for k, _ in held], [shared for _, shared in held])
    return keys


async def candidates(
    conn: AsyncConnection,
    persons: Sequence[PersonKeys],
    received: ClueReceived,
    window_days: int,
    *,
    index: Sequence[UUID | None] | None = None,
) -> list[Candidate]:
    """Existing clues received in the window naming someone who may be one of these
    persons: by ID number, or by name and unit where one of the two has none. With
    ``index`` (the persons' references, in order), the clue is indexed in the same
    statement (``index_clue``), which the look does not see."""
    look = (
        [p.id_number for p in persons if p.id_number],
        [p.name_unit for p in persons if not p.id_number],
        [p.name_unit for p in persons],
        received.received_at - timedelta(days=window_days),
    )
    c = await driver(conn)
    if index is None or not persons:
        rows = await c.fetch(_CANDIDATES, *look)
    else:
        rows = await c.fetch(
            _CANDIDATES_INDEXED,
            *look,
            received.clue_id,
            received.categories,
            received.received_at,
            list(index),
            [p.name_unit for p in persons],
            [p.id_number for p in persons],
        )
    found: dict[UUID, Candidate] = {}
    for r in rows:
        keys = PersonKeys(name_unit=r["name_unit_key"], id_number=r["id_key"])
        c = found.get(r["clue_id"])
        persons_so_far = c.persons if c else ()
        found[r["clue_id"]] = Candidate(
            r["clue_id"], r["received_at"], tuple(r["categories"]), (*persons_so_far, keys)
        )
    return list(found.values())


async def index_clue(
    conn: AsyncConnection, received: ClueReceived, persons: Sequence[tuple[PersonKeys, UUID | None]]
) -> None:
    """Make a clue findable by later reports on the same persons."""
    if persons:
        await (await driver(conn)).executemany(
            _INDEX,
            [
                (
                    received.clue_id,
                    ref,
                    keys.name_unit,
                    keys.id_number,
                    received.categories,
                    received.received_at,
                )
                for keys, ref in persons
            ],
        )


async def read_repeats(
    store: EventStore, conn: AsyncConnection, clue_id: UUID
) -> tuple[Repeats, int]:
    """A clue's repeat reports and its stream version, locked for this transaction."""
    await lock(conn, [clue_stream(clue_id)])
    history = await store.read_stream(clue_stream(clue_id), conn=conn)
    return fold(r.event for r in history), len(history)


async def find_repeat(
    conn: AsyncConnection,
    rules: DuplicateRules,
    held: Sequence[PersonKeys],
    received: ClueReceived,
    *,
    index: bool = False,
) -> Match | None:
    """The clue already open that a new one repeats, if any; with ``index``, a clue that
    repeats none is indexed (``index_clue``) by the same statement that looks.

    ``held`` are the keys ``hold_persons`` returned for the clue's persons, in order.
    """
    refs = [p.person_ref for p in received.reported_persons] if index else None
    found = await candidates(conn, held, received, rules.window_days, index=refs)
    match = find_original(held, received.categories, received.received_at, found, rules)
    if match is not None and refs and held:  # a repeat report is not indexed: taken out
        await (await driver(conn)).execute(_UNINDEX, received.clue_id)
    return match


async def merge_into(ctx: Context, received: ClueReceived, match: Match) -> ClueMerged:
    """Record a repeat report on the clue it repeats (``ClueMerged``), and where it went."""
    state, version = await read_repeats(ctx.store, ctx.conn, match.clue_id)
    merged = merge(received, state, match, ctx.deps.duplicate_rules, ctx.now)
    await ctx.store.append(
        clue_stream(match.clue_id), [merged], expected_version=version, meta=ctx.meta, conn=ctx.conn
    )
    await ctx.conn.execute(
        _REPEAT, {"r": received.clue_id, "c": match.clue_id, "d": received.source_department}
    )
    return merged


async def merged_into(store: EventStore, repeat_id: UUID) -> ClueMerged | None:
    """The merge of a repeat report still merged (None once split, or if not a repeat)."""
    async with store.engine.connect() as conn:
        clue_id = await queries.merged_into(conn, repeat_id)
    if clue_id is None:
        return None
    state = fold(r.event for r in await store.read_stream(clue_stream(clue_id)))
    return state.merged.get(repeat_id)


def repeat_person_refs(state: Repeats) -> list[UUID]:
    """The persons of the repeat reports (an unmasked read of the clue reads them too)."""
    return [p.person_ref for m in state.merged.values() for p in m.reported_persons if p.person_ref]


REPEATS: Aggregate[Repeats] = Aggregate(
    noun="clue",
    label="线索",
    stream=clue_stream,
    initial=Repeats,
    evolve=evolve,
    exists=lambda state: state.clue_id is not None,
    missing="没有线索 {key}。",
)
"""A clue as its repeat reports (重复件) make it: the reports merged in, and those split off."""


class SplitRepeat(BaseModel):
    """拆分: which repeat report of the clue was merged by mistake, and why."""

    model_config = ConfigDict(frozen=True)

    repeat_id: UUID
    reason: str


class SplitOut(BaseModel):
    """The clue after the split, and the clue the repeat became."""

    clue_id: UUID
    repeat_count: int
    priority: str
    priority_label: str
    new_clue_id: UUID
    new_clue_number: str
    new_clue_url: str


async def _hold_clue(body: SplitRepeat, ctx: Context) -> None:
    await lock(ctx.conn, [clue_stream(ctx.key)])  # serialised with merges into the clue


def _split(state: Repeats, body: SplitRepeat, ctx: Context) -> list[Event]:
    split_off, ctx.result = split(
        state,
        body.repeat_id,
        reason=body.reason,
        by=ctx.actor,
        now=ctx.now,
        rules=ctx.deps.duplicate_rules,
    )
    return [split_off]


async def _open_split_clue(state: Repeats, events: list[Event], ctx: Context) -> None:
    """The repeat becomes a clue of its own: received, its jurisdiction assessed, indexed."""
    received: ClueReceived = ctx.result
    stream = clue_stream(received.clue_id)
    # The repeat's own stream may hold its reporter's side already (a public report).
    own = await ctx.store.stream_version(stream, ctx.conn)
    await ctx.store.append(
        stream,
        ctx.deps.jurisdiction.on_receipt([received]),
        expected_version=own or NO_STREAM,
        meta=ctx.meta,
        conn=ctx.conn,
    )
    await index_clue(ctx.conn, received, await person_keys(ctx.deps.vault, ctx.conn, received))


def _split_out(state: Repeats, ctx: Context) -> dict[str, Any]:
    done = state.split[ctx.body.repeat_id]
    rules: DuplicateRules = ctx.deps.duplicate_rules
    return SplitOut(
        clue_id=done.clue_id,
        repeat_count=done.repeat_count,
        priority=done.priority,
        priority_label=rules.label(done.priority),
        new_clue_id=done.new_clue_id,
        new_clue_number=done.new_clue_number,
        new_clue_url=f"/v1/clues/{done.new_clue_id}",
    ).model_dump(mode="json")


SPLIT: Command[Repeats] = Command(
    name="split_repeat",
    aggregate=REPEATS,
    decide=_split,
    render=_split_out,
    status_code=201,
    lock=_hold_clue,
    after=_open_split_clue,
    location=lambda answer: answer["new_clue_url"],
    etag=False,
)
"""拆分: a repeat report merged by mistake becomes a clue of its own (``ClueSplit`` on the
clue, ``ClueReceived`` on the repeat's stream); the merge stays in the history."""
