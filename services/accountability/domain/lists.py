"""责任清单: responsibility lists per unit and period, and who was responsible on a date."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from libs.events.contracts.accountability import (
    DepartmentLeader,
    Person,
    ResponsibilityListPublished,
    ResponsibleParty,
)
from services.accountability.domain.errors import Refused
from services.accountability.domain.units import unit_key


def list_stream(unit: str) -> str:
    """The stream holding every version of a unit's responsibility list."""
    return f"resplist-{unit_key(unit)}"


@dataclass(frozen=True)
class PublishList:
    """Publish (a new version of) a unit's list for a period."""

    unit: str
    valid_from: date
    valid_to: date | None
    party_committee: str
    first_responsible: Person
    discipline_body: str
    discipline_head: Person
    department_leaders: tuple[DepartmentLeader, ...] = ()
    key_area: bool = False


@dataclass(frozen=True)
class ListVersion:
    """One published list with its version in the unit's stream."""

    version: int
    published: ResponsibilityListPublished


def publish_list(
    command: PublishList, *, list_id: UUID, actor: str, now: datetime
) -> list[ResponsibilityListPublished]:
    """Check a list and record it; a period ending before it starts is refused."""
    if command.valid_to is not None and command.valid_to < command.valid_from:
        raise Refused(
            "invalid-period",
            f"截止日期 {command.valid_to} 早于起始日期 {command.valid_from}。",
            field="valid_to",
        )
    seen: set[str] = set()
    for i, dl in enumerate(command.department_leaders):
        if dl.department in seen:
            raise Refused(
                "duplicate-department",
                f"部门「{dl.department}」列了两次；一个部门只由一位领导分管。",
                field=f"department_leaders[{i}].department",
            )
        seen.add(dl.department)
    return [
        ResponsibilityListPublished(
            list_id=list_id,
            unit=command.unit,
            valid_from=command.valid_from,
            valid_to=command.valid_to,
            party_committee=command.party_committee,
            first_responsible=command.first_responsible,
            discipline_body=command.discipline_body,
            discipline_head=command.discipline_head,
            department_leaders=list(command.department_leaders),
            key_area=command.key_area,
            published_by=actor,
            published_at=now,
        )
    ]


def covers(published: ResponsibilityListPublished, on: date) -> bool:
    """Whether a list's period includes ``on`` (both ends inclusive)."""
    return published.valid_from <= on and (published.valid_to is None or on <= published.valid_to)


def list_as_of(versions: Sequence[ListVersion], on: date) -> ListVersion | None:
    """The list valid on ``on``: of those covering it, the latest-starting, then newest version.

    An open-ended list is thereby superseded by a list starting later, and a list
    re-published for the same period corrects the earlier version.
    """
    candidates = [v for v in versions if covers(v.published, on)]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (v.published.valid_from, v.version))


def _leaders(p: ResponsibilityListPublished) -> dict[str, Person]:
    """The leaders of a list by the basis a party names them with."""
    leaders = {"first_responsible": p.first_responsible, "discipline_head": p.discipline_head}
    for dl in p.department_leaders:
        leaders[f"department_leader:{dl.department}"] = dl.leader
    return leaders


def responsible_parties(found: ListVersion, department: str | None) -> list[ResponsibleParty]:
    """The parties a list makes responsible for a department: 主体, 监督, 领导责任."""
    p = found.published

    def party(
        party_id: str, kind: str, name: str, post: str | None, responsibility: str, basis: str
    ) -> ResponsibleParty:
        leader = _leaders(p).get(basis)  # a leader's sealed name goes with them
        sealed = (
            leader.model_dump(include={"person_ref", "blind_index", "sealed"}) if leader else {}
        )
        return ResponsibleParty(
            **sealed,
            party_id=party_id,
            kind=kind,
            name=name,
            post=post,
            responsibility=responsibility,
            basis=basis,
            list_id=p.list_id,
            list_version=found.version,
            valid_from=p.valid_from,
            valid_to=p.valid_to,
        )

    parties = [
        party(
            "party_committee",
            "organisation",
            p.party_committee,
            None,
            "principal",
            "party_committee",
        ),
        party(
            "first_responsible",
            "leader",
            p.first_responsible.name,
            p.first_responsible.post,
            "principal",
            "first_responsible",
        ),
        party(
            "discipline_body",
            "organisation",
            p.discipline_body,
            None,
            "supervisory",
            "discipline_body",
        ),
        party(
            "discipline_head",
            "leader",
            p.discipline_head.name,
            p.discipline_head.post,
            "supervisory",
            "discipline_head",
        ),
    ]
    for dl in p.department_leaders:
        if department is not None and dl.department == department:
            parties.append(
                party(
                    "department_leader",
                    "leader",
                    dl.leader.name,
                    dl.leader.post,
                    "leadership",
                    f"department_leader:{dl.department}",
                )
            )
    return parties


CSV_COLUMNS = ("unit", "valid_from", "valid_to", "role", "department", "name", "post", "key_area")
ROLES = (
    "party_committee",
    "first_responsible",
    "discipline_body",
    "discipline_head",
    "department_leader",
)

