"""One pipeline for every command of every service.

A command over HTTP always goes the same way, in one transaction: claim the
``Idempotency-Key`` (a retry gets the first answer), load the aggregate's stream, check
``If-Match`` against its version, let the guards say whether this caller may give the
command, decide (pure domain), turn a refusal into problem+json, append the events with the
expected version, render the answer and remember it for the key. A service declares each
aggregate once (:class:`Aggregate`) and each command once (:class:`Command`); a route is a
call of :meth:`Pipeline.run`.

A command the client did not pin with ``If-Match`` runs again, whole, when its stream moved
under it (a consumer or a scheduler of the same service appended meanwhile); a pinned one
gets 409. A guard is where a command's preconditions on the caller live (roles, assignment):
guards run on the loaded state before ``decide``. Sign-off (审批) is a property of the
command too: the pipeline's ``Gate`` (``libs.kit.approvals``) may turn a command into a
proposal, and a proposal's last sign-off into the command's effect; either way the one
:meth:`Pipeline.take_effect` carries it out.

Commands that do more than decide on one stream declare it too: a ``lock`` taken before
anything is written, a ``new_key`` for a matter the command opens under an id of its own,
an ``after`` for the other streams it writes, ``AnsweredBefore`` when the service knows the
request by a number of its own (a partner's reference) — so that intake's receive path,
which does all of these, runs the same way as a one-stream command.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar
from uuid import uuid4

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from opentelemetry.trace import Tracer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts import Event
from libs.events.store import ConcurrencyError, EventStore, Metadata
from libs.kit import idempotency, tracing
from libs.kit.auth import Principal
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem, refusal_problem
from libs.kit.refusal import Refused

log = logging.getLogger(__name__)

S = TypeVar("S")

RERUNS = 5
"""How often an unpinned command runs again when its stream keeps moving under it."""


def parse_if_match(value: str | None) -> int | None:
    """The stream version from an ``If-Match`` header (``"7"``, ``W/"7"`` or ``7``)."""
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(
            400,
            "invalid-if-match",
            "版本号格式不对",
            f'If-Match {value!r} 不是本系统的版本号（ETag），应形如 "7"。',
            errors=[{"field": "If-Match", "reason": "不是版本号"}],
        ) from None


async def _if_match(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> int | None:
    return parse_if_match(if_match)


IfMatch = Annotated[int | None, Depends(_if_match)]
"""FastAPI dependency: the version the caller saw, from ``If-Match`` (``None`` if not sent)."""


def _required_if_match(if_match: Annotated[str, Header(alias="If-Match")]) -> int:
    version = parse_if_match(if_match)
    assert version is not None
    return version


RequiredIfMatch = Annotated[int, Depends(_required_if_match)]
"""FastAPI dependency of a route whose command has ``if_match="required"``: the document
says the header is required, and a request without it is answered 428."""

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
"""FastAPI header: the caller's ``Idempotency-Key`` (``None`` if not sent)."""


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """An event-sourced matter, declared once: its stream, its state, how it is named."""

    noun: str
    """Its machine name: ``case``, ``clue``, ``inquiry``, ``alert`` (routes, actions)."""
    stream: Callable[[Any], str]
    """The stream id of the matter with this key."""
    initial: Callable[[], S]
    evolve: Callable[[S, Event], S]
    exists: Callable[[S], bool] | None = None
    """Whether the loaded state is a matter at all (default: its stream has events)."""
    facts: Callable[[S], dict[str, Any]] | None = None
    """Machine fields every refusal on this matter carries (e.g. the commands allowed now)."""
    label: str = "事项"
    """How problems name it to a clerk: 案件, 线索, 问责调查, 预警."""
    missing: str = "没有{label} {key}。"
    """The 404 detail; ``{label}``, ``{noun}`` and ``{key}`` are filled in."""
    missing_slug: str = "not-found"
    missing_title: str = ""
    """The 404 title (default: 「{label}不存在」)."""

    def missing_problem(self, key: Any) -> Problem:
        """404: there is no such matter."""
        return Problem(
            404,
            self.missing_slug,
            self.missing_title or f"{self.label}不存在",
            self.missing.format(noun=self.noun, label=self.label, key=key),
        )

    def replay(self, events: Sequence[Event], state: S | None = None) -> S:
        """The state after ``events`` (from the initial state unless one is given)."""
        current = self.initial() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current


