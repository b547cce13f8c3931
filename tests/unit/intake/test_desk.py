"""The handler ledger's entries, decided from one event and who recorded it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from libs.events.contracts.intake import ClueMerged, ClueProgressNoted, ClueSplit, ClueViewed
from services.intake.domain.desk import handler_entries

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_repeat_report_is_in_the_ledger_of_both_clues() -> None:
    clue, repeat = uuid4(), uuid4()
    merged = ClueMerged(
        clue_id=clue, repeat_id=repeat, repeat_count=2, source_kind="public_report", merged_at=AT
    )

    entries = handler_entries(merged, "public:reporter", AT)

    assert [(e.clue_id, e.action, e.actor) for e in entries] == [
        (clue, "repeat_merged", "public:reporter"),
        (repeat, "merged_into", "public:reporter"),
    ]
    assert entries[0].detail["repeat_count"] == 2
    assert entries[1].detail["merged_into"] == str(clue)


def test_a_split_names_the_clerk_on_both_clues() -> None:
    clue, repeat = uuid4(), uuid4()
    split = ClueSplit(
        clue_id=clue,
        repeat_id=repeat,
        new_clue_id=repeat,
        new_clue_number="XS-2026-000009",
        repeat_count=0,
        reason="不是同一事项",
        split_by="operator:li",
        split_at=AT,
    )

    entries = handler_entries(split, "operator:li", AT)

    assert [(e.clue_id, e.action, e.actor) for e in entries] == [
        (clue, "split", "operator:li"),
        (repeat, "split_off", "operator:li"),
    ]


def test_casework_progress_is_attributed_to_casework_not_to_intake_noting_it() -> None:
    noted = ClueProgressNoted(
        clue_id=uuid4(),
        status="case_filed",
        learned_from="zhengfeng.casework.case_filed",
        noted_at=AT,
    )

    [entry] = handler_entries(noted, "service:intake", AT)

    assert (entry.action, entry.actor, entry.detail["status_label"]) == (
        "progress",
        "service:casework",
        "已立案",
    )


def test_reading_the_conversation_is_told_apart_from_opening_the_clue() -> None:
    clue = uuid4()
    read = ClueViewed(
        clue_id=clue, viewed_by="operator:li", roles=["clerk"], part="messages", viewed_at=AT
    )

    [entry] = handler_entries(read, "operator:li", AT)

    assert (entry.action, entry.detail["roles"]) == ("read_messages", ["clerk"])
