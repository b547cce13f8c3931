"""Accountability's read models: unit index, responsibility lists, inquiries, ratings, statistics."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.accountability import (
    CaseDecisionNoted,
    CaseDecisionRevisionNoted,
    CaseMilestoneNoted,
    FirstFormNoted,
    InquiryConcluded,
    InquiryOpened,
    MeasureTookEffect,
    OverdueNoted,
    RatingChanged,
    ResponsibilityListPublished,
    TypicalCasePublished,
)
from libs.events.contracts.documents import DocumentIssued
from libs.events.contracts.oversight import AnalysisReportIssued
from libs.events.dispatch import ProjectionDispatch
from libs.events.store import Recorded
from libs.kit.approvals.inbox import InboxProjection
from libs.kit.db import execute_many
from services.accountability.domain import UnitNamedInClue

_UNIT_INDEX = ProjectionDispatch()


class UnitIndexProjection:
    """Clues per unit, with their categories."""

    name: str = "unit_index"
    tables: Sequence[str] = ("unit_index",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add the clue to its unit's row."""
        await _UNIT_INDEX.apply(conn, recorded)


_UNIT_ROW = text(
    """INSERT INTO unit_index (unit_key, unit, clue_ids, categories, last_clue_at)
       VALUES (:k, :unit, ARRAY[CAST(:clue AS uuid)], :cats, :at)
       ON CONFLICT (unit_key) DO UPDATE
       SET clue_ids = unit_index.clue_ids || excluded.clue_ids,
           categories = ARRAY(SELECT DISTINCT unnest(unit_index.categories || excluded.categories)),
           last_clue_at = excluded.last_clue_at"""
)


@_UNIT_INDEX.on(UnitNamedInClue)
async def _unit_named(e: UnitNamedInClue, conn: AsyncConnection, recorded: Recorded) -> None:
    await execute_many(  # at the driver: every clue names its units
        conn,
        _UNIT_ROW,
        [
            {
                "k": e.unit_key,
                "unit": e.unit,
                "clue": e.clue_id,
                "cats": e.categories,
                "at": recorded.envelope.time,
            }
        ],
    )


_LISTS = ProjectionDispatch()


class ResponsibilityListProjection:
    """责任清单: every published version, for listing (as-of answers read the store)."""

    name: str = "responsibility_lists"
    tables: Sequence[str] = ("responsibility_lists",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add a published list version."""
        await _LISTS.apply(conn, recorded)


@_LISTS.on(ResponsibilityListPublished)
async def _list_published(
    e: ResponsibilityListPublished, conn: AsyncConnection, recorded: Recorded
) -> None:
    await conn.execute(
        text(
            """INSERT INTO responsibility_lists (list_id, unit, version, valid_from, valid_to, body)
               VALUES (:id, :unit, :v, :f, :t, CAST(:b AS jsonb)) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.list_id,
            "unit": e.unit,
            "v": recorded.version,
            "f": e.valid_from,
            "t": e.valid_to,
            "b": json.dumps(e.model_dump(mode="json"), ensure_ascii=False),
        },
    )


_INQUIRIES = ProjectionDispatch()


