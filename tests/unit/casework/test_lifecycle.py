"""Clue disposal and the case lifecycle, decided purely."""

from __future__ import annotations

from datetime import date

import pytest

from libs.events.contracts.casework import (
    CaseClosed,
    CaseDecided,
    CaseDecisionRevised,
    CaseFiled,
    ClueDisposed,
    DeadlineApproaching,
    DeadlineOverdue,
    NameCleared,
)
from services.casework.domain import (
    IllegalTransition,
    Rejected,
    Status,
    allowed_commands,
    notice_deadlines,
    replay,
)
from tests.unit.casework.factories import (
    CHECKLIST,
    RULES,
    SUBJECT,
    at,
    issue,
    registered,
    served,
    step,
)


def test_registered_clue_waits_for_a_disposal_opinion_within_one_month() -> None:
    state, _ = registered(received=date(2026, 9, 1))
    assert state.status is Status.PENDING_DISPOSAL
    # 10-01 is National Day: the month ends on the first working day after the holiday.
    assert state.deadlines["clue_disposal"].due == date(2026, 10, 8)


def test_inquiry_reply_is_due_fifteen_working_days_after_the_letters_receipt() -> None:
    state, h = registered(received=date(2026, 9, 10))
    state, h = step(state, h, "dispose", date(2026, 9, 21), method="talk_or_inquiry")
    assert state.status is Status.TALK_OR_INQUIRY
    assert "clue_disposal" not in state.deadlines
    assert "inquiry_reply" not in state.deadlines  # not from the disposal decision
    state, h, letter = issue(state, h, "inquiry_notice", "dispose", date(2026, 9, 21))
    state, h = served(state, h, letter, date(2026, 9, 25), date(2026, 9, 24))
    # 15 working days from its receipt on 09-24, across National Day.
    assert state.deadlines["inquiry_reply"].due == date(2026, 10, 22)
    assert state.inquiry_served_on == date(2026, 9, 24)
    disposed = [e for e in h if isinstance(e, ClueDisposed)]
    assert disposed[0].outcome_for_source == "已采取谈话函询方式处置"
    assert disposed[0].decided_by == "user:officer"


def test_reply_evaluated_and_escalated_to_preliminary_verification_then_filed() -> None:
    state, h = registered()
    state, h = step(state, h, "dispose", date(2026, 9, 2), method="talk_or_inquiry")
    state, h = step(state, h, "record_reply", date(2026, 9, 10))
    state, h = step(state, h, "evaluate_reply", date(2026, 9, 11), outcome="escalate")
    assert state.status is Status.PRELIMINARY_VERIFICATION
    state, h = step(state, h, "conclude_verification", date(2026, 9, 20), outcome="propose_filing")
    state, h = step(
        state, h, "file_case", date(2026, 9, 21), case_number="AJ-2026-7", subject=SUBJECT
    )
    assert state.status is Status.FILED and state.case_number == "AJ-2026-7"
    assert isinstance(h[-1], CaseFiled) and h[-1].subject == SUBJECT


def _to_review(major: bool = False) -> tuple:
    state, h = registered(received=date(2026, 3, 2))
    state, h = step(state, h, "dispose", date(2026, 3, 3), method="preliminary_verification")
    state, h = step(state, h, "conclude_verification", date(2026, 3, 4), outcome="propose_filing")
    state, h = step(
        state,
        h,
        "file_case",
        date(2026, 3, 5),
        case_number="AJ-1",
        subject=SUBJECT,
        major=major,
        misconduct_date=date(2025, 12, 31),
    )
    assert state.deadlines["investigation"].due == date(2026, 6, 3)  # 90 days from 立案
    state, h = step(state, h, "start_investigation", date(2026, 3, 6))
    assert state.deadlines["investigation"].due == date(2026, 6, 3)
    state, h = step(state, h, "answer_checklist", date(2026, 3, 9), answers=CHECKLIST)
    state, h = step(state, h, "transfer_for_review", date(2026, 3, 10))
    return state, h


def _reviewed() -> tuple:
    """In 审理, with the 审理室's opinion recorded."""
    state, h = _to_review()
    opinion = {"form": 2, "measures": ["serious_warning"], "facts": "收受购物卡 2 万元"}
    return step(state, h, "review_opinion", date(2026, 3, 16), **opinion)


