"""转办 in casework's pure domain: intake's jurisdiction events move a clue in or out of the
disposal queue, and only while it is still waiting there."""

from __future__ import annotations

from datetime import UTC, date, datetime

from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionDesignated,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
    ClueTakenUp,
)
from services.casework.domain import Status, evolve, notice_deadlines
from services.casework.domain.forwarding import react_to_forwarding
from tests.unit.casework.factories import RULES, SUBJECT, at, registered, step

NOW = datetime(2026, 9, 2, 3, tzinfo=UTC)


def _mark(clue_id):  # type: ignore[no-untyped-def]
    return ClueMarkedForForwarding(
        clue_id=clue_id,
        clue_number="XS-2026-000001",
        authority=None,
        reason="不属本委管辖",
        forward_by=date(2026, 9, 8),
        marked_by="operator:clerk-1",
        marked_at=NOW,
    )


def _forwarded(clue_id):  # type: ignore[no-untyped-def]
    return ClueForwarded(
        clue_id=clue_id,
        clue_number="XS-2026-000001",
        authority="邻县纪委监委",
        method="in_person",
        in_time=True,
        forwarded_by="operator:clerk-1",
        forwarded_at=NOW,
    )


def test_a_mark_without_a_named_body_still_clears_the_disposal_limit() -> None:
    state, _ = registered()

    (moved,) = react_to_forwarding(state, _mark(state.case_id), NOW, RULES)
    after = evolve(state, moved)

    assert after.status is Status.AWAITING_FORWARDING
    assert after.deadlines == {}
    assert "有管辖权的机关" in moved.reason  # type: ignore[attr-defined]
    assert notice_deadlines(after, date(2027, 1, 1), RULES, NOW) == []


def test_a_clue_forwarded_straight_from_the_queue_is_closed_as_forwarded() -> None:
    state, _ = registered()

    (moved,) = react_to_forwarding(state, _forwarded(state.case_id), NOW, RULES)
    after = evolve(state, moved)

    assert (after.status, after.status.label, after.status.terminal) == (
        Status.FORWARDED,
        "已转办",
        True,
    )


def test_keeping_a_clue_that_never_left_the_queue_changes_nothing() -> None:
    state, _ = registered()
    kept = ClueKeptInJurisdiction(
        clue_id=state.case_id,  # type: ignore[arg-type]
        clue_number="XS-2026-000001",
        reason="县管干部",
        decided_by="operator:clerk-1",
        decided_at=NOW,
    )

    assert react_to_forwarding(state, kept, NOW, RULES) == []


def test_a_disposed_clue_is_not_pulled_back_by_a_late_forwarding() -> None:
    state, history = registered()
    state, _ = step(state, history, "dispose", date(2026, 9, 3), method="preliminary_verification")

    assert react_to_forwarding(state, _forwarded(state.case_id), at(date(2026, 9, 4)), RULES) == []


def _taken_up(clue_id):  # type: ignore[no-untyped-def]
    return ClueTakenUp(
        clue_id=clue_id,
        clue_number="XS-2026-000001",
        authority="市纪委监委",
        decision_number="市纪提〔2026〕2号",
        reason="涉及市管干部",
        recorded_by="operator:clerk-1",
        recorded_at=NOW,
    )


def test_taking_up_by_a_higher_commission_closes_the_matter_at_any_stage() -> None:
    state, history = registered()
    state, _ = step(state, history, "dispose", date(2026, 9, 3), method="preliminary_verification")

    (moved,) = react_to_forwarding(state, _taken_up(state.case_id), at(date(2026, 9, 4)), RULES)
    after = evolve(state, moved)

    assert after.status is Status.FORWARDED
    assert after.deadlines == {}
    assert moved.reason == "市纪委监委提级办理（市纪提〔2026〕2号）：涉及市管干部"  # type: ignore[attr-defined]


def test_designation_here_brings_a_clue_awaiting_forwarding_back_to_disposal() -> None:
    state, _ = registered()
    (marked,) = react_to_forwarding(state, _mark(state.case_id), NOW, RULES)
    waiting = evolve(state, marked)
    here = ClueJurisdictionDesignated(
        clue_id=state.case_id,  # type: ignore[arg-type]
        clue_number="XS-2026-000001",
        designated_by="市纪委监委",
        designated_to="本委",
        here=True,
        decision_number="市纪指〔2026〕1号",
        reason="属地管理",
        recorded_by="operator:clerk-1",
        recorded_at=NOW,
    )

    (back,) = react_to_forwarding(waiting, here, NOW, RULES)

    assert evolve(waiting, back).status is Status.PENDING_DISPOSAL
    assert "clue_disposal" in evolve(waiting, back).deadlines


def test_a_filed_case_taken_up_is_closed_here_with_where_it_went() -> None:
    from libs.events.contracts.casework import CaseClosed

    state, history = registered()
    day = date(2026, 9, 3)
    state, history = step(state, history, "dispose", day, method="preliminary_verification")
    state, history = step(state, history, "conclude_verification", day, outcome="propose_filing")
    state, history = step(
        state, history, "file_case", day, case_number="AJ-1", subject=SUBJECT, misconduct_date=day
    )

    moved, closed = react_to_forwarding(state, _taken_up(state.case_id), at(day), RULES)

    assert evolve(state, moved).status is Status.FORWARDED
    assert isinstance(closed, CaseClosed)
    assert (closed.outcome, closed.outcome_for_source) == ("taken_up", "已由市纪委监委提级办理")
