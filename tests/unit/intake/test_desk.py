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


def test_filtering_the_desk_by_a_class_finds_its_manifestations_too() -> None:
    from libs.events import taxonomy
    from services.intake.api.desk import _category_codes

    codes = _category_codes("violation_dining", taxonomy.load())

    assert codes[0] == "violation_dining"
    assert {"public_funds_dining", "violation_entertainment", "drunk_driving"} <= set(codes)
    assert _category_codes("vanity_projects", taxonomy.load())[0] == "digital_achievements"


def test_the_ledger_records_taking_up_and_designation_with_the_decision_number() -> None:
    from libs.events.contracts.intake import ClueJurisdictionDesignated, ClueTakenUp

    clue = uuid4()
    taken = ClueTakenUp(
        clue_id=clue,
        clue_number="XS-2026-000001",
        authority="市纪委监委",
        decision_number="市纪提〔2026〕2号",
        reason="涉及市管干部",
        recorded_by="operator:clerk-1",
        recorded_at=AT,
    )
    designated = ClueJurisdictionDesignated(
        clue_id=clue,
        clue_number="XS-2026-000001",
        designated_by="市纪委监委",
        designated_to="邻县纪委监委",
        here=False,
        decision_number="市纪指〔2026〕1号",
        reason="回避",
        recorded_by="operator:clerk-1",
        recorded_at=AT,
    )

    (up,) = handler_entries(taken, "operator:clerk-1", AT)
    (named,) = handler_entries(designated, "operator:clerk-1", AT)

    assert (up.action, up.detail["decision_number"]) == ("taken_up", "市纪提〔2026〕2号")
    assert (named.action, named.detail["designated_to"]) == (
        "jurisdiction_designated",
        "邻县纪委监委",
    )