def test_a_decision_rests_on_the_review_opinion_recorded_before_it() -> None:
    state, h = _to_review()
    with pytest.raises(Rejected) as err:
        step(state, h, "decide", date(2026, 3, 20), form=2, measures=["serious_warning"])
    assert err.value.field == "review_opinion" and "审理意见" in err.value.reason

    state, h = _reviewed()

    assert state.status is Status.REVIEW and state.review_opinion is not None
    assert (state.review_opinion.form, state.review_opinion.facts) == (2, "收受购物卡 2 万元")
    assert "review" in state.deadlines and "decide" in allowed_commands(state)
    decided, _ = step(state, h, "decide", date(2026, 3, 20), form=2, measures=["warning"])
    assert decided.status is Status.DECIDED


def test_full_case_from_filing_to_closure_publishes_decision_and_closure() -> None:
    state, h = _reviewed()
    assert state.status is Status.REVIEW and "investigation" not in state.deadlines
    state, h = step(state, h, "decide", date(2026, 3, 20), form=2, measures=["serious_warning"])
    assert state.deadlines["decision_service"].due == date(2026, 4, 20)  # served within 1 month
    decided = next(e for e in h if isinstance(e, CaseDecided))
    assert (decided.form, decided.measures, decided.subject.department) == (
        2,
        ["serious_warning"],
        "财务科",
    )
    assert decided.misconduct_date == date(2025, 12, 31) and decided.categories
    state, h = step(state, h, "start_execution", date(2026, 3, 21))
    state, h = step(state, h, "complete_execution", date(2026, 4, 1))
    state, h = step(
        state, h, "record_visit", date(2026, 6, 1), visited_on=date(2026, 6, 1), rating="good"
    )
    state, h = step(state, h, "close_case", date(2026, 6, 2))
    assert state.status is Status.CLOSED and state.deadlines == {}
    assert isinstance(h[-1], CaseClosed)
    assert replay(h) == state


def test_illegal_transition_names_the_commands_allowed_now() -> None:
    state, h = registered()
    with pytest.raises(IllegalTransition) as err:
        step(state, h, "decide", date(2026, 9, 2), form=1, measures=["talk_reminder"])
    assert "dispose" in err.value.allowed and "decide" not in err.value.allowed


def test_dining_case_cannot_go_to_review_before_the_seven_questions_are_answered() -> None:
    state, h = registered(categories=["violation_dining"])
    state, h = step(state, h, "dispose", date(2026, 3, 3), method="preliminary_verification")
    state, h = step(state, h, "conclude_verification", date(2026, 3, 4), outcome="propose_filing")
    state, h = step(state, h, "file_case", date(2026, 3, 5), case_number="AJ-2", subject=SUBJECT)
    state, h = step(state, h, "start_investigation", date(2026, 3, 6))
    state, h = step(state, h, "answer_checklist", date(2026, 3, 7), answers={"who_paid": "单位"})
    with pytest.raises(Rejected) as err:
        step(state, h, "transfer_for_review", date(2026, 3, 10))
    assert err.value.field == "checklist" and "谁决定的" in err.value.reason
    assert "谁买的单" not in err.value.reason


def test_investigation_extends_once_and_review_only_for_major_cases() -> None:
    state, h = registered(categories=["official_vehicle_misuse"])
    state, h = step(state, h, "dispose", date(2026, 3, 3), method="preliminary_verification")
    state, h = step(state, h, "conclude_verification", date(2026, 3, 4), outcome="propose_filing")
    state, h = step(state, h, "file_case", date(2026, 3, 5), case_number="AJ-3", subject=SUBJECT)
    state, h = step(state, h, "start_investigation", date(2026, 3, 6))
    state, h = step(state, h, "extend_investigation", date(2026, 5, 1))
    assert state.deadlines["investigation"].due == date(2026, 9, 1)
    with pytest.raises(Rejected):
        step(state, h, "extend_investigation", date(2026, 8, 1))
    review, rh = _to_review(major=False)
    with pytest.raises(Rejected) as err:
        step(review, rh, "extend_review", date(2026, 3, 20))
    assert err.value.field == "major"
    major, mh = _to_review(major=True)
    major, mh = step(major, mh, "extend_review", date(2026, 3, 20))
    assert major.deadlines["review"].due > review.deadlines["review"].due


def test_appeals_recheck_only_after_reexamination_within_its_window() -> None:
    state, h = _reviewed()
    state, h = step(state, h, "decide", date(2026, 3, 20), form=4, measures=["expulsion"])
    assert state.prosecution
    with pytest.raises(Rejected):
        step(state, h, "appeal", date(2026, 3, 25), kind="recheck")
    state, h = step(state, h, "appeal", date(2026, 3, 25), kind="reexamination")
    state, h = step(
        state,
        h,
        "decide_appeal",
        date(2026, 4, 20),
        result="changed",
        form=3,
        measures=["probation_one_year"],
    )
    assert state.status is Status.EXECUTION and state.form == 3
    state, h, reexamined = issue(
        state, h, "reexamination_decision", "decide_appeal", date(2026, 4, 20)
    )
    state, h = served(state, h, reexamined, date(2026, 4, 23), date(2026, 4, 22))
    with pytest.raises(Rejected):
        step(state, h, "appeal", date(2026, 5, 25), kind="recheck")  # a month from service
    state, h = step(state, h, "appeal", date(2026, 5, 22), kind="recheck")
    assert state.appeals == ["reexamination", "recheck"]


