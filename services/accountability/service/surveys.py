"""民主评议 surveys as commands of the pipeline: publish a questionnaire about a unit with
its tokens (links / QR codes), and answer it once per token, anonymously.

A response is two appends in one transaction: ``survey_ballot_cast`` on the token's own
stream (``survey-ballot-{survey}-{hash of the token}``; a second use finds it there) and
``survey_answered`` — the answers only — on a stream of its own, so nothing ties answers to
a token or a person. The respondent's events are recorded as ``public:respondent``. The
free answers go in ``texts``, which the store seals with the survey's key (a respondent's
words can name a person); scale and choice answers stay codes for the tally.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from libs.events.contracts import Event
from libs.events.contracts.oversight import (
    Question,
    SurveyAnswered,
    SurveyBallotCast,
    SurveyPublished,
)
from libs.events.store import NO_STREAM, EventStore
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem, invalid_field, invalid_fields
from libs.kit.refusal import Refused
from services.accountability.domain import surveys
from services.accountability.domain.analysis import APPRAISAL_PERIOD_PATTERN, ReportPeriod

RESPONDENT = Principal(subject="respondent", kind="public")
"""Every respondent, as one: the events never say who answered."""


QUESTIONNAIRES = "questionnaires"
"""``x-catalogue`` of a questionnaire's code (``data/surveys.json``)."""
DUPLICATE_CODE = (422, "duplicate-question-code", "题目代码不能重复")
CHOICES_REQUIRED = (422, "choices-required", "选择题至少要有两个选项")


class SurveyIn(BaseModel):
    """A 民主评议 survey: whom it appraises, for which period, which questionnaire, how many
    respondents (tokens)."""

    model_config = STRIPPED

    unit: Annotated[str, Field(min_length=2, max_length=200)]
    period: Annotated[
        str, Field(min_length=4, max_length=7, pattern=APPRAISAL_PERIOD_PATTERN, examples=["2026"])
    ]
    """The 考核评价 period it counts for: ``2026`` or ``2026-H2``."""
    questionnaire: Annotated[
        str | None, Field(max_length=40, json_schema_extra={"x-catalogue": QUESTIONNAIRES})
    ] = "democratic_appraisal"
    """A questionnaire of ``data/surveys.json``; or give ``questions``."""
    title: Annotated[str | None, Field(max_length=200)] = None
    questions: Annotated[list[Question] | None, Field(max_length=50)] = None
    tokens: Annotated[int, Field(ge=1, le=20000)]


def _mac(deps: Any) -> surveys.Mac:
    vault = deps.vault
    return lambda survey_id, serial: vault.blind_index("survey_token", survey_id, str(serial))


def links(survey: SurveyPublished, deps: Any) -> list[dict[str, str]]:
    """Each token with the path a respondent opens (a QR code encodes the same)."""
    mac, sid = _mac(deps), str(survey.survey_id)
    out = []
    for serial in range(survey.tokens):
        t = surveys.token(sid, serial, mac)
        out.append({"token": t, "link": f"/v1/surveys/{sid}/form?token={t}"})
    return out


Survey = SurveyPublished | None

SURVEY: Aggregate[Survey] = Aggregate(
    noun="survey",
    label="民主评议问卷",
    stream=lambda survey_id: f"survey-{survey_id}",
    initial=lambda: None,
    evolve=lambda state, e: e if isinstance(e, SurveyPublished) else state,
)


def _questions(body: SurveyIn, deps: Any) -> tuple[str, list[Question]]:
    if body.questions:
        codes = [q.code for q in body.questions]
        if len(set(codes)) != len(codes):  # a schema cannot say an item's field is unique
            raise invalid_fields(
                [{"field": "questions", "reason": "题目代码不能重复"}], DUPLICATE_CODE[1]
            )
        bare = [
            i for i, q in enumerate(body.questions) if q.kind == "choice" and len(q.choices) < 2
        ]
        if bare:
            raise invalid_fields(
                [{"field": f"questions.{bare[0]}.choices", "reason": "选择题至少要有两个选项"}],
                CHOICES_REQUIRED[1],
            )
        return body.title or "民主评议问卷", body.questions
    found = deps.questionnaires.get(body.questionnaire or "")
    if found is None:
        raise invalid_field("questionnaire", f"没有问卷「{body.questionnaire}」")
    return body.title or found["title"], [Question(**q) for q in found["questions"]]


