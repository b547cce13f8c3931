"""廉政档案 and 党风廉政意见回复, pure: what the record holds, what a reply may say."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from libs.events import measures
from services.accountability.domain.integrity import (
    Fact,
    load_integrity_rules,
    record,
    reply,
)

RULES = load_integrity_rules()
CATALOGUE = measures.shipped()
TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 7)


def decided(case: str, on: date, *codes: str) -> Fact:
    at = datetime(on.year, on.month, on.day, 2, tzinfo=UTC)
    return Fact("decision", at, case_id=case, case_number=f"AJ-{case}", form=2, measures=codes)


def test_a_reply_omits_a_sanction_past_its_period_and_states_one_inside_it() -> None:
    facts = [
        decided("1", date(2024, 3, 1), "warning"),  # 12 months: over by 2025-03-01
        decided("2", date(2026, 6, 1), "serious_warning"),  # 18 months: until 2027-12-01
    ]
    entries = record(facts, CATALOGUE, TODAY, TZ, RULES)
    assert [(e.reference, e.status) for e in entries] == [
        ("AJ-1", "expired"),
        ("AJ-2", "in_effect"),
    ]
    said, conclusion = reply(entries, RULES)
    assert [e.reference for e in said] == ["AJ-2"]
    assert conclusion == "in_effect"
    assert said[0].until == date(2027, 12, 1)
    assert said[0].text == "2026年6月1日受到严重警告，影响期至2027-12-01"


def test_a_revision_on_appeal_changes_the_sanction_in_force() -> None:
    at = datetime(2026, 9, 1, tzinfo=UTC)
    facts = [
        decided("1", date(2026, 6, 1), "serious_warning"),
        Fact("revision", at, case_id="1", case_number="AJ-1", form=1, measures=("criticism_education",)),
    ]  # fmt: skip
    (entry,) = record(facts, CATALOGUE, TODAY, TZ, RULES)
    assert entry.status == "no_period"
    assert reply([entry], RULES) == ([], "no_finding")


def test_a_clue_under_inquiry_letter_makes_the_reply_pending_and_a_closed_one_is_not_said() -> None:
    at = datetime(2026, 10, 1, tzinfo=UTC)
    clue = {"clue_id": "c1", "clue_number": "XS-1"}
    reported = Fact("reported", at, detail=clue)
    inquiry = Fact("disposal", at, detail={**clue, "method": "talk_or_inquiry", "outcome": "talk_or_inquiry"})  # fmt: skip
    closed = Fact("disposal", datetime(2026, 11, 1, tzinfo=UTC), detail={**clue, "method": "close", "outcome": "close"})  # fmt: skip

    open_entries = record([reported, inquiry], CATALOGUE, TODAY, TZ, RULES)
    assert open_entries[0].text == "有反映问题线索，正在谈话函询"
    assert reply(open_entries, RULES)[1] == "pending"

    done = record([reported, inquiry, closed], CATALOGUE, TODAY, TZ, RULES)
    assert done[0].text == "反映问题线索经处置，已予以了结"
    assert reply(done, RULES) == ([], "no_finding")


def test_a_cleared_name_is_marked_cleared_in_the_reply() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    facts = [
        Fact("case_filed", datetime(2026, 8, 1, tzinfo=UTC), case_id="9", case_number="AJ-9"),
        Fact("case_closed", at, case_id="9", case_number="AJ-9"),
        Fact("name_cleared", at, case_id="9", case_number="AJ-9"),
    ]
    said, conclusion = reply(record(facts, CATALOGUE, TODAY, TZ, RULES), RULES)
    assert [(e.kind, e.text) for e in said] == [
        ("cleared", "经核查，反映的问题不属实，已予以澄清正名")
    ]
    assert conclusion == "no_finding"
