"""典型案例通报曝光 as a command of the pipeline: a decided case published once by name."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event
from libs.events.contracts.accountability import TypicalCasePublished
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.problems import Problem
from libs.kit.refusal import Refused
from services.accountability import queries


class TypicalCaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_id: UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    text: Annotated[str, Field(min_length=1, max_length=20000)]


class TypicalCaseOut(BaseModel):
    publication_id: UUID
    case_id: UUID
    title: str
    text: str
    published_by: str
    published_at: datetime


Publication = TypicalCasePublished | None


def _published(state: Publication, event: Event) -> Publication:
    return event if isinstance(event, TypicalCasePublished) else state


TYPICAL_CASE: Aggregate[Publication] = Aggregate(
    noun="typical case",
    stream=lambda case_id: f"typical-{case_id}",
    initial=lambda: None,
    evolve=_published,
    # A case not yet published is still one to publish: the command says why it may not.
    exists=lambda state: True,
)
"""The publication of one case (keyed by the case): at most one event."""


async def _publish(state: Publication, body: TypicalCaseIn, ctx: Context) -> list[Event]:
    if not await queries.case_decided(ctx.conn, body.case_id):
        raise Problem(
            422,
            "case-not-decided",
            "Only a decided case can be published",
            f"No decision of case {body.case_id} has reached accountability.",
            errors=[{"field": "case_id", "reason": "no decision known"}],
        )
    if state is not None:
        raise Refused(
            "already-published",
            "A typical case is published once; its publication stays on record.",
            kind="conflict",
            title="This case was already published",
        )
    return [
        TypicalCasePublished(
            publication_id=uuid4(),
            case_id=body.case_id,
            title=body.title,
            text=body.text,
            published_by=ctx.actor,
            published_at=ctx.now,
        )
    ]


PUBLISH_TYPICAL_CASE: Command[Publication] = Command(
    name="publish_typical_case",
    aggregate=TYPICAL_CASE,
    decide=_publish,
    render=lambda state, ctx: state.model_dump(mode="json") if state else {},
    status_code=201,
)
"""Publish a decided case by name; each case is published once."""
