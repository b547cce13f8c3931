"""The pure decisions of each service: given a command or a received clue, which events."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from services.accountability.domain import UnitNamedInClue, note_units, unit_key, unit_stream
from services.analysis.domain import SubjectNamedInClue, note_subjects, subject_key, subject_stream
from services.casework.domain import ClueRegistered, ClueStatus, register_clue
from services.intake.domain import (
    TransferClue,
    clue_stream,
    format_clue_number,
    receive_transfer,
)
from tests.factories import clue_received, note, person

NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def transfer(**overrides: object) -> TransferClue:
    fields: dict[str, object] = {
        "department": "audit",
        "reference": "SJ-2026-0042",
        "reported_persons": (person("王五", "某县财政局", post="副局长"),),
        "categories": ("violation_gifts",),
        "narrative": "审计发现其在节日期间收受管理服务对象购物卡。",
    }
    fields.update(overrides)
    return TransferClue(**fields)  # type: ignore[arg-type]


# 线索受理 (intake)


def test_clue_number_is_year_and_six_digit_serial() -> None:
    assert format_clue_number(2026, 123) == "XS-2026-000123"
    assert format_clue_number(2027, 1) == "XS-2027-000001"


def test_transfer_is_received_as_one_clue_from_the_partner() -> None:
    clue_id = uuid4()

    events = receive_transfer(transfer(), clue_id=clue_id, clue_number="XS-2026-000123", now=NOW)

    assert len(events) == 1
    clue = events[0]
    assert clue.clue_id == clue_id
    assert clue.clue_number == "XS-2026-000123"
    assert clue.source_kind == "partner_transfer"
    assert clue.source_department == "audit"
    assert clue.source_reference == "SJ-2026-0042"
    assert [p.name for p in clue.reported_persons] == ["王五"]
    assert clue.reported_persons[0].post == "副局长"
    assert clue.received_at == NOW
    assert clue_stream(clue_id) == f"clue-{clue_id}"


def test_transfer_lists_each_category_once_in_the_order_given() -> None:
    command = transfer(
        categories=("violation_gifts", "violation_dining", "violation_gifts", "violation_dining")
    )

    (clue,) = receive_transfer(command, clue_id=uuid4(), clue_number="XS-2026-000001", now=NOW)

    assert clue.categories == ["violation_gifts", "violation_dining"]


# 线索登记 (casework)


def test_received_clue_is_registered_pending_disposal() -> None:
    received = clue_received(categories=["violation_dining"])

    events = register_clue([], received)

    assert len(events) == 1
    registered = events[0]
    assert isinstance(registered, ClueRegistered)
    assert registered.status == ClueStatus.PENDING_DISPOSAL
    assert ClueStatus(registered.status).label == "待处置"
    assert registered.clue_id == received.clue_id
    assert registered.clue_number == received.clue_number
    assert registered.source_department == "audit"
    assert registered.reported_persons == received.reported_persons
    assert registered.received_at == received.received_at


def test_clue_already_in_the_ledger_is_not_registered_again() -> None:
    received = clue_received()
    history = register_clue([], received)

    assert register_clue(history, received) == []
    assert register_clue([note("unrelated"), *history], received) == []


def test_unrelated_history_does_not_stop_registration() -> None:
    assert len(register_clue([note("unrelated")], clue_received())) == 1


# 主体库 (analysis)


def test_each_reported_person_is_noted_once_in_their_own_stream_under_a_masked_name() -> None:
    received = clue_received(
        persons=[person("王五", "某县财政局"), person("赵六", "某县交通运输局")],
        categories=["violation_gifts"],
    )

    by_stream = note_subjects(received)

    assert len(by_stream) == 2
    for stream, events in by_stream.items():
        assert len(events) == 1
        (event,) = events
        assert isinstance(event, SubjectNamedInClue)
        assert stream == subject_stream(event.subject_key)
        assert event.clue_id == received.clue_id
        assert event.categories == ["violation_gifts"]
    # Nothing that leaves analysis names a person in clear, not even for an old clue that did.
    assert sorted(e.name for events in by_stream.values() for e in events) == ["王*", "赵*"]


def test_same_id_number_is_the_same_subject_whatever_the_spelling() -> None:
    a = person("王五", "某县财政局", id_number="11010519800101001X")
    b = person("王 五", "某县财政局国库科", id_number="11010519800101001X")

    assert subject_key(a) == subject_key(b)
    assert len(note_subjects(clue_received(persons=[a, b]))) == 1


def test_people_without_id_number_are_told_apart_by_name_and_unit() -> None:
    assert subject_key(person("王五", "某县财政局")) == subject_key(person("王五", "某县财政局"))
    assert subject_key(person("王五", "某县财政局")) != subject_key(person("王五", "某县税务局"))
    assert subject_key(person("王五", "某县财政局")) != subject_key(person("赵六", "某县财政局"))


# 一案双查 (accountability)


def test_each_distinct_unit_is_noted_once_per_clue() -> None:
    received = clue_received(
        persons=[
            person("王五", "某县财政局"),
            person("赵六", "某县财政局"),
            person("钱七", "某县交通运输局"),
        ]
    )

    by_stream = note_units(received)

    assert len(by_stream) == 2
    units = {}
    for stream, events in by_stream.items():
        (event,) = events
        assert isinstance(event, UnitNamedInClue)
        assert stream == unit_stream(event.unit_key)
        assert event.unit_key == unit_key(event.unit)
        assert event.clue_id == received.clue_id
        units[event.unit] = stream
    assert set(units) == {"某县财政局", "某县交通运输局"}
