"""四种形态 and the measures catalogue in casework's decisions (rules named in the tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from libs.events.contracts import registry
from libs.events.contracts.casework import CaseDecided, CaseTransitioned
from services.casework.domain import Rejected, replay
from tests.unit.casework.factories import step
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
