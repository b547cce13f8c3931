"""整改台账 rules, pure: deadlines in working days, the loop to 销号, 回头看 reopening,
overdue noticed once per round."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from libs.events.contracts.rectification import (
    Evidence,
    RectificationItemOverdue,
    RectificationItemReopened,
    RectificationItemReviewed,
    RectificationListOpened,
    RectificationSource,
)
from libs.kit import workdays
from libs.kit.refusal import Refused
from services.accountability.domain import rectification as r

RULES = r.load_rules()
CALENDAR = workdays.load()
LIST_ID = uuid4()
MONDAY = date(2026, 9, 7)


def ctx(today: date = MONDAY) -> r.Context:
    return r.Context(
        "operator:acc", datetime(today.year, today.month, today.day, 2, tzinfo=UTC), today
    )


def item(**kw: object) -> r.NewItem:
    fields: dict[str, object] = {
        "item_id": uuid4(),
        "problem": "公务用车管理不规范",
        "owner": "办公室",
    }
    return r.NewItem(**{**fields, **kw})  # type: ignore[arg-type]


def opened(*items: r.NewItem, kind: str = "case", dual: bool = False) -> r.RectificationList:
    command = r.OpenList(
        LIST_ID, "青山市住建局", "整改清单", RectificationSource(kind=kind, reference="XS-1"),
        items or (item(),), dual_report=dual,
    )  # fmt: skip
    return r.replay(r.decide(r.RectificationList(), command, ctx(), RULES, CALENDAR))


def act(
    state: r.RectificationList, command: r.Command, today: date = MONDAY
) -> r.RectificationList:
    events = r.decide(state, command, ctx(today), RULES, CALENDAR)
    for e in events:
        state = r.evolve(state, e)
    return state


def only(state: r.RectificationList) -> UUID:
    [item_id] = state.items
    return item_id


def test_an_immediate_item_is_due_after_the_short_period_in_working_days() -> None:
    # 2026-09-25 (Fri) + 5 working days skips the weekend and the National Day holiday.
    state = opened(item(immediate=True))
    assert state.items[only(state)].deadline == CALENDAR.add_workdays(MONDAY, 5)
    later = r.deadline_of(item(immediate=True), "case", date(2026, 9, 25), RULES, CALENDAR)
    assert later > date(2026, 10, 8)


def test_an_item_without_a_deadline_gets_its_source_kinds_period() -> None:
    state = opened(item(), kind="inspection")
    assert state.items[only(state)].deadline == CALENDAR.add_workdays(MONDAY, 44)


def test_a_deadline_in_the_past_is_refused_naming_the_field() -> None:
    with pytest.raises(Refused) as refused:
        opened(item(deadline=MONDAY))
    assert refused.value.field == "deadline"


def test_an_unknown_source_kind_is_refused_with_the_choices() -> None:
    with pytest.raises(Refused) as refused:
        opened(kind="rumour")
    assert "巡察" in str(refused.value)


def test_a_inspection_list_owes_the_dual_report_by_its_due_day() -> None:
    state = opened(kind="inspection", dual=True)
    assert isinstance(state.opened, RectificationListOpened)
    assert state.opened.reports_to == ["party_committee", "commission"]
    assert state.opened.report_due == CALENDAR.add_workdays(MONDAY, 44)


def test_completion_needs_evidence() -> None:
    state = opened()
    with pytest.raises(Refused) as refused:
        act(state, r.CompleteItem(only(state), "已整改"))
    assert refused.value.field == "evidence"


def _accepted(state: r.RectificationList) -> r.RectificationList:
    i = only(state)
    state = act(state, r.CompleteItem(i, "已建立车辆管理制度", (Evidence(description="制度文件"),)))
    return act(state, r.AcceptItem(i, True, "整改到位"))


def test_the_loop_ends_in_closing_when_the_look_back_holds() -> None:
    state = _accepted(opened())
    i = only(state)
    assert state.items[i].status == "accepted"
    due = state.items[i].review_due
    assert due == CALENDAR.add_workdays(MONDAY, RULES.review_after_working_days)

    state = act(state, r.ReviewItem(i, True, "未发现反弹"), today=due)

    assert state.items[i].status == "closed"
    assert r.progress(state)["closed"] == 1


def test_closing_before_the_look_back_period_is_refused_but_a_relapse_reopens_at_once() -> None:
    state = _accepted(opened())
    with pytest.raises(Refused) as refused:
        act(state, r.ReviewItem(only(state), True, ""), today=MONDAY)
    assert refused.value.slug == "review-not-due"
    state = act(state, r.ReviewItem(only(state), False, "问题反弹"), today=MONDAY)
    assert state.items[only(state)].round == 2


def test_a_look_back_that_finds_the_problem_back_reopens_the_item_keeping_its_history() -> None:
    state = _accepted(opened())
    i = only(state)
    due = state.items[i].review_due
    assert due is not None

    events = r.decide(
        state, r.ReviewItem(i, False, "公车私用问题再次出现"), ctx(due), RULES, CALENDAR
    )

    reviewed, reopened = events
    assert isinstance(reviewed, RectificationItemReviewed) and not reviewed.holds
    assert isinstance(reopened, RectificationItemReopened)
    assert reopened.round == 2
    assert reopened.deadline == CALENDAR.add_workdays(due, RULES.reopen_working_days)
    for e in events:
        state = r.evolve(state, e)
    again = state.items[i]
    assert (again.status, again.round, again.completed) == ("in_progress", 2, None)
    assert [type(e).__name__ for e in again.history][-2:] == [
        "RectificationItemReviewed",
        "RectificationItemReopened",
    ]
    assert r.progress(state)["reopened"] == 1


def test_a_failed_acceptance_sends_the_item_back_to_the_unit() -> None:
    state = opened()
    i = only(state)
    state = act(state, r.CompleteItem(i, "已整改", (Evidence(description="照片"),)))
    state = act(state, r.AcceptItem(i, False, "佐证不足"))
    assert state.items[i].status == "in_progress"


def test_an_item_past_its_deadline_is_noticed_once_per_round() -> None:
    state = opened(item(immediate=True))
    i = only(state)
    late = state.items[i].deadline + timedelta(days=1)
    assert r.decide(state, r.NoticeOverdue(i), ctx(state.items[i].deadline), RULES, CALENDAR) == []

    state = act(state, r.NoticeOverdue(i), today=late)
    assert state.items[i].overdue
    assert r.decide(state, r.NoticeOverdue(i), ctx(late), RULES, CALENDAR) == []


def test_a_reopened_item_can_be_overdue_again_in_its_new_round() -> None:
    state = opened()
    i = only(state)
    state = replace(state, items={i: replace(state.items[i], overdue_round=1, round=2)})
    events = r.decide(state, r.NoticeOverdue(i), ctx(date(2027, 6, 1)), RULES, CALENDAR)
    assert [(type(e), e.round) for e in events if isinstance(e, RectificationItemOverdue)] == [
        (RectificationItemOverdue, 2)
    ]


def test_only_the_rules_report_recipients_are_accepted() -> None:
    state = opened(kind="inspection", dual=True)
    with pytest.raises(Refused) as refused:
        act(state, r.Report("newspaper", "整改情况"))
    assert refused.value.field == "to"
    state = act(state, r.Report("commission", "整改情况报告"))
    assert [x.to for x in state.reports] == ["commission"]


def test_a_dual_report_owed_past_its_day_is_noticed_once_naming_who_was_not_reported_to() -> None:
    state = act(opened(kind="inspection", dual=True), r.Report("party_committee", "整改情况"))
    assert state.opened is not None and state.opened.report_due is not None
    due = state.opened.report_due
    assert r.decide(state, r.NoticeReportOverdue(), ctx(due), RULES, CALENDAR) == []

    state = act(state, r.NoticeReportOverdue(), today=due + timedelta(days=1))

    assert state.report_overdue and state.reports_owed == ["commission"]
    assert (
        r.decide(state, r.NoticeReportOverdue(), ctx(due + timedelta(days=5)), RULES, CALENDAR)
        == []
    )
