"""Inquiries: parties from the list valid at the time, findings, measures and their authority."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from libs.events.contracts import Event
from libs.events.contracts.accountability import InquiryTrigger, MeasureTookEffect
from services.accountability.domain.errors import Refused
from services.accountability.domain.inquiry import (
    CheckDuty,
    Command,
    ConcludeInquiry,
    Context,
    DecideMeasure,
    Inquiry,
    OpenInquiry,
    ProposeMeasure,
    RecordFinding,
    ReviewMeasure,
    decide,
    evolve,
)
from services.accountability.domain.rules import load_rules
from tests.unit.accountability.factories import UNIT, lst

RULES = load_rules()
CTX = Context(
    actor="operator:officer", now=datetime(2026, 9, 2, tzinfo=UTC), today=date(2026, 9, 2)
)
LISTS = [
    lst(1, date(2025, 1, 1), chief="陈局长", leader="林副局长"),
    lst(2, date(2026, 6, 1), chief="周局长", leader="黄副局长"),
]


def run(state: Inquiry, *commands: Command) -> tuple[Inquiry, list[Event]]:
    recorded: list[Event] = []
    for c in commands:
        for e in decide(state, c, CTX, RULES):
            state = evolve(state, e)
            recorded.append(e)
    return state, recorded


def opened(key_area: bool = True) -> Inquiry:
    lists = LISTS if key_area else [lst(1, date(2025, 1, 1), key_area=False)]
    state, _ = run(
        Inquiry(),
        OpenInquiry(
            inquiry_id=uuid4(),
            unit=UNIT,
            department="财务科",
            misconduct_date=date(2026, 3, 4),
            trigger=InquiryTrigger(kind="manual", reason="test"),
            lists=lists,
            direct_subject="某某",
        ),
    )
    return state


def test_the_inquiry_names_the_parties_of_the_list_valid_at_the_misconduct_date() -> None:
    state = opened()
    assert state.opened is not None
    assert {
        p.party_id: (p.name, p.responsibility, p.list_version) for p in state.opened.parties
    } == {
        "party_committee": (f"中共{UNIT}党组", "principal", 1),
        "first_responsible": ("陈局长", "principal", 1),
        "discipline_body": ("派驻第三纪检监察组", "supervisory", 1),
        "discipline_head": ("吴组长", "supervisory", 1),
        "department_leader": ("林副局长", "leadership", 1),
    }
    assert state.opened.duties["discipline_head"] == RULES.duties["supervisory"]


def test_the_commission_cannot_decide_an_organisational_adjustment_itself() -> None:
    mid = uuid4()
    state, _ = run(
        opened(),
        RecordFinding("department_leader", False, ("对财务科长期疏于管理",)),
        ProposeMeasure(mid, "department_leader", "dismissal"),
    )
    with pytest.raises(Refused) as refused:
        decide(state, DecideMeasure(mid, "commission", True), CTX, RULES)
    assert refused.value.kind == "conflict"
    assert refused.value.slug == "beyond-commission-authority"
    assert "免职" in refused.value.detail


def test_a_key_area_measure_takes_effect_only_after_all_three_offices_agree() -> None:
    mid = uuid4()
    state, events = run(
        opened(),
        RecordFinding("first_responsible", False, ("未履行第一责任人职责",)),
        ProposeMeasure(mid, "first_responsible", "admonition"),
        DecideMeasure(mid, "commission", True, "泰纪发〔2026〕12号"),
        ReviewMeasure(mid, "liaison_office", True),
        ReviewMeasure(mid, "trial_office", True),
    )
    assert not any(isinstance(e, MeasureTookEffect) for e in events)
    assert state.measures[mid].status == "decided"
    state, events = run(state, ReviewMeasure(mid, "conduct_office", True))
    assert [type(e).__name__ for e in events] == ["MeasureReviewed", "MeasureTookEffect"]
    assert state.measures[mid].status == "in_effect"


def test_outside_key_areas_the_commissions_own_measure_takes_effect_on_decision() -> None:
    mid = uuid4()
    state, _ = run(
        opened(key_area=False),
        RecordFinding("party_committee", False, ("警示教育流于形式",)),
        ProposeMeasure(mid, "party_committee", "circulation"),
        DecideMeasure(mid, "commission", True),
    )
    assert state.measures[mid].status == "in_effect"


def test_the_commission_decides_its_own_disciplinary_sanction() -> None:
    # 纪律处分条例: a 纪委 decides sanctions within its own authority (not 组织部门).
    mid = uuid4()
    state, _ = run(
        opened(key_area=False),
        RecordFinding("department_leader", False, ("对财务科长期疏于管理",)),
        ProposeMeasure(mid, "department_leader", "disciplinary_sanction"),
        DecideMeasure(mid, "commission", True),
    )
    assert state.measures[mid].status == "in_effect"


def test_a_refusing_review_office_stops_the_measure() -> None:
    mid = uuid4()
    state, _ = run(
        opened(),
        RecordFinding("discipline_head", False, ("未及时处置问题线索",)),
        ProposeMeasure(mid, "discipline_head", "circulation"),
        ReviewMeasure(mid, "trial_office", False, "事实不清"),
    )
    with pytest.raises(Refused, match="有部门不同意"):
        decide(state, DecideMeasure(mid, "commission", True), CTX, RULES)


def test_a_leaders_measure_on_an_organisation_is_refused() -> None:
    state, _ = run(opened(), RecordFinding("party_committee", False, ("x",)))
    with pytest.raises(Refused) as refused:
        decide(state, ProposeMeasure(uuid4(), "party_committee", "admonition"), CTX, RULES)
    assert refused.value.field == "measure"


def test_no_measure_without_a_finding_that_the_party_failed() -> None:
    state, _ = run(opened(), RecordFinding("party_committee", True))
    with pytest.raises(Refused, match="未履行责任"):
        decide(state, ProposeMeasure(uuid4(), "party_committee", "inspection"), CTX, RULES)


def test_a_failing_finding_needs_reasons_and_a_duty_must_be_on_the_checklist() -> None:
    with pytest.raises(Refused) as refused:
        decide(opened(), RecordFinding("party_committee", False, ("  ",)), CTX, RULES)
    assert refused.value.field == "reasons"
    with pytest.raises(Refused) as refused:
        decide(opened(), CheckDuty("discipline_head", "system_building", False), CTX, RULES)
    assert refused.value.field == "duty"


def test_an_inquiry_concludes_only_with_a_finding_for_every_party_then_stays_as_it_is() -> None:
    state = opened(key_area=False)
    with pytest.raises(Refused, match="每个当事方"):
        decide(state, ConcludeInquiry("done"), CTX, RULES)
    for party in state.opened.parties if state.opened else []:
        state, _ = run(state, RecordFinding(party.party_id, True))
    state, _ = run(state, ConcludeInquiry("履责到位"))
    with pytest.raises(Refused) as refused:
        decide(state, RecordFinding("party_committee", False, ("x",)), CTX, RULES)
    assert refused.value.kind == "conflict"


def test_a_manual_inquiry_needs_a_list_covering_the_date() -> None:
    with pytest.raises(Refused) as refused:
        decide(
            Inquiry(),
            OpenInquiry(
                inquiry_id=uuid4(),
                unit=UNIT,
                department=None,
                misconduct_date=date(2024, 1, 1),
                trigger=InquiryTrigger(kind="manual", reason="x"),
                lists=LISTS,
            ),
            CTX,
            RULES,
        )
    assert refused.value.field == "misconduct_date"
