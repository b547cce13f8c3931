"""考核评价 as commands of the pipeline: appraise every unit for an ended year or half-year,
once (the appraisal creates its stream ``appraisal-{period}``), and 约谈 for the units
under the model's line — each a task on its own stream (``interview-{task_id}``), in the
to-do the console reads (``GET /v1/interviews?status=open``) until it is recorded held."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from libs.events.contracts import Event
from libs.events.contracts.oversight import (
    IndicatorScore,
    InterviewHeld,
    InterviewRequired,
    Question,
    UnitAppraised,
)
from libs.events.store import NO_STREAM
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem, invalid_field, invalid_fields
from libs.kit.refusal import Refused
from services.accountability import queries_oversight
from services.accountability.domain.analysis import APPRAISAL_PERIOD_PATTERN, ReportPeriod
from services.accountability.domain.appraisal import Appraisal, UnitFigures, appraise, weakest
from services.accountability.domain.surveys import tally
from services.accountability.queries import Period

PERIOD_NOT_ENDED = (422, "period-not-ended", "期间尚未结束，期满后才能办理")


class AppraisalIn(BaseModel):
    """Appraise every unit for a period; the 12345 platform's satisfaction rates, if any."""

    model_config = STRIPPED

    period: Annotated[
        str, Field(min_length=4, max_length=7, pattern=APPRAISAL_PERIOD_PATTERN, examples=["2026"])
    ]
    hotline_satisfaction: dict[str, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict
    )
    """Per unit, the 12345 满意率 in percent for the period."""


def _period(code: str, today: date) -> ReportPeriod:
    try:
        period = ReportPeriod.parse(code)
    except ValueError:
        raise invalid_field("period", "应为年度 2026 或半年 2026-H1") from None
    if period.months not in (6, 12):
        raise invalid_field("period", "考核评价按年度或半年进行，如 2026 或 2026-H1")
    if not period.ended_by(today):  # a schema cannot compare a period with today
        raise Problem(
            422,
            PERIOD_NOT_ENDED[1],
            "考核期间尚未结束",
            f"{period.label}尚未结束，期满后才能考核评价。",
            errors=[{"field": "period", "reason": f"{period.label}尚未结束"}],
        )
    return period


async def _survey_score(ctx: Context, unit: str, period: str) -> tuple[float | None, int]:
    """The unit's 民主评议 score: each survey's tally, weighted by its responses."""
    total, weighted = 0, 0.0
    for survey in await queries_oversight.surveys_of(ctx.conn, unit, period):
        answers = await queries_oversight.survey_answers(ctx.conn, survey["survey_id"])
        result = tally([Question(**q) for q in survey["questions"]], answers)
        if result["score"] is not None:
            total += result["responses"]
            weighted += result["score"] * result["responses"]
    return (round(weighted / total, 1) if total else None), total


async def figures_of(
    ctx: Context, unit: str, period: ReportPeriod, hotline: float | None
) -> UnitFigures:
    """What every source says about ``unit`` for ``period``."""
    tz = ZoneInfo(ctx.deps.rules.reports.timezone)
    facts = await queries_oversight.unit_facts(ctx.conn, unit, Period(*period.bounds(tz)))
    survey, responses = await _survey_score(ctx, unit, period.code)
    return UnitFigures(**facts, hotline=hotline, survey=survey, survey_responses=responses)


