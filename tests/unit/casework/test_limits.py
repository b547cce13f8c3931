"""时限 that were missing: 初步核实, the investigation from 立案 by kind of case, and the
result owed to a real-name reporter after closing."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from libs.events.contracts.casework import DeadlineApproaching, DeadlineOverdue
from services.casework.domain import (
    Rejected,
    Status,
    allowed_commands,
    decide,
    load_rules,
    note_reporter,
    notice_deadlines,
    replay,
)
from services.casework.domain.rules import DATA, read_limits
from services.casework.projections import next_notice
from tests.unit.casework.factories import RULES, SUBJECT, at, command, registered, step


def _verifying(day: date = date(2026, 3, 2)) -> tuple:
    state, h = registered(received=day)
    return step(state, h, "dispose", day, method="preliminary_verification")


def test_preliminary_verification_is_due_in_two_months_and_extends_once_by_one() -> None:
    state, h = _verifying(date(2026, 3, 2))
    assert state.deadlines["preliminary_verification"].due == date(2026, 5, 6)  # after 劳动节
    state, h = step(state, h, "extend_verification", date(2026, 4, 30))
    assert state.deadlines["preliminary_verification"].due == date(2026, 6, 8)  # 06-06 is Sat
    with pytest.raises(Rejected) as err:
        step(state, h, "extend_verification", date(2026, 6, 1))
    assert "只能延长 1 次" in err.value.reason
    state, h = step(state, h, "conclude_verification", date(2026, 6, 2), outcome="propose_filing")
    assert "preliminary_verification" not in state.deadlines


def test_preliminary_verification_escalated_from_an_inquiry_has_its_limit_too() -> None:
    state, h = registered(received=date(2026, 9, 1))
    state, h = step(state, h, "dispose", date(2026, 9, 2), method="talk_or_inquiry")
    state, h = step(state, h, "record_reply", date(2026, 9, 10))
    state, h = step(state, h, "evaluate_reply", date(2026, 9, 11), outcome="escalate")
    assert state.deadlines["preliminary_verification"].due == date(2026, 11, 11)


def test_local_rule_of_fifteen_working_days_for_preliminary_verification_is_selectable() -> None:
    local = load_rules(limits_variant="verification_15_working_days")
    assert local.limits.version.endswith("+verification_15_working_days")
    clue, _ = registered(received=date(2026, 9, 21))
    verify = command("dispose", method="preliminary_verification")
    verifying = replay(decide(clue, verify, at(date(2026, 9, 21)), local), clue)
    # 15 working days across National Day (10-01..10-07 off; Sunday 09-27 worked).
    assert verifying.deadlines["preliminary_verification"].due == date(2026, 10, 19)
    with pytest.raises(Rejected) as err:
        decide(verifying, command("extend_verification"), at(date(2026, 10, 9)), local)
    assert err.value.reason == "初步核实期限不能延长"
    shipped = replay(decide(clue, verify, at(date(2026, 9, 21)), RULES), clue)
    assert shipped.deadlines["preliminary_verification"].due == date(2026, 11, 23)


def test_an_unknown_local_variant_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="没有地方规则"):
        read_limits(DATA / "limits.json", "verification_a_week")


def _filed(day: date, **kw: object) -> tuple:
    state, h = _verifying(day)
    state, h = step(state, h, "conclude_verification", day, outcome="propose_filing")
    return step(state, h, "file_case", day, case_number="AJ-8", subject=SUBJECT, **kw)


def test_filing_starts_the_investigation_clock_before_the_investigation_starts() -> None:
    state, h = _filed(date(2026, 3, 5))
    assert state.status is Status.FILED
    assert state.deadlines["investigation"].due == date(2026, 6, 3)  # 90 days from 立案
    overdue = notice_deadlines(state, date(2026, 6, 4), RULES, at(date(2026, 6, 4)))
    assert [(type(e), e.item_kind) for e in overdue] == [(DeadlineOverdue, "investigation")]
    state, h = step(state, h, "start_investigation", date(2026, 3, 20))
    assert state.deadlines["investigation"].due == date(2026, 6, 3)  # not restarted


def test_supervisory_investigation_runs_one_year_and_extends_once_by_six_months() -> None:
    state, h = _filed(date(2026, 3, 5), investigation_kind="supervisory_investigation")
    assert state.investigation_kind == "supervisory_investigation"
    assert state.deadlines["investigation"].due == date(2027, 3, 5)
    state, h = step(state, h, "start_investigation", date(2026, 3, 6))
    state, h = step(state, h, "extend_investigation", date(2027, 2, 1))
    assert state.deadlines["investigation"].due == date(2027, 9, 6)  # 09-05 is a Sunday
    with pytest.raises(Rejected) as err:
        step(state, h, "extend_investigation", date(2027, 8, 1))
    assert "监察调查期限只能延长 1 次" in err.value.reason


def test_discipline_review_keeps_ninety_days_plus_ninety() -> None:
    state, h = _filed(date(2026, 3, 5), investigation_kind="discipline_review")
    state, h = step(state, h, "start_investigation", date(2026, 3, 6))
    state, h = step(state, h, "extend_investigation", date(2026, 5, 1))
    assert state.deadlines["investigation"].due == date(2026, 9, 1)


def test_a_kind_of_case_not_in_the_limits_is_refused_naming_the_kinds() -> None:
    with pytest.raises(Rejected) as err:
        _filed(date(2026, 3, 5), investigation_kind="criminal")
    assert err.value.field == "investigation_kind"
    assert "纪律审查（discipline_review）" in err.value.reason
    assert "监察调查（supervisory_investigation）" in err.value.reason


def _real_name(day: date = date(2026, 9, 1)) -> tuple:
    state, h = registered(received=day)
    noted = note_reporter(state, state.case_id, at(day), RULES)
    assert noted and noted[0].details == {"real_name": True, "report_id": str(state.case_id)}
    assert "张" not in noted[0].model_dump_json()  # no name travels with the note
    return replay(noted, state), [*h, *noted]


def test_real_name_reporter_is_owed_the_result_within_fifteen_working_days_of_closing() -> None:
    state, h = _real_name()
    assert state.real_name_reporter and "record_feedback" not in allowed_commands(state)
    state, h = step(state, h, "dispose", date(2026, 9, 21), method="close")
    assert state.status is Status.CLOSED
    # 15 working days from closing on 09-21, across National Day.
    assert set(state.deadlines) == {"reporter_feedback"}
    assert state.deadlines["reporter_feedback"].due == date(2026, 10, 19)
    assert "record_feedback" in allowed_commands(state)


def test_overdue_reporter_feedback_is_noticed_once_though_the_matter_is_closed() -> None:
    state, h = _real_name()
    state, h = step(
        state, h, "assign", date(2026, 9, 2), department="一室", officer="li", supervisor="wang"
    )
    state, h = step(state, h, "dispose", date(2026, 9, 21), method="close")
    assert next_notice(state, RULES) == date(2026, 10, 13)
    soon = notice_deadlines(state, date(2026, 10, 14), RULES, at(date(2026, 10, 14)))
    assert [type(e) for e in soon] == [DeadlineApproaching] and soon[0].notified == "li"
    state = replay(soon, state)
    late = notice_deadlines(state, date(2026, 10, 20), RULES, at(date(2026, 10, 20)))
    assert [(type(e), e.item_kind) for e in late] == [(DeadlineOverdue, "reporter_feedback")]
    assert late[0].escalated_to == "wang"
    state = replay(late, state)
    assert notice_deadlines(state, date(2026, 12, 1), RULES, at(date(2026, 12, 1))) == []
    assert next_notice(state, RULES) is None


def test_feedback_to_the_reporter_is_recorded_once_and_ends_the_limit() -> None:
    state, h = _real_name()
    state, h = step(state, h, "dispose", date(2026, 9, 21), method="close")
    with pytest.raises(Rejected) as future:
        step(
            state,
            h,
            "record_feedback",
            date(2026, 9, 25),
            fed_back_on=date(2026, 9, 26),
            manner="phone",
        )
    assert future.value.field == "fed_back_on"
    state, h = step(
        state,
        h,
        "record_feedback",
        date(2026, 9, 25),
        fed_back_on=date(2026, 9, 24),
        manner="written",
    )
    assert state.status is Status.CLOSED and state.deadlines == {}
    assert state.reporter_feedback_on == date(2026, 9, 24)
    assert "record_feedback" not in allowed_commands(state)
    with pytest.raises(Rejected) as twice:
        step(
            state,
            h,
            "record_feedback",
            date(2026, 9, 28),
            fed_back_on=date(2026, 9, 28),
            manner="phone",
        )
    assert "已于2026-09-24" in twice.value.reason
    assert replay(h) == state


def test_without_a_real_name_reporter_no_feedback_is_owed() -> None:
    state, h = registered(received=date(2026, 9, 1))
    state, h = step(state, h, "dispose", date(2026, 9, 21), method="close")
    assert state.deadlines == {} and "record_feedback" not in allowed_commands(state)
    with pytest.raises(Rejected) as err:
        step(
            state,
            h,
            "record_feedback",
            date(2026, 9, 25),
            fed_back_on=date(2026, 9, 24),
            manner="phone",
        )
    assert "没有实名举报人" in err.value.reason


def test_a_reporter_noted_after_closing_is_owed_the_result_from_then() -> None:
    state, h = registered(received=date(2026, 9, 1))
    state, h = step(state, h, "dispose", date(2026, 9, 21), method="close")
    noted = note_reporter(state, state.case_id, at(date(2026, 9, 22)), RULES)
    state = replay(noted, state)
    assert state.deadlines["reporter_feedback"].due == date(2026, 10, 20)
    assert note_reporter(state, uuid4(), at(date(2026, 9, 23)), RULES) == []
