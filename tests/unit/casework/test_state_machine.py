"""Random command sequences never reach an illegal state; replay equals the live state."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from libs.events.contracts import Event, registry
from libs.events.contracts.casework import (
    CaseClosed,
    CaseTransferredForProsecution,
    CaseTransitioned,
    FirstFormApplied,
)
from libs.events.contracts.intake import ClueJurisdictionDesignated, ClueTakenUp
from services.casework.domain import (
    ALLOWED_FROM,
    COMMANDS,
    CaseState,
    IllegalTransition,
    Rejected,
    Status,
    allowed_commands,
    decide,
    evolve,
    note_reporter,
    notice_deadlines,
    replay,
)
from services.casework.domain.commands import FIRST_FORM_OUTCOMES
from services.casework.domain.decide import OPEN
from services.casework.domain.forwarding import react_to_forwarding
from services.casework.domain.state import AFTER_CLOSING
from tests.unit.casework.factories import (
    CHECKLIST,
    RULES,
    SUBJECT,
    at,
    issue,
    registered,
    served,
)

DAY = date(2026, 1, 5)

FIRST_FORM = sorted(FIRST_FORM_OUTCOMES)

FORMS = [
    (1, ["talk_reminder"]),
    (2, ["warning"]),
    (2, ["serious_warning", "demerit"]),
    (3, ["probation_one_year", "removal"]),
    (4, ["expulsion", "dismissal"]),
    (1, ["expulsion"]),  # refused: not a measure of 形态一
]
"""(form, measures) a decision may name: mostly as the catalogue allows, one that it refuses."""

ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "assign": st.fixed_dictionaries(
        {
            "department": st.just("一室"),
            "officer": st.sampled_from(["li", "zhao"]),
            "supervisor": st.just("wang"),
        }
    ),
    "dispose": st.fixed_dictionaries(
        {
            "method": st.sampled_from(
                ["preliminary_verification", "talk_or_inquiry", "hold", "close"]
            ),
            "review_on": st.sampled_from([None, date(2027, 6, 1)]),
        }
    ),
    "evaluate_reply": st.fixed_dictionaries(
        {"outcome": st.sampled_from(["escalate", "close", "clear", "reinquiry", *FIRST_FORM])}
    ),
    "conclude_verification": st.fixed_dictionaries(
        {
            "outcome": st.sampled_from(
                ["propose_filing", "close", "hold", "transfer", *FIRST_FORM]
            ),
            "review_on": st.sampled_from([None, date(2027, 6, 1)]),
            "transfer_to": st.sampled_from([None, "公安机关"]),
        }
    ),
    "file_case": st.fixed_dictionaries(
        {
            "case_number": st.just("AJ-1"),
            "subject": st.just(SUBJECT),
            "major": st.booleans(),
            "misconduct_date": st.just(date(2025, 6, 1)),
            "investigation_kind": st.sampled_from(
                ["discipline_review", "supervisory_investigation"]
            ),
        }
    ),
    "record_feedback": st.fixed_dictionaries(
        {
            "fed_back_on": st.sampled_from([DAY, date(2031, 1, 1)]),
            "manner": st.sampled_from(["written", "phone"]),
        }
    ),
    "answer_checklist": st.sampled_from([{"answers": CHECKLIST}, {"answers": {"who_paid": "x"}}]),
    "review_opinion": st.builds(
        lambda fm: {"form": fm[0], "measures": fm[1], "facts": "收受礼金"}, st.sampled_from(FORMS)
    ),
    "decide": st.builds(lambda fm: {"form": fm[0], "measures": fm[1]}, st.sampled_from(FORMS)),
    "transfer_for_prosecution": st.fixed_dictionaries(
        {
            "procuratorate": st.just("青山区人民检察院"),
            "transferred_on": st.sampled_from([date(2026, 1, 5), date(2027, 6, 1)]),
        }
    ),
    "appeal": st.fixed_dictionaries({"kind": st.sampled_from(["reexamination", "recheck"])}),
    "decide_appeal": st.fixed_dictionaries(
        {
            "result": st.sampled_from(["upheld", "changed"]),
            "form": st.sampled_from([None, 2, 3]),
            "measures": st.sampled_from([[], ["demerit"], ["demotion"]]),
        }
    ),
    "record_visit": st.fixed_dictionaries(
        {
            "visited_on": st.sampled_from([date(2026, 5, 1), date(2027, 5, 1)]),
            "rating": st.sampled_from(["good", "fair", "poor"]),
        }
    ),
    "list_for_supervision": st.fixed_dictionaries(
        {"body": st.just("市纪委"), "report_due": st.just(date(2030, 1, 1))}
    ),
    "assign_task": st.fixed_dictionaries(
        {"item": st.sampled_from(["a", "b"]), "due": st.just(date(2030, 1, 1))}
    ),
    "track_task": st.fixed_dictionaries({"item": st.sampled_from(["a", "b"])}),
    "feedback_task": st.fixed_dictionaries({"item": st.sampled_from(["a", "b"])}),
    "revisit_task": st.fixed_dictionaries({"item": st.sampled_from(["a", "b"])}),
    "link_case": st.fixed_dictionaries(
        {"other_case_id": st.just(uuid4()), "relation": st.just("conduct_to_corruption")}
    ),
}

CASE_STATUSES = {
    Status.FILED,
    Status.INVESTIGATION,
    Status.REVIEW,
    Status.DECIDED,
    Status.APPEAL,
    Status.EXECUTION,
    Status.FOLLOW_UP,
}


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state, self.history = registered(received=DAY)
        self.history = list(self.history)
        self.today = DAY

    def _apply(self, events: list[Event]) -> None:
        for e in events:
            self.state = evolve(self.state, e)
        self.history += events

    @rule(name=st.sampled_from(sorted(COMMANDS)), data=st.data(), days=st.integers(0, 40))
    def give_any_command(self, name: str, data: st.DataObject, days: int) -> None:
        self.give(name, data, days)

    def give(self, name: str, data: st.DataObject, days: int) -> None:
        self.today += timedelta(days=days)
        fields = data.draw(ARGS[name]) if name in ARGS else {}
        cmd = COMMANDS[name](reason="依据", **fields)
        before = self.state
        try:
            events = decide(self.state, cmd, at(self.today), RULES, actor="user:x")
        except IllegalTransition as err:
            assert self.state.status not in ALLOWED_FROM[name]
            assert err.allowed == allowed_commands(self.state)
            return
        except Rejected:
            return
        assert before.status in ALLOWED_FROM[name]
        self._apply(events)

    @rule(data=st.data(), days=st.integers(0, 40))
    def give_a_lifecycle_command(self, data: st.DataObject, days: int) -> None:
        # Walk the lifecycle forward (not the everywhere-allowed commands), so that deep
        # states (回访教育, 复核) are reached.
        forward = [c for c in allowed_commands(self.state) if ALLOWED_FROM[c] != OPEN]
        self.give(data.draw(st.sampled_from(forward or ["assign"])), data, days)

    @rule(data=st.data(), days=st.integers(0, 40))
    def give_an_allowed_command(self, data: st.DataObject, days: int) -> None:
        self.give(
            data.draw(st.sampled_from(allowed_commands(self.state) or ["assign"])), data, days
        )

    @rule()
    def a_real_name_reporter_is_noted(self) -> None:
        assert self.state.case_id is not None
        self._apply(note_reporter(self.state, self.state.case_id, at(self.today), RULES))

    @rule(days=st.integers(0, 20))
    def the_inquiry_letter_is_served(self, days: int) -> None:
        if self.state.status is not Status.TALK_OR_INQUIRY:
            return
        state, history, letter = issue(
            self.state, self.history, "inquiry_notice", "dispose", self.today
        )
        self.today += timedelta(days=days)
        self.state, self.history = served(state, history, letter, self.today, self.today)

    @initialize(
        form_measures=st.sampled_from([None, None, None, *FORMS[:-1]]), days=st.integers(0, 10)
    )
    def drive_the_clue_to_a_decision(self, form_measures: tuple | None, days: int) -> None:
        # The way to 处分决定 is long; most runs take it first, so that the branches after it
        # (回访教育, 移送检察机关, 复审复核, 销号) are explored as often as the early ones.
        if form_measures is None:
            return
        form, measures = form_measures
        for name, fields in [
            ("dispose", {"method": "preliminary_verification"}),
            ("conclude_verification", {"outcome": "propose_filing"}),
            ("file_case", {"case_number": "AJ-1", "subject": SUBJECT, "misconduct_date": DAY}),
            ("start_investigation", {}),
            ("answer_checklist", {"answers": CHECKLIST}),
            ("transfer_for_review", {}),
            ("review_opinion", {"form": form, "measures": measures, "facts": "收受礼金"}),
            ("decide", {"form": form, "measures": measures}),
        ]:
            self.today += timedelta(days=days)
            cmd = COMMANDS[name](reason="依据", **fields)
            self._apply(decide(self.state, cmd, at(self.today), RULES, actor="user:x"))
        assert self.state.status is Status.DECIDED and self.state.form == form

    @rule(days=st.integers(0, 40), designated=st.booleans())
    def a_higher_commission_takes_the_matter_away(self, days: int, designated: bool) -> None:
        # 提级办理 / 指定管辖 to another body: intake's event, at whatever stage the matter is.
        assert self.state.case_id is not None
        self.today += timedelta(days=days)
        common = {
            "clue_id": self.state.case_id,
            "clue_number": "XS-2026-000001",
            "decision_number": "市纪提〔2026〕2号",
            "reason": "涉及市管干部",
            "recorded_by": "operator:clerk-1",
            "recorded_at": at(self.today),
        }
        event = (
            ClueJurisdictionDesignated(
                designated_by="市纪委监委", designated_to="邻县纪委监委", here=False, **common
            )
            if designated
            else ClueTakenUp(authority="市纪委监委", **common)
        )
        was_terminal = self.state.status.terminal
        self._apply(react_to_forwarding(self.state, event, at(self.today), RULES))
        assert self.state.status.terminal
        assert was_terminal or self.state.status is Status.FORWARDED

    @rule(days=st.integers(0, 120))
    def scheduler(self, days: int) -> None:
        self.today += timedelta(days=days)
        first = notice_deadlines(self.state, self.today, RULES, at(self.today))
        self._apply(first)
        assert notice_deadlines(self.state, self.today, RULES, at(self.today)) == []

    @invariant()
    def replay_equals_live_state(self) -> None:
        assert replay(self.history) == self.state
        # As stored: each event through its JSON form and the registry, as the store reads it.
        stored = [
            registry.decode(
                e.type_name, e.version, json.loads(json.dumps(e.model_dump(mode="json")))
            )
            for e in self.history
        ]
        assert replay(stored) == self.state
        assert self.state.version == len(self.history)

    @invariant()
    def no_illegal_state(self) -> None:
        s = self.state
        assert s.status is not Status.NEW
        if s.status.terminal:
            assert set(s.deadlines) <= AFTER_CLOSING
        if "reporter_feedback" in s.deadlines:
            assert s.real_name_reporter and s.reporter_feedback_on is None
        if s.status in CASE_STATUSES:
            assert s.case_number is not None and s.subject is not None
        if s.status in (Status.DECIDED, Status.APPEAL, Status.EXECUTION, Status.FOLLOW_UP):
            assert s.form in (1, 2, 3, 4) and s.measures
            assert s.review_opinion is not None  # no decision without the 审理 opinion
        kind = RULES.limits.investigation(s.investigation_kind)
        assert s.investigation_extensions <= kind.extensions_max
        assert s.verification_extensions <= RULES.limits.preliminary_verification_extensions_max
        assert s.review_extensions <= (RULES.limits.review_extensions_max if s.major else 0)
        if s.status is Status.REVIEW and set(s.categories) & RULES.dining_categories:
            assert all(code in s.checklist for code, _ in RULES.checklist)
        if s.status is Status.ON_HOLD:
            assert s.hold_review_on is not None
        if "inquiry_reply" in s.deadlines:  # runs from the letter's receipt only
            assert s.status is Status.TALK_OR_INQUIRY and s.inquiry_served_on is not None
        if s.status is Status.PRELIMINARY_VERIFICATION:
            assert "preliminary_verification" in s.deadlines
        if s.status in (Status.FILED, Status.INVESTIGATION):  # from 立案 on
            assert "investigation" in s.deadlines
        assert len(s.appeals) == len(set(s.appeals)) <= 2
        per_year: dict[int, int] = {}
        for v in s.visits:
            per_year[v.on.year] = per_year.get(v.on.year, 0) + 1
        assert all(n <= RULES.limits.visits_per_year for n in per_year.values())

    @invariant()
    def forms_follow_their_branches(self) -> None:
        s, h = self.state, self.history
        # 形态四 is transferred to the procuratorate, never visited; 回访教育 only for the
        # forms the policy names, and 销号 of such a case only after a visit.
        if s.status is Status.PROSECUTED:
            assert s.form == 4 and s.procuratorate
        if s.status is Status.FOLLOW_UP:
            assert s.form in RULES.follow_up_forms
        closes = [e for e in h if isinstance(e, CaseTransitioned) and e.command == "close_case"]
        if closes:
            assert s.form not in RULES.follow_up_forms or s.visits
        assert not (s.form == 4 and s.visits)
        assert sum(isinstance(e, CaseTransferredForProsecution) for e in h) == (
            s.status is Status.PROSECUTED
        )
        # Every 第一种形态 outcome of a clue is recorded as such, once.
        first = [
            e
            for e in h
            if isinstance(e, CaseTransitioned) and e.details.get("outcome") in FIRST_FORM_OUTCOMES
        ]
        applied = [e for e in h if isinstance(e, FirstFormApplied)]
        assert len(first) == len(applied) <= 1
        if applied:
            assert s.status is Status.CLOSED and (s.form, s.measures) == (1, applied[0].measures)
        if s.case_number and s.status.terminal:
            assert sum(isinstance(e, CaseClosed) for e in h) == 1


CaseMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseMachine = CaseMachine.TestCase


def test_state_starts_new() -> None:
    assert CaseState().status is Status.NEW