def task_id(period: str, unit: str) -> UUID:
    """The 约谈 task of a unit for a period (one per appraisal)."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:accountability:interview:{period}:{unit}")


def _appraised(a: Appraisal, period: str, ctx: Context) -> UnitAppraised:
    return UnitAppraised(
        period=period, unit=a.unit, score=a.score, grade=a.grade, grade_label=a.grade_label,
        indicators=[IndicatorScore(code=s.code, label=s.label, weight=s.weight, score=s.score,
                                   basis=s.basis) for s in a.indicators],
        explanation=a.explanation, model_version=ctx.deps.appraisal.version, appraised_at=ctx.now,
    )  # fmt: skip


async def _appraise(state: list[Event], body: AppraisalIn, ctx: Context) -> list[Event]:
    model = ctx.deps.appraisal
    today = ctx.now.astimezone(ZoneInfo(ctx.deps.rules.reports.timezone)).date()
    period = _period(body.period, today)
    if state:
        raise Refused(
            "already-appraised", f"{period.label}已完成考核评价，结果不再重算。",
            kind="conflict", title="已考核评价",
        )  # fmt: skip
    units = await queries_oversight.appraisal_units(ctx.conn, period.code)
    unknown = [u for u in body.hotline_satisfaction if u not in units]
    if unknown:  # a misspelt unit would be appraised on its hotline rate alone
        raise invalid_fields(
            [
                {"field": f"hotline_satisfaction.{u}", "reason": "本系统没有这个单位"}
                for u in unknown
            ]
        )
    if not units:
        raise Refused("no-units", "本系统尚无任何单位的数据，无法考核评价。", kind="conflict")
    results = [
        appraise(u, await figures_of(ctx, u, period, body.hotline_satisfaction.get(u)), model)
        for u in units
    ]
    due = today + timedelta(days=model.interview_days)
    ctx.result = [
        InterviewRequired(
            task_id=task_id(period.code, a.unit), unit=a.unit, period=period.code, score=a.score,
            reason=f"{period.label}考核评价{a.score:g}分（{a.grade_label}），低于{model.interview_below:g}分；"
            + "失分主要在" + "、".join(s.label for s in weakest(a)),
            role=model.interview_role, due_on=due, required_at=ctx.now,
        )
        for a in results
        if a.interview
    ]  # fmt: skip
    return [_appraised(a, period.code, ctx) for a in results]


async def _open_interviews(state: list[Event], events: list[Event], ctx: Context) -> None:
    """``after`` the appraisal: each 约谈 task on its own stream, in the to-do."""
    for required in ctx.result or []:
        await ctx.store.append(
            f"interview-{required.task_id}", [required], expected_version=NO_STREAM,
            meta=ctx.meta, conn=ctx.conn,
        )  # fmt: skip


def appraisal_body(state: list[Event], ctx: Context) -> dict[str, Any]:
    """The period's scores, lowest first, and the 约谈 tasks it opened."""
    scores = sorted(
        (e.model_dump(mode="json") for e in state if isinstance(e, UnitAppraised)),
        key=lambda s: (s["score"], s["unit"]),
    )
    interviews = [r.model_dump(mode="json") for r in (ctx.result or [])]
    period = scores[0]["period"] if scores else None
    return {"period": period, "units": scores, "interviews": interviews}


APPRAISAL: Aggregate[list[Event]] = Aggregate(
    noun="appraisal",
    label="考核评价",
    stream=lambda period: f"appraisal-{period}",
    initial=list,
    evolve=lambda state, e: [*state, e],
    exists=lambda state: True,
)

APPRAISE: Command[list[Event]] = Command(
    name="appraise_units",
    aggregate=APPRAISAL,
    decide=_appraise,
    render=appraisal_body,
    status_code=201,
    after=_open_interviews,
    body_model=AppraisalIn,
    label="考核评价",
    location=lambda body: f"/v1/appraisals?period={body['period']}",
)
"""Appraise every unit for an ended year or half-year, once; 约谈 for the low scores."""


class InterviewHeldIn(BaseModel):
    model_config = STRIPPED

    held_on: date
    note: Annotated[str, Field(min_length=2, max_length=2000)]
    """Who was talked to (by post), what the unit must do."""


Interview = tuple[InterviewRequired | None, InterviewHeld | None]

INTERVIEW: Aggregate[Interview] = Aggregate(
    noun="interview",
    label="约谈",
    stream=lambda tid: f"interview-{tid}",
    initial=lambda: (None, None),
    evolve=lambda s, e: (
        (e, s[1])
        if isinstance(e, InterviewRequired)
        else ((s[0], e) if isinstance(e, InterviewHeld) else s)
    ),
)


def _held(state: Interview, body: InterviewHeldIn, ctx: Context) -> list[Event]:
    required, held = state
    if held is not None:
        raise Refused("already-held", "该约谈已记录完成。", kind="conflict", title="约谈已完成")
    if required is not None and body.held_on < required.required_at.date():
        raise invalid_field("held_on", "约谈日期不得早于约谈任务下达日期")
    if body.held_on > ctx.now.date():
        raise invalid_field("held_on", "约谈日期不得晚于今天")
    return [
        InterviewHeld(
            task_id=ctx.key, held_on=body.held_on, note=body.note, recorded_by=ctx.actor,
            recorded_at=ctx.now,
        )
    ]  # fmt: skip


def interview_body(state: Interview, ctx: Context | None = None) -> dict[str, Any]:
    """A 约谈 task and, once held, when and what."""
    required, held = state
    body: dict[str, Any] = required.model_dump(mode="json") if required else {}
    body["status"] = "held" if held else "open"
    body["status_label"] = "已约谈" if held else "待约谈"
    body["held"] = held.model_dump(mode="json") if held else None
    return body


RECORD_INTERVIEW: Command[Interview] = Command(
    name="record_interview",
    aggregate=INTERVIEW,
    decide=_held,
    render=interview_body,
    body_model=InterviewHeldIn,
    label="记录约谈",
)
"""约谈 held: the task leaves the to-do."""
