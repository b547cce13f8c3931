"""Dispatch by event type: one function per type, declared once; what it covers follows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from libs.events.contracts import registry
from libs.events.contracts.casework import CaseFiled, ClueRegistered
from libs.events.contracts.intake import ClueMerged, ClueReceived
from libs.events.dispatch import Delivery, Dispatch, HandlerDispatch, producer_of
from services.accountability.app import SUBSCRIBES_TO as ACCOUNTABILITY
from services.analysis.app import SUBSCRIBES_TO as ANALYSIS
from services.casework.app import SUBSCRIBES_TO as CASEWORK
from services.intake.app import SUBSCRIBES_TO as INTAKE
from tests.factories import clue_received


def test_an_event_goes_to_the_function_declared_for_its_type() -> None:
    seen: Dispatch[[str], str] = Dispatch()

    @seen.on(ClueReceived)
    def _received(event: ClueReceived, who: str) -> str:
        return f"{who} received {event.clue_number}"

    received = clue_received(number="XS-2026-000001")

    assert seen(received, "clerk") == "clerk received XS-2026-000001"
    assert seen.get(ClueReceived.type_name) is _received
    assert seen(CaseFiled.model_construct(), "clerk") is None


def test_a_type_is_declared_once() -> None:
    twice: Dispatch[[], None] = Dispatch()
    twice.on(ClueReceived)(lambda event: None)

    with pytest.raises(ValueError, match="already taken"):
        twice.on(ClueMerged, ClueReceived)(lambda event: None)


def test_the_declaration_names_its_types_and_their_publishers_in_declared_order() -> None:
    handlers: HandlerDispatch[None] = HandlerDispatch("service:test")

    async def _noted(event: Any, d: Delivery[None]) -> None:
        return None

    handlers.on(ClueRegistered)(_noted)
    handlers.on(ClueReceived, ClueMerged)(_noted)
    handlers.on(CaseFiled)(_noted)

    assert handlers.types == {
        ClueRegistered.type_name,
        ClueReceived.type_name,
        ClueMerged.type_name,
        CaseFiled.type_name,
    }
    assert handlers.producers == ("casework", "intake")
    assert producer_of("zhengfeng.analysis.alert_raised") == "analysis"


async def test_a_handler_decodes_only_the_types_it_has_a_function_for() -> None:
    handlers: HandlerDispatch[list[str]] = HandlerDispatch("service:test")

    @handlers.on(ClueReceived)
    async def _received(event: ClueReceived, d: Delivery[list[str]]) -> None:
        d.deps.append(f"{event.clue_number} by {d.meta.actor} after {d.meta.causation_id}")

    got: list[str] = []
    store: Any = SimpleNamespace(registry=registry)
    handle = handlers.handler(store, got)
    received = clue_received(number="XS-2026-000001")
    ours: Any = SimpleNamespace(
        id="e-1",
        type=received.type_name,
        typeversion=received.version,
        data=received.model_dump(mode="json"),
        correlationid="c-1",
    )
    # Data no contract would accept, of a type nobody here takes: never decoded.
    other: Any = SimpleNamespace(type=CaseFiled.type_name, typeversion=1, data={"not": "a case"})

    await handle(cast(Any, None), other)
    await handle(cast(Any, None), ours)

    assert got == ["XS-2026-000001 by service:test after e-1"]


def test_each_service_subscribes_to_the_publishers_of_what_its_handlers_take() -> None:
    assert INTAKE == ("casework",)
    assert CASEWORK == ("intake", "analysis")
    assert ANALYSIS == ("intake", "casework")
    assert ACCOUNTABILITY == ("intake", "casework", "analysis")
