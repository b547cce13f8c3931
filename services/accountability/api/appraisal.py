"""考核评价 and 民主评议 over HTTP: appraise the units of a period, read the scores with
their explanation, the 约谈 to-do, and surveys — published by the office, answered by
anyone holding a link (no account), tallied anonymously."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.openapi import refusals
from libs.kit.service import ReadConnection, Store
from services.accountability import queries_oversight
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader
from services.accountability.domain.surveys import free_answers, tally
from services.accountability.service.appraisal import (
    APPRAISE,
    PERIOD_NOT_ENDED,
    RECORD_INTERVIEW,
    AppraisalIn,
    InterviewHeldIn,
)
from services.accountability.service.surveys import (
    ANSWER_SURVEY,
    CHOICES_REQUIRED,
    DUPLICATE_CODE,
    PUBLISH_SURVEY,
    RESPONDENT,
    ResponseIn,
    SurveyIn,
    check_token,
    links,
    published,
    survey_body,
)

router = APIRouter(prefix="/v1", tags=["appraisal"])


@router.post("/appraisals", status_code=201, responses=refusals(PERIOD_NOT_ENDED))
async def appraise_units(
    body: AppraisalIn,
    officer: Officer,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """考核评价 of every unit for an ended year (``2026``) or half-year (``2026-H1``), once;
    units under the model's line get a 约谈 task."""
    return await commands.run(APPRAISE, body.period, body, officer, idempotency_key=idempotency_key)


@router.get("/appraisals")
async def appraisals(
    reader: Reader,
    conn: ReadConnection,
    deps: AccountabilityDeps,
    period: Annotated[str, Query(min_length=4, max_length=7)],
) -> JSONResponse:
    """A period's scores, lowest first, each with its indicators, grade and explanation."""
    rows = await queries_oversight.appraisals(conn, period)
    labels = {code: label for _, code, label in deps.appraisal.grades}
    for r in rows:
        r["grade_label"] = labels.get(r["grade"], r["grade"])
    return JSONResponse(jsonable_encoder({"period": period, "items": rows}))


@router.get("/interviews")
async def interviews(
    reader: Reader,
    conn: ReadConnection,
    status: Annotated[str | None, Query(pattern="^(open|held)$")] = None,
    unit: str | None = None,
) -> JSONResponse:
    """约谈 tasks (the console's to-do reads ``status=open``), soonest due first."""
    rows = await queries_oversight.interviews(conn, status, unit)
    for r in rows:
        r["status_label"] = "待约谈" if r["status"] == "open" else "已约谈"
    return JSONResponse(jsonable_encoder({"items": rows, "next_cursor": None}))


@router.post("/interviews/{task_id}/held")
async def record_interview(
    task_id: UUID,
    body: InterviewHeldIn,
    officer: Officer,
    commands: Commands,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """约谈 held: when, with whom (by post), what the unit must do; it leaves the to-do."""
    return await commands.run(
        RECORD_INTERVIEW, task_id, body, officer, if_match=if_match, idempotency_key=idempotency_key
    )


@router.post("/surveys", status_code=201, responses=refusals(DUPLICATE_CODE, CHOICES_REQUIRED))
async def publish_survey(
    body: SurveyIn, officer: Officer, commands: Commands, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """民主评议: a questionnaire about a unit for a period with ``tokens`` links (each also a
    QR code's text), each good for one anonymous answer."""
    return await commands.run(PUBLISH_SURVEY, None, body, officer, idempotency_key=idempotency_key)


@router.get("/surveys")
async def surveys(
    reader: Reader,
    conn: ReadConnection,
    unit: Annotated[str, Query(min_length=2, max_length=200)],
    period: Annotated[str, Query(min_length=4, max_length=7)],
) -> JSONResponse:
    """The 民主评议 surveys published about a unit for a period, oldest first (their results
    at ``/v1/surveys/{survey_id}/results``)."""
    rows = await queries_oversight.surveys_of(conn, unit, period)
    items = [
        {k: r[k] for k in ("survey_id", "title", "unit", "period", "tokens", "published_at")}
        for r in rows
    ]
    return JSONResponse(jsonable_encoder({"items": items, "next_cursor": None}))


@router.get("/surveys/{survey_id}/links")
async def survey_links(
    survey_id: UUID, officer: Officer, store: Store, deps: AccountabilityDeps
) -> JSONResponse:
    """The survey's links again (they are derived, not stored), for printing the QR codes."""
    return JSONResponse({"items": links(await published(store, survey_id), deps)})


@router.get("/surveys/{survey_id}/form")
async def survey_form(
    survey_id: UUID,
    store: Store,
    deps: AccountabilityDeps,
    token: Annotated[str, Query(max_length=40)],
) -> JSONResponse:
    """The questionnaire, for whoever holds one of its links (no account)."""
    survey = await published(store, survey_id)
    check_token(survey, token, deps)
    body = survey_body(survey, deps)
    return JSONResponse({k: body[k] for k in ("survey_id", "title", "unit", "period", "questions")})


@router.post("/surveys/{survey_id}/responses", status_code=201)
async def answer_survey(survey_id: UUID, body: ResponseIn, commands: Commands) -> JSONResponse:
    """One anonymous answer per link: a second one with the same link is 409."""
    return await commands.run(ANSWER_SURVEY, (survey_id, body.token), body, RESPONDENT)


@router.get("/surveys/{survey_id}/results")
async def survey_results(survey_id: UUID, reader: Reader, store: Store) -> JSONResponse:
    """The anonymous tally: responses, per question the distribution, the score out of 100."""
    survey = await published(store, survey_id)
    async with store.engine.connect() as conn:
        answers = await queries_oversight.survey_answers(conn, survey_id)
    return JSONResponse(
        {
            "survey_id": str(survey_id), "title": survey.title, "unit": survey.unit,
            "period": survey.period, "tokens": survey.tokens, **tally(survey.questions, answers),
        }
    )  # fmt: skip


@router.get("/surveys/{survey_id}/texts")
async def survey_texts(survey_id: UUID, officer: Officer, store: Store) -> JSONResponse:
    """文字意见: the survey's free answers for 党风政风监督室, question by question, in no order
    of arrival; stored sealed with the survey's key and opened for the office's reader."""
    survey = await published(store, survey_id)
    async with store.engine.connect() as conn:
        answers = await queries_oversight.survey_answers(conn, survey_id)
    items = free_answers(survey.questions, answers)
    return JSONResponse({"items": items, "next_cursor": None})
