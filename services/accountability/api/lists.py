"""责任清单 over HTTP: publish lists (JSON or CSV) and ask who was responsible on a date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.accountability import (
    DepartmentLeader,
    Person,
    ResponsibilityListPublished,
    ResponsibleParty,
)
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.auth import Principal
from libs.kit.logs import correlation_id
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.accountability.api.common import Officer, Reader, command, expected_version
from services.accountability.domain.lists import (
    ListVersion,
    PublishList,
    list_as_of,
    list_stream,
    parse_csv,
    publish_list,
    responsible_parties,
)
from services.accountability.domain.rules import load_rules

router = APIRouter(prefix="/v1", tags=["responsibility lists"])

Name = Annotated[str, Field(min_length=1, max_length=100)]


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    post: str | None = Field(default=None, max_length=100)


class DepartmentLeaderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    department: Name
    leader: PersonIn


class ListIn(BaseModel):
    """A unit's responsibility list for a period (valid_to inclusive; omit for open-ended)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit: Name
    valid_from: date
    valid_to: date | None = None
    party_committee: Name
    first_responsible: PersonIn
    discipline_body: Name
    discipline_head: PersonIn
    department_leaders: list[DepartmentLeaderIn] = Field(default_factory=list, max_length=200)
    key_area: bool = False

    def command(self) -> PublishList:
        return PublishList(
            unit=self.unit,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            party_committee=self.party_committee,
            first_responsible=Person(**self.first_responsible.model_dump()),
            discipline_body=self.discipline_body,
            discipline_head=Person(**self.discipline_head.model_dump()),
            department_leaders=tuple(
                DepartmentLeader(department=d.department, leader=Person(**d.leader.model_dump()))
                for d in self.department_leaders
            ),
            key_area=self.key_area,
        )


class ListOut(BaseModel):
    """One version of a unit's list."""

    list_id: UUID
    unit: str
    version: int
    valid_from: date
    valid_to: date | None
    party_committee: str
    first_responsible: Person
    discipline_body: str
    discipline_head: Person
    department_leaders: list[DepartmentLeader]
    key_area: bool
    published_by: str
    published_at: datetime


class UploadOut(BaseModel):
    """The list versions a CSV upload published."""

    items: list[ListOut]


class PartyOut(ResponsibleParty):
    responsibility_label: str


class ResponsibilityOut(BaseModel):
    """Who was responsible for a unit (and department) on a date, and by which list."""

    unit: str
    department: str | None
    on: date
    source_list: ListOut
    parties: list[PartyOut]


def _list_out(version: int, p: ResponsibilityListPublished) -> ListOut:
    return ListOut(version=version, **p.model_dump(exclude={"type_name"}))


async def _publish(
    conn: AsyncConnection,
    store: EventStore,
    officer: Principal,
    cmd: PublishList,
    expected: int | None,
) -> dict[str, Any]:
    stream = list_stream(cmd.unit)
    events = publish_list(cmd, list_id=uuid4(), actor=officer.actor, now=store.clock())
    recorded = await store.append(
        stream,
        events,
        expected_version=ANY if expected is None else expected,
        meta=Metadata(actor=officer.actor, correlation_id=correlation_id.get() or str(uuid4())),
        conn=conn,
    )
    return _list_out(recorded[-1].version, events[0]).model_dump(mode="json")


@router.post("/responsibility-lists", status_code=201, response_model=ListOut)
async def publish(
    body: ListIn,
    officer: Officer,
    store: Store,
    idempotency_key: Annotated[str | None, Header()] = None,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Publish a new version of a unit's list; If-Match (the unit's list version) guards edits."""
    expected = expected_version(if_match)

    async def work(conn: AsyncConnection) -> tuple[int, dict[str, Any], dict[str, str]]:
        out = await _publish(conn, store, officer, body.command(), expected)
        return 201, out, {"ETag": f'"{out["version"]}"'}

    return await command(store, officer, idempotency_key, body.model_dump(mode="json"), work)


@router.post(
    "/responsibility-lists/csv",
    status_code=201,
    response_model=UploadOut,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def upload_csv(
    request: Request,
    officer: Officer,
    store: Store,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Publish lists from a CSV file (all or nothing); errors name the line and column."""
    raw = await request.body()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(
            422,
            "csv-encoding",
            "The file is not UTF-8",
            "Save the CSV as UTF-8 and upload it again.",
            errors=[{"field": "file", "reason": "not UTF-8"}],
        ) from None

    async def work(conn: AsyncConnection) -> tuple[int, dict[str, Any], dict[str, str]]:
        published = [await _publish(conn, store, officer, cmd, None) for cmd in parse_csv(content)]
        return 201, {"items": published}, {}

    return await command(store, officer, idempotency_key, {"csv": content}, work)


async def unit_lists(
    store: EventStore, unit: str, conn: AsyncConnection | None = None
) -> list[ListVersion]:
    """Every version of a unit's list, from the store (not a projection that may lag)."""
    out = []
    for r in await store.read_stream(list_stream(unit), conn=conn):
        if isinstance(r.event, ResponsibilityListPublished):
            out.append(ListVersion(r.version, r.event))
    return out


@router.get("/responsibility", response_model=ResponsibilityOut)
async def responsible_on(
    reader: Reader,
    store: Store,
    unit: Annotated[str, Query(min_length=1)],
    on: date,
    department: str | None = None,
) -> ResponsibilityOut:
    """Who was responsible for ``unit`` (and ``department``) on ``on``, from the list valid then."""
    found = list_as_of(await unit_lists(store, unit), on)
    if found is None:
        raise Problem(
            404,
            "no-list",
            "No responsibility list for that date",
            f"No responsibility list of {unit} covers {on}.",
        )
    labels = load_rules().responsibilities
    return ResponsibilityOut(
        unit=unit,
        department=department,
        on=on,
        source_list=_list_out(found.version, found.published),
        parties=[
            PartyOut(
                **p.model_dump(),
                responsibility_label=labels.get(p.responsibility, p.responsibility),
            )
            for p in responsible_parties(found, department)
        ],
    )


BY_UNIT_VERSION = Keyset(("unit", "version"), ("text", "int"), (str, int))


@router.get("/responsibility-lists", response_model=Page[ListOut])
async def list_lists(
    reader: Reader,
    store: Store,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ListOut]:
    """Every published list version, by unit then version."""
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM responsibility_lists",
            keyset=BY_UNIT_VERSION,
            where={"unit": ("unit = :unit", unit)},
            cursor=cursor,
            limit=limit,
        )
    return Page[ListOut](
        items=[ListOut(version=r["version"], **r["body"]) for r in rows], next_cursor=next_cursor
    )
