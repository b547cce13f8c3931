"""The CloudEvents envelope: hash chain, Kafka binary content mode, canonical JSON."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from libs.events.contracts import holds_no_float
from libs.events.envelope import (
    EXTENSIONS,
    GENESIS_HASH,
    LAZY,
    Envelope,
    EnvelopeError,
    _canonical_attributes,
    canonical_json,
    canonical_json_without_floats,
    chain_hash,
    envelope_hash,
    format_time,
    from_kafka,
    loads,
    to_kafka,
    to_structured,
    trace_id_of,
)

EVENT_ID = UUID("0b0e6c52-3f0c-4d7e-9a51-0c6e6f1b2a01")

HASHED: dict[str, Any] = {
    "prev_hash": GENESIS_HASH,
    "event_id": EVENT_ID,
    "source": "/zhengfeng/intake",
    "type": "zhengfeng.intake.clue_received",
    "type_version": 2,
    "stream_id": "clue-1",
    "stream_version": 1,
    "time": datetime(2026, 2, 20, 9, 30, 0, 123456, tzinfo=UTC),
    "data": {"narrative": "春节期间公务卡在私人会所消费。", "categories": ["violation_dining"]},
    "correlation_id": "corr-1",
    "causation_id": None,
    "actor": "partner:audit-bureau",
}

CHANGED: dict[str, Any] = {
    "prev_hash": "f" * 64,
    "event_id": UUID("0b0e6c52-3f0c-4d7e-9a51-0c6e6f1b2a02"),
    "source": "/zhengfeng/casework",
    "type": "zhengfeng.intake.clue_withdrawn",
    "type_version": 3,
    "stream_id": "clue-2",
    "stream_version": 2,
    "time": HASHED["time"] + timedelta(microseconds=1),
    "data": {"narrative": "春节期间公务卡在私人会所消费", "categories": ["violation_dining"]},
    "correlation_id": "corr-2",
    "causation_id": "cause-1",
    "actor": "partner:tax-bureau",
}


def envelope(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "id": EVENT_ID,
        "source": HASHED["source"],
        "type": HASHED["type"],
        "subject": HASHED["stream_id"],
        "time": HASHED["time"],
        "dataschema": "/v1/schemas/zhengfeng.intake.clue_received/2",
        "data": HASHED["data"],
        "typeversion": HASHED["type_version"],
        "streamversion": HASHED["stream_version"],
        "correlationid": HASHED["correlation_id"],
        "causationid": "cause-9",
        "actor": HASHED["actor"],
        "prevhash": GENESIS_HASH,
        "eventhash": "",
        "position": 42,
    }
    fields.update(overrides)
    draft = Envelope(**fields)
    return dataclasses.replace(draft, eventhash=envelope_hash(draft))


@pytest.mark.parametrize("field", sorted(HASHED))
def test_chain_hash_changes_when_any_hashed_field_changes(field: str) -> None:
    assert chain_hash(**{**HASHED, field: CHANGED[field]}) != chain_hash(**HASHED)


def test_chain_hash_is_stable_for_the_same_event() -> None:
    assert chain_hash(**HASHED) == chain_hash(**dict(reversed(list(HASHED.items()))))
    assert len(chain_hash(**HASHED)) == 64


def test_chain_hash_ignores_the_order_of_data_keys() -> None:
    reordered = dict(reversed(list(HASHED["data"].items())))
    assert chain_hash(**{**HASHED, "data": reordered}) == chain_hash(**HASHED)


def test_kafka_record_is_keyed_by_stream_with_ce_headers_and_json_value() -> None:
    original = envelope()

    key, value, headers = to_kafka(original)

    assert key == b"clue-1"
    assert json.loads(value) == original.data
    names = dict(headers)
    assert names["ce_specversion"] == b"1.0"
    assert names["ce_id"] == str(EVENT_ID).encode()
    assert names["ce_type"] == b"zhengfeng.intake.clue_received"
    assert names["ce_subject"] == b"clue-1"
    assert names["ce_time"] == b"2026-02-20T09:30:00.123456Z"
    assert names["ce_eventhash"] == original.eventhash.encode()
    assert names["content-type"] == b"application/json"
    assert all(n == "content-type" or n.startswith("ce_") for n in names)


def test_kafka_record_round_trips_to_the_same_envelope() -> None:
    original = envelope()

    key, value, headers = to_kafka(original)
    rebuilt = from_kafka(value, headers)

    assert rebuilt == original
    assert rebuilt.stream_id == key.decode()
    assert envelope_hash(rebuilt) == rebuilt.eventhash


def test_kafka_record_carries_every_extension_that_is_set_in_its_order() -> None:
    every = envelope(
        correlationid="0af7651916cd43dd8448eb211c80319c",
        txid=7,
        signingkeyid="intake-20261207T091500-3fa9c1",
        signature="sig",
        ordersignature="order-sig",
    )

    _, _, headers = to_kafka(every)

    names = [name for name, _ in headers]
    assert names == [
        "content-type", "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject",
        "ce_time", "ce_dataschema", *(f"ce_{name}" for name in EXTENSIONS), "ce_traceparent",
    ]  # fmt: skip
    assert dict(headers)["ce_txid"] == b"7"
    assert from_kafka(*to_kafka(every)[1:]) == every


def test_kafka_records_of_repeated_sources_and_types_are_written_alike() -> None:
    first, second = envelope(), envelope(source="/zhengfeng/casework", typeversion=3)

    assert to_kafka(envelope()) == to_kafka(first)
    assert dict(to_kafka(second)[2])["ce_source"] == b"/zhengfeng/casework"
    assert dict(to_kafka(second)[2])["ce_typeversion"] == b"3"
    assert dict(to_kafka(first)[2])["ce_source"] == b"/zhengfeng/intake"
    # Times, stream versions and transactions repeat within a batch, each its own text.
    later = envelope(
        time=HASHED["time"] + timedelta(seconds=1), streamversion=7, txid=12, position=43
    )
    for _ in range(2):
        assert dict(to_kafka(later)[2])["ce_time"] == b"2026-02-20T09:30:01.123456Z"
        assert dict(to_kafka(later)[2])["ce_streamversion"] == b"7"
        assert dict(to_kafka(later)[2])["ce_txid"] == b"12"
        assert dict(to_kafka(first)[2])["ce_time"] == b"2026-02-20T09:30:00.123456Z"
        assert dict(to_kafka(first)[2])["ce_streamversion"] == b"1"
        assert "ce_txid" not in dict(to_kafka(first)[2])


def test_kafka_round_trip_keeps_absent_optional_attributes_absent() -> None:
    original = envelope(causationid=None, position=None)

    rebuilt = from_kafka(*to_kafka(original)[1:])

    assert "ce_causationid" not in dict(to_kafka(original)[2])
    assert rebuilt.causationid is None
    assert rebuilt.position is None
    assert rebuilt == original


def test_record_without_ce_specversion_is_not_an_envelope() -> None:
    _, value, headers = to_kafka(envelope())
    without = [(n, v) for n, v in headers if n != "ce_specversion"]

    with pytest.raises(EnvelopeError, match="specversion"):
        from_kafka(value, without)


def test_record_with_bad_json_is_not_an_envelope() -> None:
    _, _, headers = to_kafka(envelope())

    with pytest.raises(EnvelopeError):
        from_kafka('{"narrative": "未闭合'.encode(), headers)


def test_record_missing_a_required_attribute_is_not_an_envelope() -> None:
    _, value, headers = to_kafka(envelope())
    without = [(n, v) for n, v in headers if n != "ce_actor"]

    with pytest.raises(EnvelopeError):
        from_kafka(value, without)


def test_canonical_json_does_not_depend_on_key_order() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": "甲"}}
    b = {"a": {"x": "甲", "y": [1, 2]}, "b": 1}

    assert canonical_json(a) == canonical_json(b) == '{"a":{"x":"甲","y":[1,2]},"b":1}'


def test_canonical_json_keeps_chinese_text_unescaped() -> None:
    text = canonical_json({"name": "王五", "unit": "某县财政局"})

    assert "王五" in text
    assert "\\u" not in text
    assert json.loads(text) == {"name": "王五", "unit": "某县财政局"}


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_an_event_under_a_trace_id_carries_the_w3c_traceparent_and_round_trips() -> None:
    traced = envelope(correlationid=TRACE)

    _key, value, headers = to_kafka(traced)
    rebuilt = from_kafka(value, headers)

    expected = f"00-{TRACE}-{EVENT_ID.hex[:16]}-01"
    assert dict(headers)["ce_traceparent"] == expected.encode()
    assert to_structured(traced)["traceparent"] == expected
    assert rebuilt == traced and rebuilt.traceparent == expected


def test_an_event_under_an_older_correlation_id_has_no_traceparent() -> None:
    older = envelope(correlationid="5b0c4a8e-9f1e-4d2a-8c3b-2a1f0e9d8c7b")

    assert older.traceparent is None
    assert "ce_traceparent" not in dict(to_kafka(older)[2])


@pytest.mark.parametrize(
    ("header", "trace"),
    [
        (f"00-{TRACE}-00f067aa0ba902b7-01", TRACE),
        (f" 00-{TRACE}-00f067aa0ba902b7-00 ", TRACE),
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),  # all-zero trace id: invalid
        (f"00-{TRACE}-{'0' * 16}-01", None),  # all-zero parent id: invalid
        (f"00-{TRACE.upper()}-00f067aa0ba902b7-01", None),  # upper case: invalid
        ("garbage", None),
        (None, None),
    ],
)
def test_only_a_valid_traceparent_gives_its_trace_id(header: str | None, trace: str | None) -> None:
    assert trace_id_of(header) == trace


# The fast paths (orjson) give the same bytes as the standard library's canonical form:
# every stored hash stays valid.

_ATTRIBUTE_VALUES = st.one_of(
    st.text(), st.integers(min_value=-(2**70), max_value=2**70), st.none()
)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), _ATTRIBUTE_VALUES, max_size=12))
def test_the_attributes_fast_path_writes_the_canonical_text(attrs: dict[str, Any]) -> None:
    try:
        expected = canonical_json(attrs)
        expected.encode()
    except UnicodeEncodeError:  # a lone surrogate: no hash either way
        return
    assert _canonical_attributes(attrs) == expected


@given(st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
))  # fmt: skip
def test_loads_reads_canonical_text_as_the_standard_library_does(value: Any) -> None:
    text = canonical_json(value)
    assert loads(text) == json.loads(text)


def test_loads_still_reads_what_only_the_standard_library_accepts() -> None:
    assert loads('{"n": 100000000000000000000}') == {"n": 10**20}  # not 1e+20
    assert loads('{"a": NaN}')["a"] != loads('{"a": NaN}')["a"]  # NaN
    assert loads('"\\ud800"') == "\ud800"


def test_a_stored_envelope_decodes_its_data_only_when_asked_and_hashes_the_same() -> None:
    eager = envelope()
    lazy = dataclasses.replace(eager, data=LAZY, encoded_data=canonical_json(HASHED["data"]))
    assert lazy.__dict__["_data"] is LAZY
    assert envelope_hash(lazy) == envelope_hash(eager) == eager.eventhash
    signed = lazy.signed("c2ln", "intake-1")
    assert to_kafka(signed)[1] == to_kafka(eager)[1]
    assert from_kafka(*to_kafka(signed)[1:]).signature == "c2ln"
    assert lazy.__dict__["_data"] is LAZY  # hashing, signing and publishing did not decode it
    assert lazy.data == HASHED["data"]
    assert lazy == eager
    with pytest.raises(ValueError, match="encoded_data"):
        dataclasses.replace(eager, data=LAZY)


@settings(max_examples=500)
@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),  # a day from the ends: astimezone stays in range
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))]
        ),
    )
)
def test_event_times_are_written_as_they_always_were(value: datetime) -> None:
    # The hash chain covers this text: it must stay byte for byte what strftime wrote.
    assert format_time(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_time_written_again_is_written_alike_and_the_next_as_its_own() -> None:
    first = datetime(2026, 2, 20, 9, 30, 0, 123456, tzinfo=UTC)
    same_instant_elsewhere = first.astimezone(timezone(timedelta(hours=8)))
    later = first + timedelta(microseconds=1)

    written = [format_time(t) for t in (first, first, same_instant_elsewhere, later, first)]

    assert written == [
        "2026-02-20T09:30:00.123456Z",
        "2026-02-20T09:30:00.123456Z",
        "2026-02-20T09:30:00.123456Z",
        "2026-02-20T09:30:00.123457Z",
        "2026-02-20T09:30:00.123456Z",
    ]


def test_an_envelope_read_from_a_store_is_the_one_the_constructor_makes() -> None:
    eager = envelope()
    attributes = {
        name: getattr(eager, name)
        for name in (
            "id", "source", "type", "subject", "time", "dataschema", "typeversion",
            "streamversion", "correlationid", "causationid", "actor", "prevhash", "eventhash",
            "position",
        )
    }  # fmt: skip
    stored = Envelope.stored({**attributes, "encoded_data": canonical_json(HASHED["data"])})
    made = Envelope(**attributes, data=LAZY, encoded_data=canonical_json(HASHED["data"]))

    # Every field the constructor sets, with the same values (a field added to Envelope
    # and not to what ``stored`` sets fails here).
    assert stored.__dict__ == made.__dict__
    assert stored.__dict__["_data"] is LAZY
    assert envelope_hash(stored) == eager.eventhash
    assert stored.placed(7).signed("c2ln", "intake-1").txid == 7
    assert stored == eager


@settings(max_examples=300)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
))  # fmt: skip
def test_data_without_floats_is_written_the_canonical_way_fast(value: Any) -> None:
    try:
        expected = canonical_json(value)
        expected.encode()
    except UnicodeEncodeError:  # a lone surrogate: no hash either way
        return
    assert canonical_json_without_floats(value) == expected


def test_a_float_is_written_differently_by_the_fast_way_so_such_contracts_take_the_slow_one() -> (
    None
):
    assert canonical_json_without_floats({"x": 1e-05}) != canonical_json({"x": 1e-05})

    class Part(BaseModel):
        name: str
        count: int | None = None

    class Plain(BaseModel):
        parts: list[Part]
        tags: dict[str, str]
        kind: Literal["a", "b"]

    class Scored(BaseModel):
        score: float

    class Nested(BaseModel):
        parts: list[Scored]

    class Free(BaseModel):
        extra: dict[str, Any]

    class Anything(BaseModel):
        value: Any

    assert holds_no_float(Plain)
    assert not any(holds_no_float(m) for m in (Scored, Nested, Free, Anything))
