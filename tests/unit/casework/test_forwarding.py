"""转办 in casework's pure domain: intake's jurisdiction events move a clue in or out of the
disposal queue, and only while it is still waiting there."""

from __future__ import annotations

from datetime import UTC, date, datetime

from libs.events.contracts.intake import (
    ClueForwarded,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
)
from services.casework.domain import Status, evolve, notice_deadlines
from services.casework.domain.forwarding import react_to_forwarding
from tests.unit.casework.factories import RULES, at, registered, step

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