def _publish(state: Survey, body: SurveyIn, ctx: Context) -> list[Event]:
    try:
        period = ReportPeriod.parse(body.period)
    except ValueError:
        raise invalid_field("period", "应为年度 2026 或半年 2026-H1") from None
    if period.months not in (6, 12):
        raise invalid_field("period", "民主评议按年度或半年进行，如 2026 或 2026-H1")
    title, questions = _questions(body, ctx.deps)
    return [
        SurveyPublished(
            survey_id=ctx.key, title=title, unit=body.unit, period=period.code,
            questions=questions, tokens=body.tokens, published_by=ctx.actor,
            published_at=ctx.now,
        )
    ]  # fmt: skip


def survey_body(state: Survey, deps: Any, with_links: bool = False) -> dict[str, Any]:
    """A survey as its answers show it (with its links for the office that hands them out)."""
    if state is None:
        return {}
    body = state.model_dump(mode="json")
    if with_links:
        body["links"] = links(state, deps)
    return body


PUBLISH_SURVEY: Command[Survey] = Command(
    name="publish_survey",
    aggregate=SURVEY,
    decide=_publish,
    render=lambda state, ctx: survey_body(state, ctx.deps, with_links=True),
    status_code=201,
    creates=True,
    new_key=uuid4,
    body_model=SurveyIn,
    label="发布民主评议问卷",
    location=lambda body: f"/v1/surveys/{body['survey_id']}",
)
"""Publish a questionnaire about a unit with ``tokens`` links, each good for one answer."""


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=3, max_length=40)]
    answers: dict[str, Any]


def ballot_stream(key: tuple[UUID, str]) -> str:
    """The stream of one token: its hash, never the token."""
    survey_id, presented = key
    digest = hashlib.sha256(f"{survey_id}|{presented}".encode()).hexdigest()[:40]
    return f"survey-ballot-{survey_id}-{digest}"


BALLOT: Aggregate[bool] = Aggregate(
    noun="ballot",
    label="问卷",
    stream=ballot_stream,
    initial=lambda: False,
    evolve=lambda cast, e: cast or isinstance(e, SurveyBallotCast),
    exists=lambda cast: True,
)
"""One token of a survey: cast or not."""


async def published(store: EventStore, survey_id: UUID, conn: Any = None) -> SurveyPublished:
    """The survey as published; 404 when there is none."""
    records = await store.read_stream(SURVEY.stream(survey_id), conn=conn)
    survey = SURVEY.replay([r.event for r in records])
    if survey is None:
        raise SURVEY.missing_problem(survey_id)
    return survey


def check_token(survey: SurveyPublished, presented: str, deps: Any) -> None:
    """403 unless the token is one the survey issued."""
    if not surveys.valid(str(survey.survey_id), survey.tokens, presented, _mac(deps)):
        raise Problem(
            403, "invalid-token", "链接无效", "该问卷链接（二维码）无效，请使用发放给您的链接。",
            errors=[{"field": "token", "reason": "不是本问卷发放的链接"}],
        )  # fmt: skip


async def _answer(cast: bool, body: ResponseIn, ctx: Context) -> list[Event]:
    survey_id, presented = ctx.key
    survey = await published(ctx.store, survey_id, ctx.conn)
    check_token(survey, presented, ctx.deps)
    if cast:
        raise Refused(
            "already-answered",
            "该链接（二维码）已提交过问卷，每个链接只能提交一次。",
            kind="conflict",
            title="问卷已提交",
        )
    wrong = surveys.problems(survey.questions, body.answers)
    if wrong:
        raise invalid_fields(wrong)
    free = {q.code for q in survey.questions if q.kind == "text"}
    ctx.result = SurveyAnswered(
        survey_id=survey_id,
        answers={k: v for k, v in body.answers.items() if k not in free},
        texts={k: v for k, v in body.answers.items() if k in free and v},
    )
    return [SurveyBallotCast(survey_id=survey_id)]


async def _record_answers(cast: bool, events: list[Event], ctx: Context) -> None:
    """``after`` the ballot: the answers, on a stream of their own (nothing links them)."""
    await ctx.store.append(
        f"survey-response-{uuid4()}", [ctx.result], expected_version=NO_STREAM, meta=ctx.meta,
        conn=ctx.conn,
    )  # fmt: skip


ANSWER_SURVEY: Command[bool] = Command(
    name="answer_survey",
    aggregate=BALLOT,
    decide=_answer,
    render=lambda cast, ctx: {"status": "recorded", "message": "问卷已提交，感谢您的参与。"},
    status_code=201,
    after=_record_answers,
    etag=False,
    body_model=ResponseIn,
    label="提交民主评议问卷",
    actor=lambda principal: "public:respondent",
)
"""One anonymous response per token."""
