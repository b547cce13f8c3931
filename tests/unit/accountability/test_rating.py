"""红黄绿 ratings and their explanation (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from libs.events.contracts import Event, registry
from libs.events.contracts.accountability import (
    AlertNoted,
    AlertVerificationNoted,
    OverdueNoted,
    RatingChanged,
)
from libs.events.taxonomy import load as load_taxonomy
from services.accountability.domain.rating import rate, rating_change
from services.accountability.domain.rules import load_rules
from services.accountability.domain.triggers import note_decision
from services.accountability.domain.units import (
    RepeatReportNoted,
    RepeatReportSplitNoted,
    UnitNamedInClue,
    unit_key,
)
from tests.unit.accountability.factories import UNIT, case_decided

RULES = load_rules().rating
NOW = datetime(2026, 10, 1, tzinfo=UTC)
label = load_taxonomy().label


def dining_case(days_ago: int) -> Event:
    return note_decision(
        case_decided(
            form=1, categories=["violation_dining"], decided_at=NOW - timedelta(days=days_ago)
        )
    )


def overdue(kind: str, days_ago: int) -> Event:
    at = NOW - timedelta(days=days_ago)
    return OverdueNoted(
        deadline_id=str(uuid4()), unit=UNIT, item_kind=kind, due_at=at, noticed_at=at
    )


def test_the_explanation_names_the_cases_and_overdue_items_that_made_the_unit_red() -> None:
    history = [
        dining_case(10),
        dining_case(50),
        dining_case(100),
        overdue("inquiry_reply", 5),
        overdue("inquiry_reply", 6),
    ]
    rating = rate(history, NOW, RULES, label)
    assert rating.level == "red"
    assert rating.explanation.startswith("红：近12个月违规吃喝 3 件，函询超期 2 项")
    assert rating.inputs == {
        "case": 3,
        "major_case": 0,
        "alert_red": 0,
        "alert_yellow": 0,
        "overdue": 2,
        "petition": 0,
        "repeat_report": 0,
    }
    assert rating.score == 3 * RULES.weights["case"] + 2 * RULES.weights["overdue"]


def test_inputs_older_than_the_window_no_longer_count() -> None:
    rating = rate([dining_case(400), overdue("inquiry_reply", 500)], NOW, RULES, label)
    assert rating.level == "green"
    assert rating.explanation == "绿：近12个月无案件、预警、超期事项或信访举报"


def test_a_single_case_and_overdue_item_make_a_unit_yellow() -> None:
    rating = rate([dining_case(10), overdue("clue_disposal", 3)], NOW, RULES, label)
    assert (rating.level, rating.score) == ("yellow", 3)
    assert rating.explanation == "黄：近12个月违规吃喝 1 件，线索处置超期 1 项（得分 3）"


def test_a_rating_change_is_recorded_only_when_the_level_moves() -> None:
    history: list[Event] = [dining_case(10)]
    assert rating_change(UNIT, history, NOW, RULES, "v") == []
    history.append(overdue("review", 1))
    (changed,) = rating_change(UNIT, history, NOW, RULES, "v")
    assert (changed.from_level, changed.to_level) == (None, "yellow")
    history.append(changed)
    assert rating_change(UNIT, history, NOW, RULES, "v") == []


def test_red_alerts_count_towards_the_rating_and_are_named() -> None:
    alerts = [
        AlertNoted(
            alert_id=uuid4(),
            unit=UNIT,
            level=level,
            category="violation_dining",
            summary="公务卡夜间消费",
            raised_at=NOW - timedelta(days=3),
        )
        for level in ("red", "red", "yellow")
    ]
    rating = rate(alerts, NOW, RULES, label)
    assert rating.score == 2 * RULES.weights["alert_red"] + RULES.weights["alert_yellow"]
    assert "红色预警 2 条，黄色预警 1 条" in rating.explanation


def test_an_alert_found_false_on_the_ground_stops_counting_and_the_explanation_says_so() -> None:
    alerts = [
        AlertNoted(
            alert_id=uuid4(),
            unit=UNIT,
            level="red",
            category="vehicle_private_use",
            summary="公车节假日出入景区",
            raised_at=NOW - timedelta(days=3),
        )
        for _ in range(2)
    ]
    assert rate(alerts, NOW, RULES, label).level == "yellow"
    found = [
        AlertVerificationNoted(
            alert_id=alerts[0].alert_id,
            unit=UNIT,
            finding="false_positive",
            verified_at=NOW - timedelta(days=1),
        ),
        AlertVerificationNoted(
            alert_id=alerts[1].alert_id,
            unit=UNIT,
            finding="confirmed",
            verified_at=NOW - timedelta(days=1),
        ),
    ]
    rating = rate([*alerts, *found], NOW, RULES, label)
    assert (rating.level, rating.inputs["alert_red"]) == ("green", 1)
    assert "红色预警 1 条；另有 1 条经核查不实的预警未计入" in rating.explanation
    # As of a moment before the verification, the alert still counted.
    assert rate([*alerts, *found], NOW - timedelta(days=2), RULES, label).level == "yellow"


def petition(days_ago: int, source_kind: str = "public_report") -> Event:
    return UnitNamedInClue(
        unit_key=unit_key(UNIT),
        unit=UNIT,
        clue_id=uuid4(),
        categories=["violation_dining"],
        source_kind=source_kind,
        received_at=NOW - timedelta(days=days_ago),
    )


def repeat(days_ago: int, repeat_id: UUID | None = None) -> Event:
    return RepeatReportNoted(
        unit_key=unit_key(UNIT),
        unit=UNIT,
        clue_id=uuid4(),
        repeat_id=repeat_id or uuid4(),
        repeat_count=1,
        source_kind="public_report",
        merged_at=NOW - timedelta(days=days_ago),
    )


def test_petition_volume_and_repeat_reports_count_in_the_dynamic_rating() -> None:
    """动态评估: 综合问题反映集中度、信访及重复举报 — both are inputs, weighed as data."""
    history = [petition(d) for d in (1, 2, 3, 4, 5, 6)] + [repeat(d) for d in (1, 2, 3, 4)]
    rating = rate(history, NOW, RULES, label)
    assert (rating.inputs["petition"], rating.inputs["repeat_report"]) == (6, 4)
    per = RULES.per_point
    assert rating.score == (
        6 // per["petition"] * RULES.weights["petition"]
        + 4 // per["repeat_report"] * RULES.weights["repeat_report"]
    )
    assert rating.level == "yellow"
    assert rating.explanation == f"黄：近12个月信访举报 6 件，重复举报 4 件（得分 {rating.score}）"


def test_only_petitions_count_as_petition_volume_and_old_notes_without_a_time_do_not() -> None:
    legacy = registry.decode(
        UnitNamedInClue.type_name,
        1,
        {"unit_key": unit_key(UNIT), "unit": UNIT, "clue_id": str(uuid4()), "categories": []},
    )
    history = [petition(1, "partner_transfer"), petition(400), legacy]
    assert rate(history, NOW, RULES, label).inputs["petition"] == 0


def test_a_repeat_report_split_off_as_its_own_clue_no_longer_counts_as_a_repeat() -> None:
    rid = uuid4()
    split = RepeatReportSplitNoted(
        unit=UNIT, clue_id=uuid4(), repeat_id=rid, split_at=NOW - timedelta(days=1)
    )
    assert rate([repeat(3, rid), repeat(2)], NOW, RULES, label).inputs["repeat_report"] == 2
    assert rate([repeat(3, rid), repeat(2), split], NOW, RULES, label).inputs["repeat_report"] == 1


def test_enough_petitions_and_repeats_move_the_rating_and_the_change_says_why() -> None:
    history: list[Event] = [petition(d) for d in range(1, 13)] + [repeat(d) for d in range(1, 9)]
    (changed,) = rating_change(UNIT, history, NOW, RULES, "test", label)
    assert changed.to_level == "red"
    assert "信访举报 12 件" in changed.explanation and "重复举报 8 件" in changed.explanation


def test_an_english_explanation_of_the_first_releases_reads_in_chinese_and_is_kept() -> None:
    """The 廉情通报 prints the explanation: one recorded as "red (红) because: …" reads in
    Chinese from its recorded counts; the recorded text stays beside it."""
    english = "red (红) because: 3 cases of 违规吃喝 in 12 months, 2 overdue 函询 (score 8)"
    recorded = {
        "unit": UNIT,
        "from_level": "yellow",
        "to_level": "red",
        "score": 8,
        "explanation": english,
        "inputs": {"case": 3, "major_case": 0, "alert_red": 0, "alert_yellow": 0, "overdue": 2},
        "rules_version": "2026-1",
        "changed_at": NOW.isoformat(),
    }
    old = registry.decode(RatingChanged.type_name, 1, recorded)
    assert isinstance(old, RatingChanged)
    assert old.explanation == "红：案件 3 件，超期事项 2 项（得分 8；据原记录的计数重述）"
    assert old.recorded_explanation == english
    chinese = registry.decode(
        RatingChanged.type_name, 1, {**recorded, "explanation": "红：近12个月违规吃喝 3 件"}
    )
    assert (chinese.explanation, chinese.recorded_explanation) == (
        "红：近12个月违规吃喝 3 件",
        None,
    )