@dataclass
class Context:
    """What a command's steps may use besides the state: who, when, and the transaction."""

    principal: Principal
    now: datetime
    meta: Metadata
    conn: AsyncConnection
    store: EventStore
    deps: Any
    """The service's own dependencies (rules, registries), built by its composition root."""
    key: Any = None
    """The matter's key (e.g. its id), as the route got it."""
    body: Any = None
    """The request's body (the command's input)."""
    version: int = 0
    """The stream version: as loaded before ``decide``, as appended after it."""
    history: Sequence[Event] = ()
    """The matter's events as loaded (e.g. its proposals, which its state does not track)."""
    last_claim: idempotency.LastClaim | None = None
    """The ``Idempotency-Key`` of a command that claims it last, which a step may take in
    a statement of its own (``LastClaim.taken``) instead of the pipeline after the answer."""
    look_up_keys: bool = True
    """Whether the request's keys (``Idempotency-Key``, a source's own number) are looked up
    before the work: always but on the first run of a command that claims them last (a run
    again, after a key was found taken or a stream moved, looks them up)."""
    result: Any = None
    """What ``decide`` worked out besides the events, or ``after`` wrote, for the steps after
    it and ``render`` when the answer is not the matter's state (e.g. the new matter a split
    opens, the matters a command that writes several streams wrote)."""

    @property
    def actor(self) -> str:
        """How the events record the caller."""
        return self.meta.actor


Decide = Callable[[S, Any, Context], "list[Event] | Awaitable[list[Event]]"]
Guard = Callable[[S, Any, Context], "Awaitable[None] | None"]
Render = Callable[[S, Context], dict[str, Any]]
After = Callable[[S, list[Event], Context], Awaitable[None]]
Lock = Callable[[Any, Context], Awaitable[None]]
Seal = Callable[[Any, Context], Awaitable[Any]]


@dataclass(frozen=True)
class Command(Generic[S]):
    """One command of a service, declared once; the pipeline runs every one the same way."""

    name: str
    aggregate: Aggregate[S]
    decide: Decide[S]
    """``(state, body, ctx) -> events`` — the domain's decision; raises ``Refused``."""
    render: Render[S]
    """``(state after the events, ctx) -> body`` — the answer (also what a retry gets)."""
    if_match: Literal["required", "optional"] = "optional"
    creates: bool = False
    """The command starts the matter's stream (its key is new); otherwise it must exist."""
    status_code: int = 200
    guards: Sequence[Guard[S]] = ()
    """Checks on the caller and the loaded state before deciding; raise ``Refused``."""
    after: After[S] | None = None
    """Further appends in the same transaction (e.g. the other side of a link)."""
    required_if_match: str = '请在 If-Match 中带上您读取的{label}版本号（ETag），例如 "7"。'
    lock: Lock | None = None
    """``(body, ctx)``, first in the transaction, before anything is written: advisory locks
    that serialise commands on what they touch (a transaction's age is its first write, and
    the store refuses an append older than the stream's last)."""
    location: Callable[[dict[str, Any]], str] | None = None
    """Where the answer's matter can be read (``Location``), from the answer."""
    etag: bool = True
    """Answer with ``ETag`` = the matter's version; off when the answer is not the matter's
    (e.g. a receipt)."""
    new_key: Callable[[], Any] | None = None
    """The command creates a matter under a key it allocates (a new id) on each run: the
    route passes no key, and a retry is known by its body alone."""
    remembered: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """What a retry gets, when it must be less than the first answer (a one-time secret)."""
    actor: Callable[[Principal], str] | None = None
    """How the events record the caller, when not as ``principal.actor`` (which still tells
    whose ``Idempotency-Key`` it is): e.g. every member of the public as one reporter."""
    body_model: type[BaseModel] | None = None
    """The body's model, so a body kept as JSON (a proposal's) can be parsed back."""
    label: str = ""
    """How a clerk names the command (线索处置, 问责决定); its ``name`` when empty."""
    seal: Seal | None = None
    """``(body, ctx) -> body`` with the personal fields it declares sealed (names and ID
    numbers, ``libs/events/pii``): run on every body a caller sends, before the gate, so
    neither a proposal nor an event ever holds them in clear."""
    claims_last: bool = False
    """The ``Idempotency-Key`` is taken with its answer as the transaction's last write
    (one write, not a claim first and the answer in it after): its first run does not look
    it up, and a run that finds it taken then (a retry, or another request under it) is
    rolled back and runs again looking it up first (``ClaimedMeanwhile``). For a command
    whose retries are rare and serialised anyway (intake's receive path, which holds the
    persons a request names first)."""