class InquiryProjection:
    """一案双查 inquiries: one row each, with status and measures in effect."""

    name: str = "inquiries"
    tables: Sequence[str] = ("inquiries",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Open, count measures taking effect, conclude."""
        await _INQUIRIES.apply(conn, recorded)


@_INQUIRIES.on(InquiryOpened)
async def _inquiry_opened(e: InquiryOpened, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO inquiries (inquiry_id, unit, department, trigger_kind, trigger_reason,
                   misconduct_date, status, opened_at, parties)
               VALUES (:id, :unit, :dep, :tk, :tr, :md, 'open', :at, :parties)
               ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.inquiry_id,
            "unit": e.unit,
            "dep": e.department,
            "tk": e.trigger.kind,
            "tr": e.trigger.reason,
            "md": e.misconduct_date,
            "at": e.opened_at,
            "parties": [p.name for p in e.parties],
        },
    )


@_INQUIRIES.on(MeasureTookEffect)
async def _measure_took_effect(
    m: MeasureTookEffect, conn: AsyncConnection, recorded: Recorded
) -> None:
    await conn.execute(
        text(
            "UPDATE inquiries SET measures_in_effect = measures_in_effect + 1 WHERE inquiry_id = :id"
        ),
        {"id": m.inquiry_id},
    )


@_INQUIRIES.on(InquiryConcluded)
async def _inquiry_concluded(
    c: InquiryConcluded, conn: AsyncConnection, recorded: Recorded
) -> None:
    await conn.execute(
        text("UPDATE inquiries SET status = 'concluded' WHERE inquiry_id = :id"),
        {"id": c.inquiry_id},
    )


_RATINGS = ProjectionDispatch()


class RatingProjection:
    """红黄绿: each unit's current level and every change."""

    name: str = "unit_ratings"
    tables: Sequence[str] = ("unit_ratings", "rating_history")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Keep the latest level per unit and the history of changes."""
        await _RATINGS.apply(conn, recorded)


@_RATINGS.on(RatingChanged)
async def _rating_changed(e: RatingChanged, conn: AsyncConnection, recorded: Recorded) -> None:
    params = {
        "id": recorded.envelope.id,
        "unit": e.unit,
        "fl": e.from_level,
        "tl": e.to_level,
        "score": e.score,
        "ex": e.explanation,
        "inputs": json.dumps(e.inputs),
        "rv": e.rules_version,
        "at": e.changed_at,
    }
    await conn.execute(
        text(
            """INSERT INTO rating_history (event_id, unit, from_level, to_level, score,
                   explanation, rules_version, changed_at)
               VALUES (:id, :unit, :fl, :tl, :score, :ex, :rv, :at) ON CONFLICT DO NOTHING"""
        ),
        params,
    )
    await conn.execute(
        text(
            """INSERT INTO unit_ratings (unit, level, score, explanation, inputs, changed_at)
               VALUES (:unit, :tl, :score, :ex, CAST(:inputs AS jsonb), :at)
               ON CONFLICT (unit) DO UPDATE SET level = excluded.level, score = excluded.score,
                   explanation = excluded.explanation, inputs = excluded.inputs,
                   changed_at = excluded.changed_at"""
        ),
        params,
    )


_STATISTICS = ProjectionDispatch()


class StatisticsProjection:
    """Facts the monthly report counts: decided, filed and closed cases, 形态一 applied on
    clues, overdue items, and the typical cases published for 通报曝光."""

    name: str = "statistics"
    tables: Sequence[str] = ("case_facts", "first_form_facts", "overdue_facts", "typical_cases")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Upsert the case's facts; add overdue items and publications."""
        await _STATISTICS.apply(conn, recorded)


@_STATISTICS.on(CaseDecisionNoted)
async def _case_decided(e: CaseDecisionNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO case_facts (case_id, case_number, unit, department, subject_name,
                   rank, form, major, categories, measures, summary, misconduct_date, decided_at)
               VALUES (:id, :no, :unit, :dep, :name, :rank, :form, :major, :cats, :ms, :sum,
                   :md, :at)
               ON CONFLICT (case_id) DO UPDATE SET unit = excluded.unit,
                   department = excluded.department, subject_name = excluded.subject_name,
                   rank = excluded.rank, form = excluded.form, major = excluded.major,
                   categories = excluded.categories, measures = excluded.measures,
                   summary = excluded.summary, misconduct_date = excluded.misconduct_date,
                   decided_at = excluded.decided_at"""
        ),
        {
            "id": e.case_id,
            "no": e.case_number,
            "unit": e.unit,
            "dep": e.department,
            "name": e.subject_name,
            "rank": e.rank,
            "form": e.form,
            "major": e.major,
            "cats": e.categories,
            "ms": e.measures,
            "sum": e.summary,
            "md": e.misconduct_date,
            "at": e.decided_at,
        },
    )


@_STATISTICS.on(CaseDecisionRevisionNoted)
async def _case_decision_revised(
    e: CaseDecisionRevisionNoted, conn: AsyncConnection, recorded: Recorded
) -> None:
    # The monthly report counts the decision in force (复审/复核 may change it).
    await conn.execute(
        text("UPDATE case_facts SET form = :form, measures = :ms WHERE case_id = :id"),
        {"id": e.case_id, "form": e.form, "ms": e.measures},
    )


@_STATISTICS.on(CaseMilestoneNoted)
async def _case_milestone(e: CaseMilestoneNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    column = "filed_at" if e.milestone == "filed" else "closed_at"
    await conn.execute(
        text(
            f"""INSERT INTO case_facts (case_id, case_number, unit, categories, {column})
                VALUES (:id, :no, :unit, :cats, :at)
                ON CONFLICT (case_id) DO UPDATE SET {column} = excluded.{column},
                    unit = coalesce(case_facts.unit, excluded.unit)"""
        ),
        {"id": e.case_id, "no": e.case_number, "unit": e.unit, "cats": e.categories, "at": e.at},
    )


@_STATISTICS.on(FirstFormNoted)
async def _first_form(e: FirstFormNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO first_form_facts (clue_id, clue_number, unit, department, rank,
                   categories, measures, applied_at)
               VALUES (:id, :no, :unit, :dep, :rank, :cats, :ms, :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.clue_id,
            "no": e.clue_number,
            "unit": e.unit,
            "dep": e.department,
            "rank": e.rank,
            "cats": e.categories,
            "ms": e.measures,
            "at": e.applied_at,
        },
    )


@_STATISTICS.on(OverdueNoted)
async def _overdue(e: OverdueNoted, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO overdue_facts (deadline_id, unit, item_kind, case_id, noticed_at)
               VALUES (:id, :unit, :kind, :case, :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.deadline_id,
            "unit": e.unit,
            "kind": e.item_kind,
            "case": e.case_id,
            "at": e.noticed_at,
        },
    )


@_STATISTICS.on(TypicalCasePublished)
async def _typical_case(e: TypicalCasePublished, conn: AsyncConnection, recorded: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO typical_cases (publication_id, case_id, title, text, published_by,
                   published_at)
               VALUES (:id, :case, :title, :text, :by, :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.publication_id,
            "case": e.case_id,
            "title": e.title,
            "text": e.text,
            "by": e.published_by,
            "at": e.published_at,
        },
    )


class ApprovalInboxProjection(InboxProjection):
    """待办审批: the kit's inbox of proposals, kept from this service's store."""


_ANALYSIS = ProjectionDispatch()


class AnalysisReportProjection:
    """定期分析报告: every issued report with its summary, figures and document number."""

    name: str = "analysis_reports"
    tables: Sequence[str] = ("analysis_reports",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Add an issued report; note its document."""
        await _ANALYSIS.apply(conn, recorded)


@_ANALYSIS.on(AnalysisReportIssued)
async def _report_issued(
    e: AnalysisReportIssued, conn: AsyncConnection, recorded: Recorded
) -> None:
    await conn.execute(
        text(
            """INSERT INTO analysis_reports (period, kind, label, first_day, last_day, summary,
                   figures, issued_by, issued_at)
               VALUES (:p, :k, :l, :f, :t, CAST(:s AS jsonb), CAST(:fig AS jsonb), :by, :at)
               ON CONFLICT DO NOTHING"""
        ),
        {
            "p": e.period,
            "k": e.kind,
            "l": e.label,
            "f": e.first_day,
            "t": e.last_day,
            "s": json.dumps(e.summary, ensure_ascii=False),
            "fig": json.dumps(e.figures, ensure_ascii=False),
            "by": e.issued_by,
            "at": e.issued_at,
        },
    )


@_ANALYSIS.on(DocumentIssued)
async def _report_document(e: DocumentIssued, conn: AsyncConnection, recorded: Recorded) -> None:
    if e.kind != "analysis_report":
        return
    await conn.execute(
        text("UPDATE analysis_reports SET document_id = :d, number = :n WHERE period = :p"),
        {
            "d": e.document_id,
            "n": e.number,
            "p": recorded.stream_id.removeprefix("analysis-report-"),
        },
    )
