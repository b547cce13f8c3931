"""Which decisions open an inquiry (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from libs.events.contracts import Event
from services.accountability.domain.rules import load_rules
from services.accountability.domain.triggers import decision_triggers, note_decision
from tests.unit.accountability.factories import case_decided

RULES = load_rules().triggers
N = RULES.recurrence.cases


def decide_series(count: int) -> tuple[list[Event], list[str]]:
    """``count`` form-1 dining cases in one unit, a month apart; the kinds of trigger fired."""
    history: list[Event] = []
    kinds: list[str] = []
    start = datetime(2026, 1, 10, tzinfo=UTC)
    for i in range(count):
        noted = note_decision(
            case_decided(
                form=1, categories=["violation_dining"], decided_at=start + timedelta(days=30 * i)
            )
        )
        detected, triggers = decision_triggers(noted, history, RULES)
        history += [noted, *detected]
        kinds += [t.kind for t in triggers]
    return history, kinds


def test_recurrence_opens_an_inquiry_at_exactly_n_cases_and_not_at_n_minus_1() -> None:
    assert decide_series(N - 1)[1] == []
    assert decide_series(N)[1] == ["recurrence"]


def test_recurrence_is_not_repeated_within_its_window() -> None:
    assert decide_series(N + 2)[1] == ["recurrence"]


def test_cases_outside_the_window_do_not_count_towards_recurrence() -> None:
    history: list[Event] = []
    fired = []
    for i in range(N):
        at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=(RULES.recurrence.window_days) * i)
        noted = note_decision(case_decided(form=1, categories=["violation_dining"], decided_at=at))
        detected, triggers = decision_triggers(noted, history, RULES)
        history += [noted, *detected]
        fired += triggers
    assert fired == []


def test_form_2_or_above_and_major_cases_open_an_inquiry_form_1_does_not() -> None:
    def kinds(**kw: object) -> list[str]:
        return [t.kind for t in decision_triggers(note_decision(case_decided(**kw)), [], RULES)[1]]

    assert kinds(form=RULES.min_form) == ["case_form"]
    assert kinds(form=3) == ["case_form"]
    assert kinds(form=1) == []
    assert kinds(form=1, major=True) == ["major_case"]


def test_the_recurrence_threshold_is_data_not_code() -> None:
    two = RULES.model_copy(update={"recurrence": RULES.recurrence.model_copy(update={"cases": 2})})
    history: list[Event] = []
    fired = []
    for i in range(2):
        at = datetime(2026, 1, 10, tzinfo=UTC) + timedelta(days=30 * i)
        noted = note_decision(case_decided(form=1, categories=["violation_gifts"], decided_at=at))
        detected, triggers = decision_triggers(noted, history, two)
        history += [noted, *detected]
        fired.append([t.kind for t in triggers])
    assert fired == [[], ["recurrence"]]
