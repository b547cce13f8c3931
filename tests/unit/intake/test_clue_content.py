"""A clue's content (线索内容) is one value object: a merge and a split carry all of it.

The strategies fill every field of ``ClueContent`` from its declaration, so a field added
there later is covered here without touching this file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin
from uuid import uuid4

import hypothesis.strategies as st
from hypothesis import given, settings
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from libs.events.contracts import Event, registry
from libs.events.contracts.intake import ClueContent, ClueReceived
from libs.events.envelope import canonical_json
from services.intake.api.clues import ClueOut
from services.intake.api.repeats import RepeatOut
from services.intake.api.reports import ReportIn
from services.intake.api.transfers import ClueTransferIn
from services.intake.domain.duplicates import Match, fold, load_rules, merge, split
from tests.factories import clue_received

RULES = load_rules()
RECEIVED = datetime(2026, 6, 1, 9, tzinfo=UTC)
MERGED = datetime(2026, 6, 1, 10, tzinfo=UTC)
SPLIT = datetime(2026, 6, 2, 15, tzinfo=UTC)


def _set(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type that count as set: not None, not empty."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return every_field_set(annotation)
    if origin in (Union, UnionType):
        return st.one_of(*(_set(a) for a in args if a is not NoneType))
    if origin is list:
        return st.lists(_set(args[0]), min_size=1, max_size=3)
    if origin is dict:
        return st.dictionaries(_set(args[0]), _set(args[1]), min_size=1, max_size=3)
    return st.from_type(annotation)


def _not_default(field: FieldInfo) -> st.SearchStrategy[Any]:
    default = field.get_default(call_default_factory=True)
    if field.annotation is bool:
        return st.just(not default)
    return _set(field.annotation).filter(lambda value: value != default)


def every_field_set(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Instances of ``model`` (nested models too) with no field left at its default."""
    return st.builds(
        model, **{name: _not_default(field) for name, field in model.model_fields.items()}
    )


def as_stored(event: Event) -> Event:
    """The event as a reader gets it back from a store or a topic: canonical JSON, decoded."""
    data = json.loads(canonical_json(event.model_dump(mode="json")))
    return registry.decode(event.type_name, event.version, data)


@settings(max_examples=40, deadline=None)
@given(content=every_field_set(ClueContent))
def test_a_merged_then_split_clue_keeps_every_content_field(content: ClueContent) -> None:
    for name, field in ClueContent.model_fields.items():
        assert getattr(content, name) != field.get_default(call_default_factory=True), name
    original = clue_received(categories=["violation_gifts"])
    repeat = ClueReceived(
        clue_id=uuid4(),
        clue_number="XS-2026-000100",
        source_kind="partner_transfer",
        source_department="tax",
        source_reference="SW-1",
        received_at=RECEIVED,
        **content.content_fields(),
    )
    match = Match(original.clue_id, ("id_number",), ("violation_gifts",))

    merged = as_stored(merge(repeat, fold([original]), match, RULES, MERGED))
    _, received = split(
        fold([original, merged]),
        repeat.clue_id,
        reason="另一件事",
        by="clerk-1",
        now=SPLIT,
        rules=RULES,
    )

    restored = as_stored(received)
    assert restored.model_dump() == repeat.model_dump()
    for name in ClueContent.model_fields:
        assert getattr(restored, name) == getattr(content, name), name


def test_what_a_request_says_of_the_clue_and_what_an_answer_shows_is_its_content() -> None:
    content = set(ClueContent.model_fields)
    # The sealed narrative is intake's to write and is shown as ``narrative``.
    shown = content - {"sealed_narrative"}

    assert set(ClueTransferIn.model_fields) - {"reference"} <= shown
    assert set(ReportIn.model_fields) - {"anonymous", "reporter", "secret"} <= shown
    assert shown <= set(ClueOut.model_fields)
    assert shown <= set(RepeatOut.model_fields)
    assert "sealed_narrative" not in set(ClueOut.model_fields) | set(RepeatOut.model_fields)