def test_an_appeal_that_changes_the_decision_publishes_the_decision_in_force() -> None:
    state, h = _reviewed()
    state, h = step(state, h, "decide", date(2026, 3, 20), form=2, measures=["serious_warning"])
    state, h = step(state, h, "appeal", date(2026, 3, 25), kind="reexamination")
    state, h = step(state, h, "decide_appeal", date(2026, 4, 10), result="upheld")
    assert not any(isinstance(e, CaseDecisionRevised) for e in h)
    state, h = step(state, h, "appeal", date(2026, 4, 20), kind="recheck")
    state, h = step(
        state,
        h,
        "decide_appeal",
        date(2026, 5, 20),
        result="changed",
        form=1,
        measures=["talk_reminder"],
    )
    revised = [e for e in h if isinstance(e, CaseDecisionRevised)]
    assert len(revised) == 1
    r = revised[0]
    assert (r.appeal_kind, r.previous_form, r.previous_measures) == (
        "recheck",
        2,
        ["serious_warning"],
    )
    assert (r.form, r.measures, r.case_number) == (1, ["talk_reminder"], "AJ-1")
    assert r.subject == SUBJECT and r.misconduct_date == state.misconduct_date
    # The original decision is still in the history, unchanged.
    assert [e.form for e in h if isinstance(e, CaseDecided)] == [2]


def test_unfounded_report_ends_in_name_clearing_within_five_working_days() -> None:
    state, h = registered()
    state, h = step(state, h, "dispose", date(2026, 9, 28), method="talk_or_inquiry")
    state, h = step(state, h, "record_reply", date(2026, 9, 29))
    state, h = step(state, h, "evaluate_reply", date(2026, 9, 30), outcome="clear")
    # 10-08, 10-09, Saturday 10-10 (worked), 10-12, 10-13.
    assert state.deadlines["name_clearing"].due == date(2026, 10, 13)
    state, h = step(state, h, "clear_name", date(2026, 10, 12), false_accusation=True)
    assert state.status is Status.CLOSED and isinstance(h[-1], NameCleared)
    assert state.false_accusation  # 诬告 recorded


def test_hold_needs_a_review_date_that_comes_back() -> None:
    state, h = registered()
    with pytest.raises(Rejected) as err:
        step(state, h, "dispose", date(2026, 9, 2), method="hold")
    assert err.value.field == "review_on"
    state, h = step(
        state, h, "dispose", date(2026, 9, 2), method="hold", review_on=date(2026, 12, 1)
    )
    assert state.deadlines["hold_review"].due == date(2026, 12, 1)
    state, h = step(state, h, "resume", date(2026, 12, 1))
    assert state.status is Status.PENDING_DISPOSAL


def test_overdue_limit_is_noticed_once_and_escalated_to_the_supervisor() -> None:
    state, h = registered(received=date(2026, 9, 10))
    state, h = step(
        state, h, "assign", date(2026, 9, 10), department="一室", officer="li", supervisor="wang"
    )
    state, h = step(state, h, "dispose", date(2026, 9, 24), method="talk_or_inquiry")
    state, h, letter = issue(state, h, "inquiry_notice", "dispose", date(2026, 9, 24))
    state, h = served(state, h, letter, date(2026, 9, 24), date(2026, 9, 24))
    approaching = notice_deadlines(state, date(2026, 10, 19), RULES, at(date(2026, 10, 19)))
    assert [type(e) for e in approaching] == [DeadlineApproaching]
    state = replay(approaching, state)
    assert notice_deadlines(state, date(2026, 10, 22), RULES, at(date(2026, 10, 22))) == []
    overdue = notice_deadlines(state, date(2026, 10, 23), RULES, at(date(2026, 10, 23)))
    assert len(overdue) == 1 and isinstance(overdue[0], DeadlineOverdue)
    assert overdue[0].escalated_to == "wang" and overdue[0].item_kind == "inquiry_reply"
    state = replay(overdue, state)
    assert state.overdue
    assert notice_deadlines(state, date(2026, 11, 30), RULES, at(date(2026, 11, 30))) == []
