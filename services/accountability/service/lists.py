"""责任清单 as commands of the pipeline: publishing a unit's list (JSON) or many (CSV), and
the versions of a unit's list read from the store."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.accountability import (
    DepartmentLeader,
    Person,
    ResponsibilityListPublished,
)
from libs.events.store import ANY, EventStore
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem
from services.accountability.domain.lists import (
    ListVersion,
    PublishList,
    list_as_of,
    list_stream,
    parse_csv,
    publish_list,
)
from services.accountability.personal import seal_list

Name = Annotated[str, Field(min_length=1, max_length=100)]


class PersonIn(BaseModel):
    model_config = STRIPPED

    name: Name
    post: str | None = Field(default=None, max_length=100)


class DepartmentLeaderIn(BaseModel):
    model_config = STRIPPED

    department: Name
    leader: PersonIn


class ListIn(BaseModel):
    """A unit's responsibility list for a period (valid_to inclusive; omit for open-ended)."""

    model_config = STRIPPED

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


def list_out(version: int, p: ResponsibilityListPublished) -> dict[str, Any]:
    """A published version as the API shows it: leaders' names masked."""
    out = ListOut(version=version, **p.model_dump(exclude={"type_name"}))
    return dict(pii.scrubbed(out.model_dump(mode="json")))


async def unit_lists(
    store: EventStore, unit: str, conn: AsyncConnection | None = None
) -> list[ListVersion]:
    """Every version of a unit's list, from the store (not a projection that may lag)."""
    out = []
    for r in await store.read_stream(list_stream(unit), conn=conn):
        if isinstance(r.event, ResponsibilityListPublished):
            out.append(ListVersion(r.version, r.event))
    return out


async def list_on(store: EventStore, unit: str, on: date) -> ListVersion:
    """The version of a unit's list valid on ``on``; 404 when none covers it."""
    found = list_as_of(await unit_lists(store, unit), on)
    if found is None:
        raise Problem(
            404,
            "no-list",
            "该日期没有责任清单",
            f"{unit}没有覆盖 {on} 的责任清单。",
        )
    return found


Published = tuple[ResponsibilityListPublished, ...]


def _published(state: Published, event: Event) -> Published:
    return (*state, event) if isinstance(event, ResponsibilityListPublished) else state


UNIT_LISTS: Aggregate[Published] = Aggregate(
    noun="responsibility list",
    label="责任清单",
    stream=list_stream,
    initial=tuple,
    evolve=_published,
    # Every unit has a list stream to publish on, empty until its first version.
    exists=lambda state: True,
)
"""A unit's responsibility lists: one stream per unit, a version per publication."""


async def _publish(state: Published, body: ListIn, ctx: Context) -> list[Event]:
    decided = publish_list(body.command(), list_id=uuid4(), actor=ctx.actor, now=ctx.now)
    return [await seal_list(e, ctx) for e in decided]


PUBLISH: Command[Published] = Command(
    name="publish_list",
    aggregate=UNIT_LISTS,
    decide=_publish,
    render=lambda state, ctx: list_out(ctx.version, state[-1]),
    status_code=201,
)
"""Publish a new version of a unit's list (keyed by the unit); If-Match guards edits."""


UPLOADS: Aggregate[None] = Aggregate(
    noun="upload",
    label="上传文件",
    stream=lambda key: "resplist-uploads",
    initial=lambda: None,
    evolve=lambda state, event: state,
    exists=lambda state: True,
)
"""A CSV upload is no matter of its own: nothing is appended to its stream; the lists it
holds go to their units' streams, in the upload's transaction."""


async def _decide_upload(state: None, content: str, ctx: Context) -> list[Event]:
    ctx.result = [
        [
            await seal_list(e, ctx)
            for e in publish_list(c, list_id=uuid4(), actor=ctx.actor, now=ctx.now)
        ]
        for c in parse_csv(content)
    ]
    return []


async def _publish_upload(state: None, events: list[Event], ctx: Context) -> None:
    published: list[dict[str, Any]] = []
    for decided in ctx.result:
        recorded = await ctx.store.append(
            list_stream(decided[0].unit),
            decided,
            expected_version=ANY,
            meta=ctx.meta,
            conn=ctx.conn,
        )
        published.append(list_out(recorded[-1].version, decided[0]))
    ctx.result = published


UPLOAD: Command[None] = Command(
    name="upload_lists",
    aggregate=UPLOADS,
    decide=_decide_upload,
    render=lambda state, ctx: {"items": ctx.result},
    after=_publish_upload,
    status_code=201,
)
"""Publish the lists of a CSV file (all or nothing)."""
