"""文书 on a matter: which decisions issue which documents, and 送达 starting the clocks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest

from libs.events.contracts.casework import CaseTransitioned
from libs.events.contracts.documents import DocumentServed
from libs.kit.documents import fields_of
from libs.kit.refusal import Refused
from services.casework.documents import Documents, fields, load_issuing
from services.casework.domain import Rejected, Status, evolve
from services.casework.domain.rules import DATA
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

ISSUING = load_issuing()
CLOCKS = ISSUING.starts_clock


def _transition(command: str, **details: object) -> CaseTransitioned:
    return CaseTransitioned(
        case_id=uuid4(),
        command=command,
        from_status="x",
        to_status="y",
        details=details,
        at=at(date(2026, 3, 1)),
    )


def test_each_decision_names_the_documents_it_issues() -> None:
    assert ISSUING.kinds(_transition("dispose", method="talk_or_inquiry")) == ["inquiry_notice"]
    assert ISSUING.kinds(_transition("dispose", method="preliminary_verification")) == []
    assert ISSUING.kinds(_transition("file_case")) == ["filing_decision"]
    assert ISSUING.kinds(_transition("review_opinion", measures=["talk"])) == ["review_report"]
    assert ISSUING.kinds(_transition("decide", measures=["serious_warning"])) == [
        "party_sanction_decision",
    ]
    assert ISSUING.kinds(_transition("decide", measures=["warning", "demerit"])) == [
        "party_sanction_decision",
        "administrative_sanction_decision",
    ]
    assert ISSUING.kinds(_transition("decide", measures=["talk"])) == []
    assert ISSUING.kinds(_transition("record_reply")) == []


def test_measures_read_as_the_decision_names_them() -> None:
    assert ISSUING.measure_labels(["warning", "demerit"], "party") == "警告"
    assert ISSUING.measure_labels(["warning", "demerit"]) == "警告、记过"


def _decided(on: date) -> tuple:
    state, h = registered(received=date(2026, 2, 2), categories=["violation_gifts"])
    for name, day, given in (
        ("dispose", date(2026, 2, 3), {"method": "preliminary_verification"}),
        ("conclude_verification", date(2026, 2, 4), {"outcome": "propose_filing"}),
        ("file_case", date(2026, 2, 5), {"case_number": "AJ-9", "subject": SUBJECT}),
        ("start_investigation", date(2026, 2, 6), {}),
        ("answer_checklist", date(2026, 2, 7), {"answers": CHECKLIST}),
        ("transfer_for_review", date(2026, 2, 9), {}),
        (
            "review_opinion",
            date(2026, 2, 16),
            {
                "form": 2,
                "measures": ["warning"],
                "facts": "收受礼金",
                "misconduct_date": date(2025, 12, 1),
            },
        ),
    ):
        state, h = step(state, h, name, day, **given)
    state, h = step(
        state, h, "decide", on, form=2, measures=["warning"], misconduct_date=date(2025, 12, 1)
    )
    state, h, issued = issue(state, h, "party_sanction_decision", "decide", on)
    return state, h, issued


def _serve(state, h, issued, day: date, served_on: date) -> tuple:
    return served(state, h, issued, day, served_on)


def test_serving_the_decision_clears_its_limit_and_records_date_and_manner() -> None:
    state, h, issued = _decided(date(2026, 3, 2))
    assert "decision_service" in state.deadlines
    state, h = _serve(state, h, issued, date(2026, 3, 20), date(2026, 3, 18))
    assert "decision_service" not in state.deadlines
    assert state.decision_served_on == date(2026, 3, 18)
    served = state.document(issued.document_id)
    assert served is not None and (served.served_on, served.manner) == (date(2026, 3, 18), "post")
    assert isinstance(h[-1], DocumentServed)


def test_reexamination_window_counts_from_service_not_from_the_decision() -> None:
    state, h, issued = _decided(date(2026, 3, 2))
    late, lh = _serve(state, h, issued, date(2026, 3, 31), date(2026, 3, 30))
    late, lh = step(late, lh, "appeal", date(2026, 4, 20), kind="reexamination")
    assert late.appeals == ["reexamination"]  # a month from the decision date has passed
    early, eh = _serve(state, h, issued, date(2026, 3, 3), date(2026, 3, 3))
    with pytest.raises(Rejected) as err:  # a month from its service has passed
        step(early, eh, "appeal", date(2026, 4, 20), kind="reexamination")
    assert "2026-03-03送达" in err.value.reason


def test_reexamination_window_has_not_begun_before_the_decision_is_served() -> None:
    state, h, _ = _decided(date(2026, 3, 2))
    state, h = step(state, h, "appeal", date(2026, 6, 20), kind="reexamination")
    assert state.status is Status.APPEAL


def test_a_document_is_served_once_not_before_its_issue_nor_in_the_future() -> None:
    state, h, issued = _decided(date(2026, 3, 2))
    with pytest.raises(Refused) as future:
        _serve(state, h, issued, date(2026, 3, 5), date(2026, 3, 6))
    with pytest.raises(Refused) as early:
        _serve(state, h, issued, date(2026, 3, 5), date(2026, 3, 1))
    state, h = _serve(state, h, issued, date(2026, 3, 5), date(2026, 3, 5))
    with pytest.raises(Refused) as twice:
        _serve(state, h, issued, date(2026, 3, 6), date(2026, 3, 6))
    assert (future.value.field, early.value.field) == ("served_on", "served_on")
    assert twice.value.kind == "conflict" and "已于2026-03-05送达" in twice.value.detail


def test_every_template_asks_only_for_fields_a_matter_provides() -> None:
    docs = Documents.load(Path("unused"))
    state, _ = registered()
    provided = fields(docs, RULES, state, _transition("decide"), ["某"])
    for template in docs.templates.kinds.values():
        assert fields_of(template) <= set(provided), template.kind
    assert set(docs.templates.kinds) >= {
        k for r in ISSUING.commands.values() for k in (x.kind for x in r)
    }


def test_a_reexamination_decision_issues_the_document_whose_service_opens_the_recheck() -> None:
    upheld = _transition("decide_appeal", result="upheld", appeal_kind="reexamination")
    assert ISSUING.kinds(upheld) == ["reexamination_decision"]
    assert ISSUING.kinds(_transition("decide_appeal", result="upheld", appeal_kind="recheck")) == []
    assert CLOCKS["reexamination_decision"] == "recheck"
    assert CLOCKS["inquiry_notice"] == "inquiry_reply"
    docs = Documents.load(Path("unused"))
    state, _ = registered()
    filled = fields(docs, RULES, state, upheld, ["某"])
    assert (filled["appeal_result"], filled["recheck_limit"]) == ("维持原处分决定", "1个月")


def test_a_serve_step_recorded_before_clocks_were_named_still_starts_the_decision_clock(
    tmp_path: Path,
) -> None:
    state, _, issued = _decided(date(2026, 3, 2))
    old = CaseTransitioned(  # as stored before ``clock``: only ``starts_clock: true``
        case_id=state.case_id,
        command="serve",
        from_status="decided",
        to_status="decided",
        reason="邮寄送达",
        details={
            "document_id": str(issued.document_id),
            "kind": issued.kind,
            "served_on": "2026-03-10",
            "manner": "post",
            "starts_clock": True,
        },
        at=at(date(2026, 3, 10)),
    )
    assert evolve(state, old).decision_served_on == date(2026, 3, 10)
    # An issuing file of the first shape (a list of kinds) meant the decisions' clock.
    doc = json.loads((DATA / "documents.json").read_text(encoding="utf-8"))
    doc["service_starts_clock"] = ["party_sanction_decision"]
    (tmp_path / "documents.json").write_text(json.dumps(doc), encoding="utf-8")
    clocks = load_issuing(tmp_path / "documents.json").starts_clock
    assert dict(clocks) == {"party_sanction_decision": "decision"}