@dataclass
class Effect(Generic[S]):
    """What a run carries out: ``command`` decides on the current state, its events are
    appended between ``before`` and ``after`` (a proposal's last sign-off and the record
    that it took effect), then its ``after`` hook and ``render`` run."""

    command: Command[S]
    body: Any
    before: Sequence[Event] = ()
    after: Sequence[Event] = ()


class Gate(Protocol):
    """What stands between a command and its effect (审批: ``libs.kit.approvals``)."""

    async def plan(self, command: Command[Any], state: Any, body: Any, ctx: Context) -> Effect[Any]:
        """The effect of ``command`` now: itself, a proposal instead, or the command a
        proposal's last sign-off carries out."""
        ...


class ClaimedMeanwhile(Exception):
    """Raised by a command that claims its keys last (``Command.claims_last``) when one is
    taken as it writes it: the transaction rolls back and the command runs again, its
    keys looked up first (``Context.look_up_keys``), so that it answers as the first did
    (a replay, or the refusal of a key used for another request)."""


class AnsweredBefore(Exception):
    """Raised by ``decide`` when the service knows the request by a key of its own (a
    source's reference number) and has answered it: the first answer again, as a replay."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__("answered before")
        self.body = body


@dataclass
class Outcome:
    """What a command answered."""

    status_code: int
    body: dict[str, Any]
    version: int | None
    replayed: bool = False
    location: str | None = None
    etag: bool = True

    def response(self) -> JSONResponse:
        """The HTTP answer: the body, ``ETag`` = the matter's version, where to read it, and
        whether it is a retry's replay."""
        headers: dict[str, str] = {}
        version = self.version
        if version is None and isinstance(self.body, dict):
            version = self.body.get("version")
        if version is not None and self.etag:
            headers["ETag"] = f'"{version}"'
        if self.location is not None:
            headers["Location"] = self.location
        if self.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(self.body, self.status_code, headers=headers)


def stale(label: str, key: Any, seen: int, current: int) -> Problem:
    """409: the caller decided on a version that is no longer the matter's (``label``: the
    matter's Chinese noun, e.g. 案件; ``key`` stays in the log, the clerk knows the matter)."""
    return Problem(
        409,
        "stale-version",
        f"{label}已被修改",
        f"该{label}在您读取后已被修改（您提交的版本 {seen}，当前版本 {current}）。"
        "请重新读取后再提交。",
        errors=[{"field": "If-Match", "reason": f"版本已过期（当前版本 {current}）"}],
        current_version=current,
    )


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _replayed_location(command: Command[Any], outcome: Outcome) -> str | None:
    """Where a retry's answer is read, as the first answer said: an accepted one (202, a
    proposal in the command's place) names it in its body, any other as the command says."""
    body = outcome.body
    if outcome.status_code == 202 and isinstance(body, dict) and "location" in body:
        return str(body["location"])
    return command.location(body) if command.location is not None else None


def _fingerprint(command: Command[Any], stream_id: str | None, body: Any) -> str:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return idempotency.fingerprint({"command": command.name, "stream": stream_id, "body": data})


