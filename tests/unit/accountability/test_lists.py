"""Responsibility lists as of a date, and the CSV form of them (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from libs.events.contracts.accountability import DepartmentLeader, Person
from services.accountability.domain.errors import Refused
from services.accountability.domain.lists import (
    ListVersion,
    PublishList,
    list_as_of,
    parse_csv,
    publish_list,
    responsible_parties,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def version(n: int, start: date, end: date | None = None, leader: str = "林") -> ListVersion:
    (published,) = publish_list(
        PublishList(
            unit="交通局",
            valid_from=start,
            valid_to=end,
            party_committee="交通局党组",
            first_responsible=Person(name="陈", post="局长"),
            discipline_body="派驻纪检组",
            discipline_head=Person(name="吴"),
            department_leaders=(DepartmentLeader(department="财务科", leader=Person(name=leader)),),
        ),
        list_id=uuid4(),
        actor="operator:t",
        now=NOW,
    )
    return ListVersion(n, published)


def test_an_open_list_is_superseded_only_from_the_day_the_next_one_starts() -> None:
    v1 = version(1, date(2025, 1, 1), leader="林")
    v2 = version(2, date(2026, 6, 1), leader="黄")
    assert list_as_of([v1, v2], date(2026, 3, 4)) == v1
    assert list_as_of([v1, v2], date(2026, 5, 31)) == v1
    assert list_as_of([v1, v2], date(2026, 6, 1)) == v2
    assert list_as_of([v1, v2], date(2024, 12, 31)) is None


def test_a_list_republished_for_the_same_period_corrects_the_earlier_version() -> None:
    v1 = version(1, date(2025, 1, 1), leader="林")
    v2 = version(2, date(2025, 1, 1), leader="黄")
    found = list_as_of([v1, v2], date(2025, 3, 1))
    assert found is not None
    leader = responsible_parties(found, "财务科")[-1]
    assert (leader.name, leader.list_version) == ("黄", 2)


def test_a_department_not_on_the_list_has_no_leader_in_charge() -> None:
    parties = responsible_parties(version(1, date(2025, 1, 1)), "办公室")
    assert [p.responsibility for p in parties] == [
        "principal",
        "principal",
        "supervisory",
        "supervisory",
    ]


def test_a_csv_list_without_its_first_responsible_person_is_refused() -> None:
    content = (
        "unit,valid_from,valid_to,role,department,name,post\n"
        "交通局,2025-01-01,,party_committee,,交通局党组,\n"
        "交通局,2025-01-01,,discipline_body,,派驻纪检组,\n"
        "交通局,2025-01-01,,discipline_head,,吴,\n"
    )
    with pytest.raises(Refused, match="first_responsible"):
        parse_csv(content)


def test_a_csv_role_outside_the_list_is_refused_naming_the_line() -> None:
    content = "unit,valid_from,valid_to,role,department,name,post\n交通局,2025-01-01,,mayor,,某,\n"
    with pytest.raises(Refused) as refused:
        parse_csv(content)
    assert refused.value.field == "line 2.role"


def test_a_csv_with_lines_ended_by_a_bare_carriage_return_is_read() -> None:
    content = (
        "unit,valid_from,valid_to,role,department,name,post\r"
        "交通局,2025-01-01,,party_committee,,交通局党组,\r"
        "交通局,2025-01-01,,discipline_body,,派驻纪检组,\r"
    )
    with pytest.raises(Refused, match="first_responsible"):
        parse_csv(content)


def test_a_csv_the_reader_cannot_read_is_refused_naming_the_line() -> None:
    header = "unit,valid_from,valid_to,role,department,name,post\n"
    too_long = header + "交通局,2025-01-01,,party_committee,," + "长" * 200_000 + ",\n"
    with pytest.raises(Refused) as refused:
        parse_csv(too_long)
    assert (refused.value.slug, refused.value.facts["line"]) == ("csv-unreadable", 2)
    assert refused.value.field == "file" and "第 2 行" in refused.value.detail


def test_a_csv_with_a_nul_character_is_refused_naming_the_line() -> None:
    content = "unit,valid_from,valid_to,role,department,name,post\n交通局,2025\x00-01-01,,\n"
    with pytest.raises(Refused) as refused:
        parse_csv(content)
    assert (refused.value.slug, refused.value.facts["line"]) == ("nul-character", 2)
