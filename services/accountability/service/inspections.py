"""巡察 findings: a 巡察组 (a partner client with ``findings:report``) reports the problems it
found in a unit; they become the unit's rectification list with the 双报告 and deadlines.
The group's clues go through intake's transfer API (source kind ``inspection``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, Field

from libs.events.contracts import Event
from libs.kit.auth import Principal
from libs.kit.commands import AnsweredBefore, Command, Context
from libs.kit.fields import STRIPPED
from services.accountability.domain.rectification import RectificationList
from services.accountability.service.rectification import (
    LIST,
    ItemIn,
    OpenIn,
    SourceIn,
    open_list_events,
    view,
)

Short = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = STRIPPED


DEFAULT_OWNER = "被巡察单位党组织"
"""Who owns a finding the group did not assign: the unit's party organisation (主体责任)."""


class FindingIn(_In):
    """One problem the 巡察 found, and what the group recommends."""

    problem: Text
    category: str | None = Field(default=None, max_length=50)
    suggestion: str = Field(default="", max_length=2000, description="整改建议")
    owner: Short = DEFAULT_OWNER
    immediate: bool = Field(default=False, description="立行立改")


class FindingsIn(_In):
    """巡察反馈: the findings of one round in one unit."""

    reference: Short = Field(description="巡察反馈意见的文号或编号")
    round: Short = Field(description="巡察轮次，如「十五届县委第二轮巡察」")
    unit: Short
    summary: str = Field(default="", max_length=4000)
    findings: list[FindingIn] = Field(min_length=1, max_length=200)
    clue_numbers: list[Short] = Field(
        default_factory=list, max_length=200, description="已通过线索移送接口移交的线索编号"
    )


def findings_list_id(group: Principal, unit: str, reference: str) -> UUID:
    """One list per group, unit and reference: a retry names the same list."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:inspection:{group.actor}:{unit}:{reference}")


def _as_list(body: FindingsIn) -> OpenIn:
    summary = body.summary
    if body.clue_numbers:
        summary = f"{summary}（移交问题线索：{'、'.join(body.clue_numbers)}）".lstrip()
    return OpenIn(
        unit=body.unit,
        title=f"{body.round}反馈问题整改清单",
        source=SourceIn(kind="inspection", reference=body.reference, summary=summary),
        items=[
            ItemIn(
                problem=f.problem,
                owner=f.owner,
                measures=[f.suggestion] if f.suggestion else [],
                category=f.category,
                immediate=f.immediate,
            )
            for f in body.findings
        ],
        dual_report=True,
    )


async def _report(state: RectificationList, body: FindingsIn, ctx: Context) -> list[Event]:
    if state.opened is not None:  # the group sent these findings before: the first answer
        raise AnsweredBefore(view(state, ctx.version, ctx.deps.rectification))
    return await open_list_events(state, ctx, list_id=ctx.key, body=_as_list(body))


FINDINGS_LIST = replace(LIST, exists=lambda state: True, label="巡察整改清单")
"""The list a 巡察's findings open: known by the group's reference, so a retry is answered."""

REPORT_FINDINGS: Command[RectificationList] = Command(
    name="report_inspection_findings",
    aggregate=FINDINGS_LIST,
    decide=_report,
    render=lambda state, ctx: view(state, ctx.version, ctx.deps.rectification),
    status_code=201,
    label="巡察反馈问题",
    location=lambda body: f"/v1/inspection-findings/{body['list_id']}",
)
