"""纪检监察建议书 rules, pure: a reply deadline in working days, a late reply noticed once,
one reply."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from libs.events.contracts.rectification import RectificationSource, SuggestionReplyOverdue
from libs.kit import workdays
from libs.kit.refusal import Refused
from services.accountability.domain import suggestions as s
from services.accountability.domain.rectification import Context, load_rules

RULES = load_rules()
CALENDAR = workdays.load()
DAY = date(2026, 9, 21)


def ctx(today: date = DAY) -> Context:
    return Context(
        "operator:acc", datetime(today.year, today.month, today.day, 2, tzinfo=UTC), today
    )


def issued(kind: str = "case") -> s.Suggestion:
    command = s.IssueSuggestion(uuid4(), "青山市住建局", RectificationSource(kind=kind, reference="x"),
                                ["审批把关不严"], ["完善审批制度"])  # fmt: skip
    state = s.Suggestion()
    for e in s.decide(state, command, ctx(), RULES, CALENDAR):
        state = s.evolve(state, e)
    return state


def test_the_reply_is_due_in_working_days_skipping_the_national_day_holiday() -> None:
    state = issued()
    assert state.issued is not None
    assert state.issued.reply_due == CALENDAR.add_workdays(DAY, RULES.suggestion_reply_working_days)
    assert state.issued.reply_due > DAY + timedelta(days=30)  # 22 working days span 国庆


def test_a_suggestion_rests_on_a_case_or_an_inquiry_only() -> None:
    with pytest.raises(Refused) as refused:
        issued(kind="rumour")
    assert refused.value.field == "basis.kind"


def test_a_late_reply_is_noticed_once_and_not_after_the_reply() -> None:
    state = issued()
    assert state.issued is not None
    due = state.issued.reply_due
    assert s.decide(state, s.NoticeReplyOverdue(), ctx(due), RULES, CALENDAR) == []
    [late] = s.decide(state, s.NoticeReplyOverdue(), ctx(due + timedelta(days=1)), RULES, CALENDAR)
    assert isinstance(late, SuggestionReplyOverdue)
    state = s.evolve(state, late)
    assert (
        s.decide(state, s.NoticeReplyOverdue(), ctx(due + timedelta(days=9)), RULES, CALENDAR) == []
    )


def test_a_suggestion_is_replied_to_once() -> None:
    state = issued()
    [replied] = s.decide(state, s.Reply("已整改", uuid4()), ctx(), RULES, CALENDAR)
    state = s.evolve(state, replied)
    assert state.status == "replied"
    with pytest.raises(Refused) as refused:
        s.decide(state, s.Reply("再次回复", uuid4()), ctx(), RULES, CALENDAR)
    assert refused.value.slug == "already-replied"
