"""Alert identity and escalation across sources, pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from libs.events.contracts.analysis import (
    AlertEscalated,
    AlertLevel,
    AlertLinkedToCase,
    AlertLinkedToClue,
)
from services.analysis.domain.alerts import (
    AlreadyVerified,
    Finding,
    Hit,
    OpenAlert,
    Verification,
    alert_id,
    alert_identity,
    escalate,
    raise_alert,
    replay,
    subject_key,
    verify,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def open_alert(
    rule: str, source: str, day: int, level: AlertLevel = AlertLevel.YELLOW
) -> OpenAlert:
    return OpenAlert(uuid4(), rule, source, level, date(2026, 3, day))


def test_the_same_finding_has_the_same_identity_and_id() -> None:
    a = alert_identity("fuel.over_tank", subject_key(None, "鄂K1", "U1"), "TXN1")
    b = alert_identity("fuel.over_tank", subject_key(None, "鄂K1", "U2"), "TXN1")
    assert a == b == "fuel.over_tank|vehicle:鄂K1|TXN1"
    assert alert_id(a) == alert_id(b)


def test_a_person_subject_wins_over_vehicle_and_unit() -> None:
    assert subject_key("P1", "鄂K1", "U1") == "person:P1"
    assert subject_key(None, None, "U1") == "unit:U1"


def test_two_sources_within_the_window_escalate_both_to_red_with_the_reason() -> None:
    card = open_alert("fuel.far_from_jurisdiction", "fuel_card", 5)
    track = open_alert("vehicle.out_of_jurisdiction", "gps", 6)

    events = escalate(
        "vehicle:鄂K1",
        [card, track],
        window_days=30,
        min_sources=2,
        to_level=AlertLevel.RED,
        now=NOW,
    )

    assert {e.alert_id for e in events} == {card.alert_id, track.alert_id}
    assert all(e.to_level == AlertLevel.RED and e.from_level == AlertLevel.YELLOW for e in events)
    assert "fuel_card" in events[0].reason and "gps" in events[0].reason


def test_one_source_or_too_far_apart_does_not_escalate() -> None:
    same = [
        open_alert("fuel.over_tank", "fuel_card", 1),
        open_alert("fuel.wrong_grade", "fuel_card", 2),
    ]
    apart = [
        open_alert("fuel.over_tank", "fuel_card", 1),
        OpenAlert(uuid4(), "vehicle.x", "gps", AlertLevel.YELLOW, date(2026, 5, 1)),
    ]

    assert (
        escalate("s", same, window_days=30, min_sources=2, to_level=AlertLevel.RED, now=NOW) == []
    )
    assert (
        escalate("s", apart, window_days=30, min_sources=2, to_level=AlertLevel.RED, now=NOW) == []
    )


def test_an_alert_already_red_is_not_escalated_again() -> None:
    red = open_alert("fuel.over_tank", "fuel_card", 1, AlertLevel.RED)
    yellow = open_alert("vehicle.out_of_jurisdiction", "gps", 2)

    events = escalate(
        "s", [red, yellow], window_days=30, min_sources=2, to_level=AlertLevel.RED, now=NOW
    )

    assert [e.alert_id for e in events] == [yellow.alert_id]


def test_an_alert_as_it_stands_folds_its_stream() -> None:
    found = Hit(
        evidence_key="U007|2026-03",
        person_id=None,
        person_name=None,
        unit_code="U007",
        unit_name="青山县住建局",
        plate=None,
        occurred_on=date(2026, 3, 31),
        summary="工单办理超期",
        evidence=[{"order": "12345-1"}],
    )
    raised = raise_alert(
        rule_id="hotline.unit_sloth",
        rule_version=1,
        level=AlertLevel.YELLOW,
        category="inaction",
        found=found,
        now=NOW,
        source="hotline",
    )
    escalated = AlertEscalated(
        alert_id=raised.alert_id,
        from_level=AlertLevel.YELLOW,
        to_level=AlertLevel.RED,
        reason="多源关联",
        related_alert_ids=[],
        escalated_at=NOW,
    )
    clue, case = uuid4(), uuid4()
    events = [
        raised,
        escalated,
        AlertLinkedToClue(alert_id=raised.alert_id, clue_id=clue, linked_at=NOW),
        AlertLinkedToCase(
            alert_id=raised.alert_id, clue_id=clue, case_id=case, case_number="LA-1", linked_at=NOW
        ),
    ]

    alert = replay((e, v) for v, e in enumerate(events, start=1))

    assert alert is not None
    assert (alert.subject_key, alert.evidence_key) == ("unit:U007", "U007|2026-03")
    assert (alert.source, alert.occurred_on) == ("hotline", date(2026, 3, 31))
    assert (alert.raised_level, alert.level, alert.escalation_reason) == (
        "yellow",
        "red",
        "多源关联",
    )
    assert (alert.clue_id, alert.case_id, alert.case_number) == (clue, case, "LA-1")
    assert alert.stream_version == 4
    assert replay([(escalated, 1)]) is None  # nothing to change before it was raised


def test_a_finding_keeps_the_alerts_case_and_is_not_overwritten() -> None:
    found = Hit("T1", "P1", "王伟", "U1", "财政局", None, date(2026, 3, 6), "酒驾", [])
    raised = raise_alert(
        rule_id="drunk.dinner_lookback",
        rule_version=2,
        level=AlertLevel.RED,
        category="drunk_driving",
        found=found,
        now=NOW,
        source="traffic",
    )
    case = uuid4()
    linked = AlertLinkedToCase(
        alert_id=raised.alert_id, case_id=case, case_number="LA-1", linked_at=NOW
    )
    alert = replay([(raised, 1), (linked, 2)])
    assert alert is not None

    event = verify(alert, Verification(finding=Finding.CONFIRMED), verified_by="u:1", now=NOW)
    verified = replay([(raised, 1), (linked, 2), (event, 3)])
    assert verified is not None
    with pytest.raises(AlreadyVerified) as twice:
        verify(verified, Verification(finding=Finding.FALSE_POSITIVE), verified_by="u:2", now=NOW)

    assert (event.finding, event.case_id, event.rule_version) == ("confirmed", case, 2)
    assert (twice.value.kind, twice.value.slug) == ("conflict", "already-verified")
