"""重复件 rules, pure: which clue a new report repeats, the priority, merge and split."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueMerged, ReportAcknowledgementOverdue, ReportReceived
from services.intake.domain.duplicates import (
    DEFAULT_RULES,
    Candidate,
    Match,
    PersonKeys,
    Repeats,
    SplitRefused,
    find_original,
    fold,
    load_rules,
    merge,
    priority,
    same_person,
    split,
)
from services.intake.domain.jurisdiction import overdue_notices
from services.intake.domain.jurisdiction import replay as jurisdiction_replay
from tests.factories import clue_received

RULES = load_rules()
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
WANG = PersonKeys(name_unit="nu-wang", id_number="id-wang")
WANG_NO_ID = PersonKeys(name_unit="nu-wang")
NAMESAKE = PersonKeys(name_unit="nu-wang", id_number="id-other")


def existing(
    *persons: PersonKeys, days_ago: float = 10, categories: tuple[str, ...] = ("violation_gifts",)
) -> Candidate:
    return Candidate(uuid4(), NOW - timedelta(days=days_ago), categories, persons or (WANG,))


def test_the_same_id_number_is_the_same_person_whatever_the_unit() -> None:
    moved = PersonKeys(name_unit="nu-wang-elsewhere", id_number="id-wang")
    assert same_person(moved, WANG, RULES) == "id_number"


def test_name_and_unit_match_when_one_side_has_no_id_number() -> None:
    assert same_person(WANG_NO_ID, WANG, RULES) == "name_unit"
    assert same_person(WANG, WANG_NO_ID, RULES) == "name_unit"


def test_two_different_id_numbers_are_namesakes_not_the_same_person() -> None:
    assert same_person(NAMESAKE, WANG, RULES) is None


def test_rules_can_turn_name_and_unit_matching_off() -> None:
    strict = replace(RULES, match_on=frozenset({"id_number"}))
    assert same_person(WANG_NO_ID, WANG, strict) is None
    assert same_person(WANG, WANG, strict) == "id_number"


def test_a_new_report_repeats_the_earliest_clue_in_the_window_sharing_a_category() -> None:
    older, newer = existing(days_ago=100), existing(days_ago=5)

    match = find_original(
        [WANG], ["violation_dining", "violation_gifts"], NOW, [newer, older], RULES
    )

    assert match == Match(older.clue_id, ("id_number",), ("violation_gifts",))


@pytest.mark.parametrize(
    ("candidate", "why"),
    [
        (existing(days_ago=RULES.window_days + 1), "outside the window"),
        (existing(categories=("violation_dining",)), "no shared category"),
        (existing(PersonKeys(name_unit="nu-zhao")), "another person"),
        (existing(NAMESAKE), "a namesake with another ID number"),
        (existing(days_ago=-1), "received after the new report"),
    ],
)
def test_no_merge(candidate: Candidate, why: str) -> None:
    assert find_original([WANG], ["violation_gifts"], NOW, [candidate], RULES) is None, why


def test_at_least_the_configured_number_of_categories_must_be_shared() -> None:
    two = replace(RULES, min_overlapping_categories=2)
    one_shared = existing(categories=("violation_gifts", "violation_dining"))

    assert find_original([WANG], ["violation_gifts"], NOW, [one_shared], two) is None
    assert find_original(
        [WANG], ["violation_gifts", "violation_dining"], NOW, [one_shared], two
    ) == Match(one_shared.clue_id, ("id_number",), ("violation_gifts", "violation_dining"))


def test_any_shared_person_of_a_clue_with_several_makes_it_the_same_matter() -> None:
    zhao = PersonKeys(name_unit="nu-zhao")
    clue = existing(zhao, WANG_NO_ID)
    match = find_original(
        [PersonKeys(name_unit="nu-qian"), WANG], ["violation_gifts"], NOW, [clue], RULES
    )
    assert match is not None and match.matched_on == ("name_unit",)


def test_repeats_raise_priority_by_the_rules_levels() -> None:
    assert [priority("normal", n, RULES) for n in range(6)] == [
        "normal",
        "elevated",
        "elevated",
        "high",
        "high",
        "top",
    ]
    assert priority("very_urgent", 1, RULES) == "top"
    assert RULES.label("high") == "高"


def _merged_clue() -> tuple[UUID, list[ClueMerged], Repeats]:
    original = clue_received(categories=["violation_gifts"])
    repeats = []
    state = fold([original])
    for n in range(2):
        repeat = clue_received(
            clue_id=uuid4(), number=f"XS-2026-00010{n}", reference=f"SW-{n}", department="tax"
        )
        event = merge(
            repeat, state, Match(original.clue_id, ("id_number",), ("violation_gifts",)), RULES, NOW
        )
        repeats.append(event)
        state = fold([original, *repeats])
    return original.clue_id, repeats, state


def test_a_merge_counts_up_and_keeps_the_repeat_whole() -> None:
    clue_id, repeats, state = _merged_clue()

    assert [m.repeat_count for m in repeats] == [1, 2]
    assert [m.priority for m in repeats] == ["elevated", "elevated"]
    assert repeats[0].clue_id == clue_id
    assert (repeats[0].source_department, repeats[0].source_reference) == ("tax", "SW-0")
    assert repeats[0].repeat_number == "XS-2026-000100"
    assert repeats[0].narrative and repeats[0].reported_persons
    assert state.count == 2


def test_a_split_restores_the_repeat_as_a_clue_with_its_own_id_and_number() -> None:
    clue_id, repeats, state = _merged_clue()
    wrong = repeats[0]

    done, received = split(
        state, wrong.repeat_id, reason="另一件事", by="clerk-1", now=NOW, rules=RULES
    )
    after = fold([*_history(clue_id, repeats), done])

    assert (done.clue_id, done.repeat_id, done.new_clue_id) == (
        clue_id,
        wrong.repeat_id,
        wrong.repeat_id,
    )
    assert (done.repeat_count, done.priority) == (1, "elevated")
    assert (received.clue_id, received.clue_number) == (wrong.repeat_id, wrong.repeat_number)
    assert received.narrative == wrong.narrative
    assert received.source_reference == "SW-0" and received.received_at == wrong.received_at
    assert after.count == 1 and wrong.repeat_id in after.split
    with pytest.raises(SplitRefused) as again:
        split(after, wrong.repeat_id, reason="再拆", by="clerk-1", now=NOW, rules=RULES)
    assert again.value.code == "already-split"
    with pytest.raises(SplitRefused) as unknown:
        split(after, uuid4(), reason="?", by="clerk-1", now=NOW, rules=RULES)
    assert unknown.value.code == "not-a-repeat"


def _history(clue_id: UUID, repeats: list[ClueMerged]) -> list[Event]:
    return [clue_received(clue_id=clue_id, categories=["violation_gifts"]), *repeats]


def test_rules_files_that_make_no_sense_are_refused(tmp_path: Path) -> None:
    raw = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    for broken in (
        {**raw, "match_on": ["shoe_size"]},
        {**raw, "min_overlapping_categories": 0},
        {
            **raw,
            "priority": {**raw["priority"], "levels": [{"from": 2, "level": "x", "label": "x"}]},
        },
    ):
        path = tmp_path / "rules.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(ValueError):
            load_rules(path)


def test_a_merged_real_name_report_still_has_its_acknowledgement_limit() -> None:
    # The repeat's own stream holds only its reporter side (ReportReceived): no ClueReceived.
    repeat_id = uuid4()
    report = ReportReceived(
        clue_id=repeat_id,
        anonymous=False,
        reporter_ref=uuid4(),
        acknowledge_by=date(2026, 6, 20),
        received_at=NOW,
    )

    (late,) = overdue_notices(jurisdiction_replay([report]), date(2026, 6, 21), NOW, "supervisor")

    assert isinstance(late, ReportAcknowledgementOverdue) and late.clue_id == repeat_id