ROLE_LABELS = {
    "party_committee": "党委（党组）",
    "first_responsible": "第一责任人",
    "discipline_body": "纪检监察机构",
    "discipline_head": "纪检监察组组长",
    "department_leader": "分管领导",
}
"""The roles of a list's CSV as a clerk names them."""


Group = dict[str, object]
"""The entries of one list in a CSV: its roles, department leaders and key-area mark."""


@dataclass(frozen=True)
class _Row:
    """One CSV row and its line number, for errors that name the line and column."""

    cells: dict[str, str]
    line: int

    def need(self, col: str) -> str:
        value = (self.cells.get(col) or "").strip()
        if not value:
            raise Refused(
                "csv-row-invalid",
                f"第 {self.line} 行：{col} 为空。",
                field=f"line {self.line}.{col}",
            )
        return value

    def day(self, col: str) -> date | None:
        value = (self.cells.get(col) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Refused(
                "csv-row-invalid",
                f"第 {self.line} 行：{col} 「{value}」不是日期（YYYY-MM-DD）。",
                field=f"line {self.line}.{col}",
            ) from None


def _add_row(groups: dict[tuple[str, date, date | None], Group], row: _Row) -> None:
    """Put a row's entry into the list of its unit and period."""
    unit = row.need("unit")
    row.need("valid_from")
    start = row.day("valid_from")
    assert start is not None
    key = (unit, start, row.day("valid_to"))
    role = row.need("role")
    if role not in ROLES:
        raise Refused(
            "csv-row-invalid",
            f"第 {row.line} 行：角色「{role}」不在可选范围内："
            f"{'、'.join(f'{r}（{ROLE_LABELS[r]}）' for r in ROLES)}。",
            field=f"line {row.line}.role",
        )
    name = row.need("name")
    post = (row.cells.get("post") or "").strip() or None
    entry = groups.setdefault(key, {"leaders": []})
    if (row.cells.get("key_area") or "").strip().lower() in ("1", "true", "yes", "是"):
        entry["key_area"] = True
    if role == "department_leader":
        leaders = entry["leaders"]
        assert isinstance(leaders, list)
        leaders.append(
            DepartmentLeader(department=row.need("department"), leader=Person(name=name, post=post))
        )
    elif role in ("party_committee", "discipline_body"):
        entry[role] = name
    else:
        entry[role] = Person(name=name, post=post)


def _list_of(key: tuple[str, date, date | None], entry: Group) -> PublishList:
    """The list a CSV group makes; refused when one of its four roles has no row."""
    unit, start, end = key
    for role in ROLES[:4]:
        if role not in entry:
            raise Refused(
                "csv-list-incomplete",
                f"{unit}自 {start} 起的责任清单缺少{ROLE_LABELS[role]}（{role}）一行。",
                field="file",
            )
    leaders = entry["leaders"]
    assert isinstance(leaders, list)
    return PublishList(
        unit=unit,
        valid_from=start,
        valid_to=end,
        party_committee=str(entry["party_committee"]),
        first_responsible=entry["first_responsible"],  # type: ignore[arg-type]
        discipline_body=str(entry["discipline_body"]),
        discipline_head=entry["discipline_head"],  # type: ignore[arg-type]
        department_leaders=tuple(leaders),
        key_area=bool(entry.get("key_area", False)),
    )


def _unreadable(line: int) -> Refused:
    # The csv module's message is English; the clerk gets where, and what to do.
    return Refused(
        "csv-unreadable",
        f"CSV 文件第 {line} 行无法读取（单元格过长或格式有误），请检查后重新上传。",
        field="file",
        reason=f"第 {line} 行无法读取",
        line=line,
    )


def parse_csv(content: str) -> list[PublishList]:
    """Lists from a CSV upload: one row per entry, grouped by unit and period.

    Columns: unit, valid_from, valid_to, role, department, name, post, key_area; ``role``
    is one of party_committee, first_responsible, discipline_body, discipline_head,
    department_leader. Any bad row refuses the whole file, naming its line and column.
    """
    if "\x00" in content:  # PostgreSQL stores no NUL; no cell has a use for one
        line = content.count("\n", 0, content.index("\x00")) + 1
        raise Refused(
            "nul-character",
            f"CSV 文件第 {line} 行含有空字符（U+0000），请删除后重新上传。",
            field="file",
            reason=f"第 {line} 行含有空字符（U+0000）",
            line=line,
        )
    # newline="": the csv module reads a line ending in any convention (a bare \r too)
    # and a line break inside a quoted cell as part of it.
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff"), newline=""))
    try:
        columns = reader.fieldnames or ()
    except csv.Error:
        raise _unreadable(1) from None
    missing = [c for c in CSV_COLUMNS if c not in columns and c != "key_area"]
    if missing:
        raise Refused(
            "csv-columns-missing",
            f"CSV 文件缺少以下列：{'、'.join(missing)}。",
            field="file",
        )
    groups: dict[tuple[str, date, date | None], Group] = {}
    line = 1
    try:
        for line, cells in enumerate(reader, start=2):
            _add_row(groups, _Row(cells, line))
    except csv.Error:
        raise _unreadable(line + 1) from None
    out = [_list_of(key, entry) for key, entry in groups.items()]
    if not out:
        raise Refused("csv-empty", "CSV 文件没有数据行。", field="file")
    return out
