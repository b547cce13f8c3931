"""Alert identity and escalation across sources, pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from libs.events.contracts.analysis import AlertLevel
from services.analysis.domain.alerts import (
    OpenAlert,
    alert_id,
    alert_identity,
    escalate,
    subject_key,
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
