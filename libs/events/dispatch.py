"""Dispatch by event type: one small function per event contract, declared once.

A ``Dispatch`` maps event types to functions of one shape. Each function is declared for
the contracts it takes with ``@dispatch.on(...)``; the event is always its first
argument::

    ledger: Dispatch[[str, datetime], list[Entry]] = Dispatch()

    @ledger.on(ClueReceived)
    def _submitted(event: ClueReceived, actor: str, at: datetime) -> list[Entry]: ...

    ledger(event, actor, at)  # the function declared for the event's type, or None

Two kinds of declarations are asynchronous and get a small class each:
``HandlerDispatch`` for a consumer's handlers (it builds the consumer's ``Handler``) and
``ProjectionDispatch`` for a projection's ``apply``. Both look the function up by the
envelope's type first, so events no function takes are never decoded.

The declaration knows which event types it takes and which services publish them, so a
service's subscriptions follow from its handlers instead of a list kept by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from libs.events.contracts import Event

if TYPE_CHECKING:  # pure domains declare folds here: they import no database or broker
    from sqlalchemy.ext.asyncio import AsyncConnection

    from libs.events.envelope import Envelope
    from libs.events.store import EventStore, Metadata, Recorded

P = ParamSpec("P")
R = TypeVar("R")
D = TypeVar("D")


def producer_of(type_name: str) -> str:
    """The service that publishes an event type (``zhengfeng.<service>.<event>``)."""
    parts = type_name.split(".")
    if len(parts) < 3 or parts[0] != "zhengfeng":
        raise ValueError(f"{type_name!r} does not name the service that publishes it")
    return parts[1]


class Dispatch(Generic[P, R]):
    """Functions of one shape, one per event type, each declared with ``on``."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[Concatenate[Any, P], R]] = {}

    def on(
        self, *contracts: type[Event]
    ) -> Callable[[Callable[Concatenate[Any, P], R]], Callable[Concatenate[Any, P], R]]:
        """Decorator: the function takes events of these contracts (each type once)."""
        if not contracts:
            raise ValueError("name at least one event contract")

        def declare(fn: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
            for contract in contracts:
                name = contract.type_name
                if name in self._functions:
                    raise ValueError(f"{name!r} is already taken by {self._functions[name]!r}")
                self._functions[name] = fn
            return fn

        return declare

    def get(self, type_name: str) -> Callable[Concatenate[Any, P], R] | None:
        """The function declared for an event type, if any."""
        return self._functions.get(type_name)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._functions

    def __call__(self, event: Event, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """Run the function declared for the event's type; ``None`` when there is none."""
        fn = self._functions.get(event.type_name)
        return None if fn is None else fn(event, *args, **kwargs)

    @property
    def types(self) -> frozenset[str]:
        """Every event type a function is declared for."""
        return frozenset(self._functions)

    @property
    def producers(self) -> tuple[str, ...]:
        """The services publishing those types, in the order they were first declared."""
        return tuple(dict.fromkeys(producer_of(t) for t in self._functions))


@dataclass(frozen=True)
class Delivery(Generic[D]):
    """What a handler gets besides the event: the consumer's transaction, the envelope, the
    service's store and whatever else the service bound (``deps``)."""

    conn: AsyncConnection
    envelope: Envelope
    store: EventStore
    deps: D
    actor: str

    @property
    def meta(self) -> Metadata:
        """The metadata of what the handler records: caused by this event, same correlation."""
        from libs.events.consumer import caused_by

        return caused_by(self.envelope, self.actor)


class HandlerDispatch(Dispatch[[Delivery[D]], Awaitable[None]]):
    """A consumer's handlers of other services' events, one per event type.

    ``producers`` are the services whose topics the consumer subscribes to.
    """

    def __init__(self, actor: str) -> None:
        super().__init__()
        self.actor = actor
        """Who the handlers' appends are recorded as (``service:<name>``)."""

    def handler(self, store: EventStore, deps: D) -> BoundHandler[D]:
        """The consumer's handler, bound to the service's store and ``deps``; it says which
        types it takes (``handles``) so the consumer counts any other as skipped."""
        return BoundHandler(self, store, deps)


@dataclass(frozen=True)
class BoundHandler(Generic[D]):
    """A consumer's handler: the declared functions bound to a store and ``deps``."""

    dispatch: HandlerDispatch[D]
    store: EventStore
    deps: D

    @property
    def handles(self) -> frozenset[str]:
        """The event types a function is declared for."""
        return self.dispatch.types

    async def __call__(self, conn: AsyncConnection, envelope: Envelope) -> None:
        fn = self.dispatch.get(envelope.type)
        if fn is None:
            return
        store = self.store
        event = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
        await fn(event, Delivery(conn, envelope, store, self.deps, self.dispatch.actor))


class ProjectionDispatch(Dispatch[["AsyncConnection", "Recorded"], Awaitable[None]]):
    """How a projection changes its tables, one function per event type."""

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Apply one recorded event (types no function is declared for are skipped)."""
        fn = self.get(recorded.envelope.type)
        if fn is not None:
            await fn(recorded.event, conn, recorded)
