"""Domain factories for accountability's unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from libs.events.contracts.accountability import DepartmentLeader, Person
from libs.events.contracts.casework import CaseDecided, Subject
from services.accountability.domain.lists import ListVersion, PublishList, publish_list

UNIT = "泰顺县交通运输局"


def lst(
    n: int, start: date, *, chief: str = "陈局长", leader: str = "林副局长", key_area: bool = True
) -> ListVersion:
    (published,) = publish_list(
        PublishList(
            unit=UNIT,
            valid_from=start,
            valid_to=None,
            party_committee=f"中共{UNIT}党组",
            first_responsible=Person(name=chief, post="党组书记、局长"),
            discipline_body="派驻第三纪检监察组",
            discipline_head=Person(name="吴组长", post="组长"),
            department_leaders=(
                DepartmentLeader(department="财务科", leader=Person(name=leader, post="副局长")),
            ),
            key_area=key_area,
        ),
        list_id=uuid4(),
        actor="operator:test",
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return ListVersion(n, published)


def case_decided(
    *,
    form: int = 3,
    major: bool = False,
    categories: list[str] | None = None,
    decided_at: datetime | None = None,
    unit: str = UNIT,
    case_id: UUID | None = None,
    **kw: Any,
) -> CaseDecided:
    return CaseDecided(
        case_id=case_id or uuid4(),
        case_number=kw.pop("case_number", "LA-2026-0007"),
        clue_ids=[uuid4()],
        subject=Subject(
            name="某某", unit=unit, department="财务科", post="财务科科长", rank="科级"
        ),
        categories=categories or ["embezzlement"],
        form=form,
        measures=kw.pop("measures", ["removal_from_post"]),
        major=major,
        misconduct_date=kw.pop("misconduct_date", date(2026, 3, 4)),
        decided_by="县纪委常委会",
        decided_at=decided_at or datetime(2026, 9, 1, tzinfo=UTC),
        **kw,
    )
