"""四种形态 and the measures catalogue in casework's decisions (rules named in the tests)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from libs.events.contracts import registry
from libs.events.contracts.casework import (
    CaseClosed,
    CaseDecided,
    CaseTransferredForProsecution,
    CaseTransitioned,
    ClueDisposed,
    FirstFormApplied,
)
from services.casework.documents import load_issuing
from services.casework.domain import Rejected, Status, allowed_commands, decide, replay
from services.casework.domain.rules import read_follow_up_forms
from tests.unit.casework.factories import RULES, at, command, issue, registered, served, step
from tests.unit.casework.test_lifecycle import _reviewed, _to_review


def test_a_form_one_decision_refuses_a_measure_of_another_form() -> None:
    state, h = _reviewed()
    with pytest.raises(Rejected) as err:
        step(state, h, "decide", date(2026, 3, 20), form=1, measures=["expulsion"])
    assert err.value.field == "measures" and err.value.kind == "invalid"
    assert "开除党籍" in err.value.reason and "第一种形态" in err.value.reason


def test_a_measure_outside_the_catalogue_is_refused() -> None:
    state, h = _to_review()
    with pytest.raises(Rejected) as err:
        step(state, h, "review_opinion", date(2026, 3, 16), form=2, measures=["罚款"], facts="x")
    assert err.value.field == "measures" and "罚款" in err.value.reason


def test_an_appeal_changing_the_decision_names_measures_of_its_new_form() -> None:
    state, h = _reviewed()
    state, h = step(state, h, "decide", date(2026, 3, 20), form=2, measures=["serious_warning"])
    state, h = step(state, h, "appeal", date(2026, 3, 25), kind="reexamination")
    with pytest.raises(Rejected) as err:
        step(
            state,
            h,
            "decide_appeal",
            date(2026, 4, 20),
            result="changed",
            form=1,
            measures=["warning"],
        )
    assert err.value.field == "measures"


def test_organisational_handling_in_a_decision_is_a_proposal_to_the_organisation_department() -> (
    None
):
    state, h = _reviewed()
    state, h = step(
        state,
        h,
        "decide",
        date(2026, 3, 20),
        form=2,
        measures=["serious_warning", "post_adjustment"],
    )
    decided = next(e for e in h if isinstance(e, CaseTransitioned) and e.command == "decide")
    assert decided.details["proposals"] == ["post_adjustment"]


def test_old_decisions_with_free_text_measures_are_upcast_to_codes_keeping_unknown_text() -> None:
    case_id = uuid4()
    at = datetime(2025, 5, 1, tzinfo=UTC)
    subject = {"name": "张三", "unit": "某区财政局"}
    old = {
        "case_id": str(case_id),
        "case_number": "AJ-0",
        "clue_ids": [str(case_id)],
        "subject": subject,
        "categories": ["violation_dining"],
        "form": 2,
        "measures": ["严重警告", "记过", "另行处理"],
        "misconduct_date": "2025-01-01",
        "decided_by": "user:x",
        "decided_at": at.isoformat(),
    }
    decided = registry.decode(CaseDecided.type_name, 2, old)
    assert isinstance(decided, CaseDecided)
    assert decided.measures == ["serious_warning", "demerit"]
    assert decided.legacy_measures == ["另行处理"]
    transition = registry.decode(
        CaseTransitioned.type_name,
        2,
        {
            "case_id": str(case_id),
            "command": "decide",
            "from_status": "review",
            "to_status": "decided",
            "at": at.isoformat(),
            "details": {
                "form": 1,
                "measures": ["talk", "口头警示"],
                "prosecution": False,
                "misconduct_date": "2025-01-01",
            },
        },
    )
    state = replay([transition])
    assert (state.measures, state.legacy_measures) == (["talk_reminder"], ["口头警示"])


def _replied() -> tuple:
    state, h = registered()
    state, h = step(state, h, "dispose", date(2026, 9, 2), method="talk_or_inquiry")
    return step(state, h, "record_reply", date(2026, 9, 10))


@pytest.mark.parametrize(
    "outcome", ["talk_reminder", "criticism_education", "ordered_examination", "admonition"]
)
def test_an_inquiry_reply_can_end_in_a_first_form_measure_that_is_counted(outcome: str) -> None:
    state, h = _replied()
    state, h = step(state, h, "evaluate_reply", date(2026, 9, 11), outcome=outcome)
    assert state.status is Status.CLOSED and (state.form, state.measures) == (1, [outcome])
    (applied,) = [e for e in h if isinstance(e, FirstFormApplied)]
    assert (applied.measures, applied.via, applied.clue_number) == (
        [outcome],
        "evaluate_reply",
        "XS-2026-000001",
    )
    assert applied.subject.unit == "某区财政局"
    disposed = [e for e in h if isinstance(e, ClueDisposed)][-1]
    assert disposed.outcome == outcome and disposed.outcome_for_source.startswith("已")


def test_a_second_inquiry_letter_is_sent_and_its_reply_waits_for_its_receipt() -> None:
    state, h = _replied()
    state, h = step(state, h, "evaluate_reply", date(2026, 9, 11), outcome="reinquiry")
    assert state.status is Status.TALK_OR_INQUIRY
    assert "reply_report" not in state.deadlines and "inquiry_reply" not in state.deadlines
    assert not any(isinstance(e, FirstFormApplied) for e in h)
    record = next(e for e in reversed(h) if isinstance(e, CaseTransitioned))
    assert load_issuing().kinds(record) == ["inquiry_notice"]  # 谈话函询通知书 again
    state, h, letter = issue(state, h, "inquiry_notice", "evaluate_reply", date(2026, 9, 11))
    state, h = served(state, h, letter, date(2026, 9, 14), date(2026, 9, 14))
    # 15 working days from receipt, across National Day (Saturday 10-10 is worked).
    assert state.deadlines["inquiry_reply"].due == date(2026, 10, 10)


def test_a_talk_reminder_after_verification_records_a_first_form() -> None:
    state, h = registered()
    state, h = step(state, h, "dispose", date(2026, 9, 2), method="preliminary_verification")
    state, h = step(state, h, "conclude_verification", date(2026, 9, 20), outcome="talk_reminder")
    assert state.status is Status.CLOSED
    assert [e.via for e in h if isinstance(e, FirstFormApplied)] == ["conclude_verification"]


def _decided(form: int, measures: list[str]) -> tuple:
    state, h = _to_review()
    opinion = {"form": form, "measures": measures, "facts": "收受购物卡 20 万元"}
    state, h = step(state, h, "review_opinion", date(2026, 3, 16), **opinion)
    return step(state, h, "decide", date(2026, 3, 20), form=form, measures=measures)


def test_form_four_is_transferred_to_the_procuratorate_and_ends_without_a_visit() -> None:
    state, h = _decided(4, ["expulsion", "dismissal"])
    state, h = step(state, h, "start_execution", date(2026, 3, 23))
    with pytest.raises(Rejected) as err:
        step(state, h, "complete_execution", date(2026, 3, 25))
    assert err.value.field == "form" and "检察机关" in err.value.reason
    state, h = step(
        state,
        h,
        "transfer_for_prosecution",
        date(2026, 3, 26),
        procuratorate="青山区人民检察院",
        transferred_on=date(2026, 3, 26),
    )
    assert state.status is Status.PROSECUTED and state.status.terminal
    assert state.deadlines == {} and allowed_commands(state) == []
    (sent,) = [e for e in h if isinstance(e, CaseTransferredForProsecution)]
    assert (sent.procuratorate, sent.transferred_on) == ("青山区人民检察院", date(2026, 3, 26))
    assert isinstance(h[-1], CaseClosed) and h[-1].outcome == "prosecuted"
    assert replay(h) == state


def test_only_form_four_cases_are_transferred_for_prosecution() -> None:
    state, h = _decided(3, ["probation_one_year", "removal"])
    with pytest.raises(Rejected) as err:
        step(
            state,
            h,
            "transfer_for_prosecution",
            date(2026, 3, 26),
            procuratorate="青山区人民检察院",
            transferred_on=date(2026, 3, 26),
        )
    assert err.value.field == "form"


def test_follow_up_visits_before_closing_only_for_the_forms_the_policy_names() -> None:
    state, h = _decided(1, ["criticism_education"])
    state, h = step(state, h, "start_execution", date(2026, 3, 23))
    state, h = step(state, h, "complete_execution", date(2026, 4, 1))
    assert state.status is Status.CLOSED and not state.visits  # form 1: no 回访教育
    assert isinstance(h[-1], CaseClosed)

    state, h = _decided(2, ["warning"])
    state, h = step(state, h, "start_execution", date(2026, 3, 23))
    state, h = step(state, h, "complete_execution", date(2026, 4, 1))
    assert state.status is Status.FOLLOW_UP
    with pytest.raises(Rejected) as err:
        step(state, h, "close_case", date(2026, 4, 2))
    assert "回访教育" in err.value.reason


def test_the_follow_up_policy_is_data() -> None:
    only_three = replace(RULES, follow_up_forms=frozenset({3}))
    state, _ = _decided(2, ["warning"])
    for name, day in (
        ("start_execution", date(2026, 3, 23)),
        ("complete_execution", date(2026, 4, 1)),
    ):
        events = decide(state, command(name), at(day), only_three, actor="user:officer")
        state = replay(events, state)
    assert state.status is Status.CLOSED
    assert read_follow_up_forms() == frozenset({2, 3})


def test_an_old_talk_reminder_after_verification_reads_as_a_first_form() -> None:
    case_id = uuid4()
    at_ = datetime(2025, 5, 1, tzinfo=UTC)
    old = registry.decode(
        CaseTransitioned.type_name,
        2,
        {
            "case_id": str(case_id),
            "command": "conclude_verification",
            "from_status": "preliminary_verification",
            "to_status": "closed",
            "at": at_.isoformat(),
            "details": {"outcome": "talk_reminder"},
        },
    )
    state = replay([old])
    assert (state.status, state.form, state.measures) == (Status.CLOSED, 1, ["talk_reminder"])


def test_a_follow_up_policy_naming_form_four_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "follow_up.json"
    policy.write_text(json.dumps({"version": "local", "forms": [2, 3, 4]}), encoding="utf-8")
    with pytest.raises(ValueError, match="第四种形态"):
        read_follow_up_forms(policy)
