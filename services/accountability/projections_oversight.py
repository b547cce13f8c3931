"""Read models of the long-term mechanisms: 廉政档案 facts and 意见回复 (and, beside them,
考核评价 and 民主评议). Every write comes from an event and its own fields, so a rebuild
from position 0 gives the rows the live projection wrote."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.accountability import (
    CaseDecisionNoted,
    CaseDecisionRevisionNoted,
    CaseMilestoneNoted,
)
from libs.events.contracts.oversight import (
    CadreMatterNoted,
    IntegrityReplyIssued,
    InterviewHeld,
    InterviewRequired,
    SurveyAnswered,
    SurveyPublished,
    UnitAppraised,
)
from libs.events.dispatch import ProjectionDispatch
from libs.events.store import Recorded

_INTEGRITY = ProjectionDispatch()

_INSERT = """INSERT INTO integrity_facts (fact_id, person_ref, kind, case_id, case_number, form,
                 measures, categories, detail, at)
             VALUES (:id, :ref, :kind, :case, :no, :form, :ms, :cats, CAST(:detail AS jsonb), :at)
             ON CONFLICT DO NOTHING"""

_OF_CASE = """INSERT INTO integrity_facts (fact_id, person_ref, kind, case_id, case_number, form,
                  measures, at)
              SELECT DISTINCT ON (person_ref) CAST(:id AS text) || '-' || person_ref, person_ref, :kind, :case,
                  :no, :form, :ms, :at
              FROM integrity_facts WHERE case_id = :case AND kind IN ('decision', 'case_filed')
              ON CONFLICT DO NOTHING"""
"""A fact about a case whose event names no person: for whoever the case is about."""


class IntegrityProjection:
    """廉政档案: every fact about a cadre by pseudonym; every reply given about one."""

    name: str = "integrity"
    tables: Sequence[str] = ("integrity_facts", "integrity_replies")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add the fact or the reply."""
        await _INTEGRITY.apply(conn, recorded)


@_INTEGRITY.on(CaseDecisionNoted)
async def _decided(e: CaseDecisionNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    if e.subject_ref is None:
        return
    await conn.execute(
        text(_INSERT),
        {
            "id": str(recorded.envelope.id), "ref": e.subject_ref, "kind": "decision",
            "case": e.case_id, "no": e.case_number, "form": e.form, "ms": e.measures,
            "cats": e.categories, "detail": None, "at": e.decided_at,
        },
    )  # fmt: skip


@_INTEGRITY.on(CaseDecisionRevisionNoted)
async def _revised(e: CaseDecisionRevisionNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(_OF_CASE),
        {
            "id": str(recorded.envelope.id), "kind": "revision", "case": e.case_id,
            "no": e.case_number, "form": e.form, "ms": e.measures, "at": e.revised_at,
        },
    )  # fmt: skip


@_INTEGRITY.on(CaseMilestoneNoted)
async def _milestone(e: CaseMilestoneNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    if e.milestone != "closed":
        return  # a filing is noted on the cadre's stream, with the person
    await conn.execute(
        text(_OF_CASE),
        {
            "id": str(recorded.envelope.id), "kind": "case_closed", "case": e.case_id,
            "no": e.case_number, "form": None, "ms": [], "at": e.at,
        },
    )  # fmt: skip


@_INTEGRITY.on(CadreMatterNoted)
async def _cadre(e: CadreMatterNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    detail = {
        "clue_id": str(e.clue_id) if e.clue_id else None, "clue_number": e.clue_number,
        "method": e.method, "outcome": e.outcome,
    }  # fmt: skip
    await conn.execute(
        text(_INSERT),
        {
            "id": str(recorded.envelope.id), "ref": e.person_ref, "kind": e.kind,
            "case": e.case_id, "no": e.case_number, "form": None, "ms": [],
            "cats": e.categories, "detail": json.dumps(detail, ensure_ascii=False), "at": e.at,
        },
    )  # fmt: skip


@_INTEGRITY.on(IntegrityReplyIssued)
async def _replied(e: IntegrityReplyIssued, conn: AsyncConnection, recorded: Recorded) -> None:
    for ref in dict.fromkeys([e.cadre_ref, *e.person_refs]):
        await conn.execute(
            text(
                """INSERT INTO integrity_replies (reply_id, person_ref, requested_by, purpose,
                       conclusion, issued_at)
                   VALUES (:id, :ref, :by, :purpose, :c, :at) ON CONFLICT DO NOTHING"""
            ),
            {
                "id": e.reply_id, "ref": ref, "by": e.requested_by, "purpose": e.purpose,
                "c": e.conclusion, "at": e.issued_at,
            },
        )  # fmt: skip


_APPRAISAL = ProjectionDispatch()


class AppraisalProjection:
    """考核评价: scores per period and unit; 约谈 tasks, open until held; 民主评议 surveys
    and their anonymous answers."""

    name: str = "appraisal"
    tables: Sequence[str] = ("unit_appraisals", "interview_tasks", "surveys", "survey_answers")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add the score, the task, the survey or the answers."""
        await _APPRAISAL.apply(conn, recorded)


@_APPRAISAL.on(UnitAppraised)
async def _appraised(e: UnitAppraised, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO unit_appraisals (period, unit, score, grade, explanation, indicators,
                   model_version, appraised_at)
               VALUES (:p, :u, :s, :g, :x, CAST(:i AS jsonb), :v, :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "p": e.period, "u": e.unit, "s": e.score, "g": e.grade, "x": e.explanation,
            "i": json.dumps([i.model_dump() for i in e.indicators], ensure_ascii=False),
            "v": e.model_version, "at": e.appraised_at,
        },
    )  # fmt: skip


@_APPRAISAL.on(InterviewRequired)
async def _interview(e: InterviewRequired, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO interview_tasks (task_id, unit, period, score, reason, role, due_on,
                   status, created_at)
               VALUES (:id, :u, :p, :s, :r, :role, :due, 'open', :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.task_id, "u": e.unit, "p": e.period, "s": e.score, "r": e.reason,
            "role": e.role, "due": e.due_on, "at": e.required_at,
        },
    )  # fmt: skip


@_APPRAISAL.on(InterviewHeld)
async def _held(e: InterviewHeld, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text("UPDATE interview_tasks SET status = 'held' WHERE task_id = :id"), {"id": e.task_id}
    )


@_APPRAISAL.on(SurveyPublished)
async def _survey(e: SurveyPublished, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO surveys (survey_id, title, unit, period, questions, tokens,
                   published_at)
               VALUES (:id, :t, :u, :p, CAST(:q AS jsonb), :n, :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.survey_id, "t": e.title, "u": e.unit, "p": e.period,
            "q": json.dumps([q.model_dump() for q in e.questions], ensure_ascii=False),
            "n": e.tokens, "at": e.published_at,
        },
    )  # fmt: skip


@_APPRAISAL.on(SurveyAnswered)
async def _answered(e: SurveyAnswered, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO survey_answers (response_id, survey_id, answers)
               VALUES (:id, :s, CAST(:a AS jsonb)) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": recorded.envelope.id,
            "s": e.survey_id,
            # the free answers beside the codes, as tokens (v1: as written, in ``answers``)
            "a": json.dumps({**e.answers, **e.texts}, ensure_ascii=False),
        },
    )
