"""管辖: the unit registry as data, the decision per reported person, and intake's deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionUndetermined,
    ClueMarkedForForwarding,
    ClueReceived,
    ForwardingOverdue,
    ReportAcknowledged,
    ReportAcknowledgementOverdue,
    ReportedPerson,
    ReportReceived,
)
from libs.kit.workdays import WorkCalendar
from services.intake.domain.jurisdiction import (
    DEFAULT_REGISTRY,
    AuthorityRequired,
    Refused,
    RegistryError,
    assess,
    forward,
    keep,
    load_registry,
    mark,
    on_receipt,
    overdue_notices,
    parse_registry,
    replay,
)

CALENDAR = WorkCalendar(holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}))
REGISTRY = parse_registry(
    """# version: test-1
unit_code,unit_name,aliases,jurisdiction,authority,note
11330100MB0000001A,某县财政局,县财政局,ours,,
,某镇人民政府,,ours,,
,某市财政局,市财政局,other,市纪委监委,
,某市教育局,,other,市纪委监委,
,国家税务总局某县税务局,某县税务局,other,国家税务总局某市税务局纪检组,
,某县人民法院,,other,,
""",
    "test.csv",
)
RECEIVED = datetime(2026, 9, 28, 2, tzinfo=UTC)  # a Monday; National Day follows


def received(*units: str) -> ClueReceived:
    return ClueReceived(
        clue_id=uuid4(),
        clue_number="XS-2026-000001",
        source_kind="partner_transfer",
        reported_persons=[ReportedPerson(name="王*", unit=u) for u in units],
        categories=["violation_gifts"],
        narrative="…",
        received_at=RECEIVED,
    )


def test_units_are_found_by_name_alias_or_code_whatever_the_spacing_and_width() -> None:
    for written in ("某县财政局", " 县财政局 ", "某县 财政局", "11330100mb0000001a"):
        assert REGISTRY.finding(written).finding == "ours", written
    assert REGISTRY.finding("ＡＢＣ某县财政局").finding == "unknown"


def test_a_clue_about_our_units_is_ours_and_records_nothing() -> None:
    assert assess(["某县财政局", "某镇人民政府"], REGISTRY).outcome == "ours"
    assert on_receipt([received("某县财政局")], REGISTRY, CALENDAR, 5) == []


def test_a_clue_about_a_city_unit_is_marked_for_the_city_commission_with_5_working_days() -> None:
    clue = received("市财政局")

    (mark_,) = on_receipt([clue], REGISTRY, CALENDAR, 5)

    assert isinstance(mark_, ClueMarkedForForwarding)
    assert mark_.authority == "市纪委监委"
    # 9-29, 9-30, (10-1, 10-2 holidays, weekend), 10-5, 10-6, 10-7
    assert mark_.forward_by == date(2026, 10, 7)
    assert mark_.registry_version == "test-1"
    assert [f.registered_as for f in mark_.findings] == ["某市财政局"]


def test_two_persons_of_one_other_body_are_marked_for_it() -> None:
    verdict = assess(["某市财政局", "某市教育局"], REGISTRY)
    assert (verdict.outcome, verdict.authority) == ("forward", "市纪委监委")


def test_an_other_unit_without_a_known_body_is_marked_with_no_authority() -> None:
    verdict = assess(["某县人民法院"], REGISTRY)
    assert (verdict.outcome, verdict.authority) == ("forward", None)


@pytest.mark.parametrize(
    ("units", "why"),
    [
        (["某区住建局"], "单位未列入管辖名录：某区住建局"),
        (["某县财政局", "某区住建局"], "未列入"),
        (["某市财政局", "某县税务局"], "分属不同机关"),
        (["某县财政局", "某市财政局"], "部分属本委管辖"),
    ],
)
def test_unknown_or_mixed_units_need_a_clerks_decision(units: list[str], why: str) -> None:
    verdict = assess(units, REGISTRY)

    assert verdict.outcome == "undetermined"
    assert why in verdict.reason


def test_an_unknown_unit_is_recorded_as_undetermined_with_the_same_limit() -> None:
    (event,) = on_receipt([received("某区住建局")], REGISTRY, CALENDAR, 5)

    assert isinstance(event, ClueJurisdictionUndetermined)
    assert event.decide_by == date(2026, 10, 7)
    assert [(f.unit, f.finding) for f in event.findings] == [("某区住建局", "unknown")]


def test_the_shipped_registry_loads_and_knows_the_county_and_the_city() -> None:
    registry = load_registry(str(DEFAULT_REGISTRY))
    assert registry.version == "2026-03 某县示例"
    assert registry.finding("某县财政局").finding == "ours"
    assert registry.finding("市财政局").authority == "市纪委监委"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unit_name,jurisdiction\n某县财政局,ours\n某市局,theirs\n", "line 3, field jurisdiction"),
        ("unit_name,jurisdiction\n,ours\n", "line 2, field unit_name: empty"),
        (
            "unit_name,jurisdiction,authority\n某县财政局,ours,市纪委监委\n",
            "line 2, field authority: must be empty",
        ),
        (
            "# c\nunit_name,aliases,jurisdiction\n某县财政局,,ours\n某县财政厅,某县财政局,ours\n",
            "line 4, field aliases: '某县财政局' already names the unit on line 3",
        ),
        ("unit_name\n某县财政局\n", "line 1: header lacks column(s) jurisdiction"),
        ("unit_name,jurisdiction,colour\nx,ours,red\n", "unknown column(s) colour"),
        ("unit_name,jurisdiction\nx,ours,extra\n", "line 2: 3 fields, the header has 2"),
        ("# nothing\n", "no header line"),
        ("unit_name,jurisdiction\n", "no units listed"),
    ],
)
def test_a_bad_registry_is_refused_naming_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RegistryError) as err:
        parse_registry(text, "bad.csv")

    assert message in str(err.value)
    assert str(err.value).startswith("bad.csv")


def test_a_missing_registry_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"nowhere\.csv"):
        load_registry(str(tmp_path / "nowhere.csv"))


NOW = datetime(2026, 10, 6, 3, tzinfo=UTC)


def marked() -> list:  # type: ignore[type-arg]
    clue = received("某市财政局")
    return [clue, *on_receipt([clue], REGISTRY, CALENDAR, 5)]


def test_a_marked_clue_is_forwarded_to_its_body_in_time() -> None:
    (done,) = forward(
        replay(marked()),
        authority=None,
        method="official_letter",
        letter_number="某纪转〔2026〕3号",
        note=None,
        actor="operator:clerk-1",
        now=NOW,
    )

    assert isinstance(done, ClueForwarded)
    assert (done.authority, done.in_time) == ("市纪委监委", True)
    assert replay([*marked(), done]).status == "forwarded"


def test_forwarding_twice_or_keeping_after_forwarding_is_refused() -> None:
    history = marked()
    history += forward(
        replay(history),
        authority=None,
        method="in_person",
        letter_number=None,
        note=None,
        actor="a",
        now=NOW,
    )
    state = replay(history)

    with pytest.raises(Refused) as twice:
        forward(
            state,
            authority=None,
            method="in_person",
            letter_number=None,
            note=None,
            actor="a",
            now=NOW,
        )
    with pytest.raises(Refused) as kept:
        keep(state, reason="x", actor="a", now=NOW)

    assert twice.value.code == kept.value.code == "already-forwarded"


def test_a_clue_of_ours_cannot_be_forwarded_or_kept_until_it_is_marked() -> None:
    clue = received("某县财政局")
    state = replay([clue])

    with pytest.raises(Refused) as err:
        keep(state, reason="x", actor="a", now=NOW)
    assert err.value.code == "not-marked-for-forwarding"

    marks = mark(
        state,
        authority="邻县纪委监委",
        reason="被反映人已调任邻县",
        actor="operator:clerk-1",
        now=NOW,
        calendar=CALENDAR,
        forward_workdays=5,
    )
    assert replay([clue, *marks]).status == "marked"
    # The limit still counts from receipt, not from the clerk's mark.
    assert marks[0].forward_by == date(2026, 10, 7)  # type: ignore[attr-defined]


def test_forwarding_a_clue_no_body_is_named_for_needs_one() -> None:
    clue = received("某县人民法院")
    state = replay([clue, *on_receipt([clue], REGISTRY, CALENDAR, 5)])

    with pytest.raises(AuthorityRequired):
        forward(
            state,
            authority=None,
            method="in_person",
            letter_number=None,
            note=None,
            actor="a",
            now=NOW,
        )


def test_a_kept_clue_is_back_in_jurisdiction_and_nothing_runs_for_it() -> None:
    history = marked()
    history += keep(replay(history), reason="被反映人实为县管干部", actor="a", now=NOW)
    state = replay(history)

    assert state.status == "kept"
    assert overdue_notices(state, date(2026, 10, 30), NOW, "supervisor") == []


def test_forwarding_overdue_is_said_once_the_day_after_the_limit() -> None:
    history = marked()
    assert overdue_notices(replay(history), date(2026, 10, 7), NOW, "supervisor") == []

    (late,) = overdue_notices(replay(history), date(2026, 10, 8), NOW, "supervisor")

    assert isinstance(late, ForwardingOverdue)
    assert (late.due, late.escalated_to, late.undetermined) == (
        date(2026, 10, 7),
        "supervisor",
        False,
    )
    assert overdue_notices(replay([*history, late]), date(2026, 10, 9), NOW, "supervisor") == []


def test_acknowledgement_overdue_unless_the_reporter_was_told() -> None:
    clue = received("某县财政局")
    report = ReportReceived(
        clue_id=clue.clue_id,
        anonymous=False,
        reporter_ref=uuid4(),
        acknowledge_by=date(2026, 10, 20),
        received_at=RECEIVED,
    )
    told = ReportAcknowledged(clue_id=clue.clue_id, acknowledged_by="a", acknowledged_at=NOW)

    (late,) = overdue_notices(replay([clue, report]), date(2026, 10, 21), NOW, "supervisor")

    assert isinstance(late, ReportAcknowledgementOverdue)
    assert late.deadline_id == f"{clue.clue_id}:acknowledgement:2026-10-20"
    assert overdue_notices(replay([clue, report, told]), date(2026, 10, 21), NOW, None) == []
    assert overdue_notices(replay([clue, report, late]), date(2026, 10, 22), NOW, None) == []


def test_an_undetermined_clue_nobody_decided_on_is_overdue_as_undetermined() -> None:
    clue = received("某区住建局")
    history = [clue, *on_receipt([clue], REGISTRY, CALENDAR, 5)]

    (late,) = overdue_notices(replay(history), date(2026, 10, 8), NOW, "supervisor")

    assert isinstance(late, ForwardingOverdue)
    assert late.undetermined is True