class Pipeline:
    """Runs commands against one service's store; ``deps`` are handed to every step."""

    def __init__(
        self,
        store: EventStore,
        deps: Any = None,
        gate: Gate | None = None,
        *,
        tracer: Tracer = tracing.NO_OP,
    ) -> None:
        self.store = store
        self.deps = deps
        self.gate = gate
        self.tracer = tracer

    async def run(
        self,
        command: Command[S],
        key: Any,
        body: Any,
        principal: Principal,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> JSONResponse:
        """Run ``command`` on the matter ``key`` with the request ``body``; the HTTP answer."""
        outcome = await self.execute(
            command, key, body, principal, if_match=if_match, idempotency_key=idempotency_key
        )
        return outcome.response()

    async def execute(
        self,
        command: Command[S],
        key: Any,
        body: Any,
        principal: Principal,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:
        """Run ``command``: one transaction, re-run whole when an unpinned stream moved."""
        stream_id = command.aggregate.stream(key) if command.new_key is None else None
        with tracing.command(self.tracer, command.name, stream_id):
            return await self._execute(
                command, key, body, principal, if_match=if_match, idempotency_key=idempotency_key
            )

    async def _execute(
        self,
        command: Command[S],
        key: Any,
        body: Any,
        principal: Principal,
        *,
        if_match: int | None,
        idempotency_key: str | None,
    ) -> Outcome:
        aggregate = command.aggregate
        if if_match is None and command.if_match == "required":
            raise Problem(
                428,
                "if-match-required",
                "缺少版本号",
                command.required_if_match.format(noun=aggregate.noun, label=aggregate.label),
                errors=[{"field": "If-Match", "reason": "必填"}],
            )
        stream_id = aggregate.stream(key) if command.new_key is None else None
        # What tells a retry from another request under its key: only a keyed one needs it.
        fingerprint = _fingerprint(command, stream_id, body) if idempotency_key is not None else ""
        if idempotency_key is not None:
            idempotency.check_key(idempotency_key)
        look_up = not command.claims_last
        for attempt in range(1, RERUNS + 1):
            if command.new_key is not None:
                key = command.new_key()
                stream_id = aggregate.stream(key)
            assert stream_id is not None
            try:
                outcome = await self._once(
                    command,
                    key,
                    stream_id,
                    body,
                    principal,
                    if_match,
                    idempotency_key,
                    fingerprint,
                    look_up,
                )
            except ClaimedMeanwhile:
                if attempt == RERUNS:
                    raise
                log.info("%s: a key was taken meanwhile; running it again", command.name)
                look_up = True
                continue
            except ConcurrencyError as moved:
                if if_match is not None:
                    current = await self.store.stream_version(stream_id)
                    raise stale(aggregate.label, key, if_match, current) from moved
                if attempt == RERUNS:
                    raise
                log.info("%s moved under an unpinned command; running it again", moved.stream_id)
                look_up = True  # what moved it may be the first run of this request
                continue
            if outcome.replayed:  # a retry's answer is told the way the first one was
                outcome.etag = command.etag
                outcome.location = _replayed_location(command, outcome)
            return outcome
        raise AssertionError("unreachable")

    async def _once(
        self,
        command: Command[S],
        key: Any,
        stream_id: str,
        body: Any,
        principal: Principal,
        if_match: int | None,
        idempotency_key: str | None,
        fingerprint: str,
        look_up: bool = True,
    ) -> Outcome:
        aggregate = command.aggregate
        async with self.store.transaction() as conn:
            actor = command.actor(principal) if command.actor else principal.actor
            ctx = Context(
                principal=principal,
                now=self.store.clock(),
                meta=command_metadata(actor),
                conn=conn,
                store=self.store,
                deps=self.deps,
                key=key,
                body=body,
                look_up_keys=look_up,
            )
            if command.lock is not None:
                await command.lock(body, ctx)
                ctx.now = self.store.clock()  # in the order the lock let commands through
            if idempotency_key is not None:
                if not command.claims_last:
                    stored = await idempotency.claim(
                        conn, principal.actor, idempotency_key, fingerprint
                    )
                elif look_up:
                    stored = await idempotency.answered(
                        conn, principal.actor, idempotency_key, fingerprint
                    )
                else:
                    stored = None
                if command.claims_last:
                    ctx.last_claim = idempotency.LastClaim(
                        principal.actor,
                        idempotency_key,
                        fingerprint,
                        command.status_code,
                        command.remembered,
                    )
                if stored is not None:
                    return Outcome(stored.status_code, stored.body, None, replayed=True)
            # A key the command just made (``new_key``) names no stream yet: nothing to read
            # (the append still refuses a stream that exists).
            records = (
                await self.store.read_stream(stream_id, conn=conn)
                if command.new_key is None
                else []
            )
            version = ctx.version = records[-1].version if records else 0
            ctx.history = [r.event for r in records]
            state = aggregate.replay(ctx.history)
            exists = aggregate.exists(state) if aggregate.exists else bool(records)
            if command.creates and records:
                raise Problem(
                    409,
                    "already-exists",
                    f"{aggregate.label}已存在",
                    f"{aggregate.label} {key} 已存在。",
                )
            if not command.creates and not exists:
                raise aggregate.missing_problem(key)
            if if_match is not None and if_match != version:
                raise stale(aggregate.label, key, if_match, version)
            try:
                for guard in command.guards:
                    await _maybe(guard(state, body, ctx))
                if command.seal is not None:
                    body = ctx.body = await command.seal(body, ctx)
                effect: Effect[S] = Effect(command, body)
                if self.gate is not None:
                    effect = await self.gate.plan(command, state, body, ctx)
                answer = await self.take_effect(effect, state, stream_id, ctx)
            except Refused as refused:
                facts = aggregate.facts(state) if aggregate.facts else {}
                raise refusal_problem(refused, **facts) from refused
            except AnsweredBefore as before:
                await self._remember(
                    conn, command, principal, idempotency_key, before.body, fingerprint, command
                )
                return Outcome(command.status_code, before.body, None, replayed=True)
            done = effect.command
            if ctx.last_claim is None or not ctx.last_claim.taken:
                await self._remember(
                    conn, done, principal, idempotency_key, answer, fingerprint, command
                )
        # A stream still empty has no version to name (a command that only wrote elsewhere).
        location = done.location(answer) if done.location is not None else None
        return Outcome(
            done.status_code, answer, ctx.version or None, location=location, etag=done.etag
        )

    async def take_effect(
        self, effect: Effect[S], state: S, stream_id: str, ctx: Context
    ) -> dict[str, Any]:
        """Carry a decision out: decide on the current state, append (with the approval
        events around it), run ``after`` and render — the one way a command takes effect,
        run directly or by the last sign-off of its proposal."""
        command = effect.command
        decided: list[Event] = await _maybe(command.decide(state, effect.body, ctx))
        events = [*effect.before, *decided, *effect.after]
        recorded = await self.store.append(
            stream_id, events, expected_version=ctx.version, meta=ctx.meta, conn=ctx.conn
        )
        if recorded:
            ctx.version = recorded[-1].version
        state = command.aggregate.replay(events, state)
        if command.after is not None:
            await command.after(state, events, ctx)
        return command.render(state, ctx)

    @staticmethod
    async def _remember(
        conn: AsyncConnection,
        command: Command[Any],
        principal: Principal,
        idempotency_key: str | None,
        answer: dict[str, Any],
        fingerprint: str,
        claimed_by: Command[Any],
    ) -> None:
        """Keep the answer for the key: in the row claimed first, or taken with it now
        (``claimed_by.claims_last``)."""
        if idempotency_key is None:
            return
        kept = command.remembered(answer) if command.remembered else answer
        if not claimed_by.claims_last:
            await idempotency.remember(
                conn, principal.actor, idempotency_key, command.status_code, kept
            )
        elif not await idempotency.claim_answered(
            conn, principal.actor, idempotency_key, fingerprint, command.status_code, kept
        ):
            raise ClaimedMeanwhile(idempotency_key)


def command_metadata(actor: str, causation_id: str | None = None) -> Metadata:
    """The metadata of events a caller's command records: who, and the request's correlation."""
    return Metadata(
        actor=actor,
        correlation_id=correlation_id.get() or str(uuid4()),
        causation_id=causation_id,
    )


async def get_pipeline(request: Request) -> Pipeline:
    """FastAPI dependency: the service's command pipeline (built by its composition root); a
    coroutine, so that FastAPI does not run it in a worker thread."""
    pipeline: Pipeline = request.app.state.runtime.pipeline
    return pipeline


Commands = Annotated[Pipeline, Depends(get_pipeline)]
"""FastAPI dependency alias for a route that runs a command."""


__all__ = [
    "Aggregate",
    "AnsweredBefore",
    "ClaimedMeanwhile",
    "Command",
    "Commands",
    "Context",
    "Effect",
    "Gate",
    "IdempotencyKey",
    "IfMatch",
    "Outcome",
    "Pipeline",
    "Refused",
    "RequiredIfMatch",
    "command_metadata",
    "parse_if_match",
    "stale",
]
