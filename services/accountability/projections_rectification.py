"""Read models of 整改台账 and 纪检监察建议书: lists, items and suggestions per unit.

Every write comes from an event and its own fields (no clock), so a rebuild from position
0 gives the rows the live projection wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.documents import DocumentIssued
from libs.events.contracts.rectification import (
    RectificationItemAccepted,
    RectificationItemAssigned,
    RectificationItemCompleted,
    RectificationItemOverdue,
    RectificationItemReopened,
    RectificationItemReviewed,
    RectificationListOpened,
    RectificationReported,
    RectificationReportOverdue,
    SuggestionIssued,
    SuggestionReplied,
    SuggestionReplyOverdue,
)
from libs.events.dispatch import ProjectionDispatch
from libs.events.store import Recorded

_RECTIFICATION = ProjectionDispatch()


class RectificationProjection:
    """整改台账: one row per list and per item, with status, deadline and overdue."""

    name: str = "rectification"
    tables: Sequence[str] = ("rectification_lists", "rectification_items")

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Open lists, assign items and follow each item through its loop."""
        await _RECTIFICATION.apply(conn, recorded)


@_RECTIFICATION.on(RectificationListOpened)
async def _opened(e: RectificationListOpened, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO rectification_lists (list_id, unit, title, source_kind,
                   source_reference, reports_to, report_due, opened_at)
               VALUES (:id, :unit, :title, :sk, :sr, :to, :due, :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.list_id,
            "unit": e.unit,
            "title": e.title,
            "sk": e.source.kind,
            "sr": e.source.reference,
            "to": e.reports_to,
            "due": e.report_due,
            "at": e.opened_at,
        },
    )


@_RECTIFICATION.on(RectificationItemAssigned)
async def _assigned(e: RectificationItemAssigned, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO rectification_items (item_id, list_id, unit, source_kind, problem,
                   owner, immediate, deadline, status, assigned_at, updated_at)
               SELECT :id, l.list_id, l.unit, l.source_kind, :problem, :owner, :imm, :deadline,
                      'in_progress', :at, :at
               FROM rectification_lists l WHERE l.list_id = :list
               ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.item_id,
            "list": e.list_id,
            "problem": e.problem,
            "owner": e.owner,
            "imm": e.immediate,
            "deadline": e.deadline,
            "at": e.assigned_at,
        },
    )


async def _item(conn: AsyncConnection, item_id: Any, sets: str, at: Any, **values: Any) -> None:
    await conn.execute(
        text(f"UPDATE rectification_items SET {sets}, updated_at = :at WHERE item_id = :id"),
        {"id": item_id, "at": at, **values},
    )


@_RECTIFICATION.on(RectificationItemOverdue)
async def _overdue(e: RectificationItemOverdue, conn: AsyncConnection, r: Recorded) -> None:
    await _item(conn, e.item_id, "overdue = true", e.noticed_at)


@_RECTIFICATION.on(RectificationItemCompleted)
async def _completed(e: RectificationItemCompleted, conn: AsyncConnection, r: Recorded) -> None:
    await _item(conn, e.item_id, "status = 'completed'", e.completed_at)


@_RECTIFICATION.on(RectificationItemAccepted)
async def _accepted(e: RectificationItemAccepted, conn: AsyncConnection, r: Recorded) -> None:
    status = "accepted" if e.passed else "in_progress"
    await _item(conn, e.item_id, "status = :s, review_due = :due", e.accepted_at,
                s=status, due=e.review_due)  # fmt: skip


@_RECTIFICATION.on(RectificationItemReviewed)
async def _reviewed(e: RectificationItemReviewed, conn: AsyncConnection, r: Recorded) -> None:
    if e.holds:
        await _item(conn, e.item_id, "status = 'closed', review_due = NULL", e.reviewed_at)


@_RECTIFICATION.on(RectificationItemReopened)
async def _reopened(e: RectificationItemReopened, conn: AsyncConnection, r: Recorded) -> None:
    await _item(
        conn,
        e.item_id,
        "status = 'in_progress', overdue = false, review_due = NULL, round = :round, "
        "deadline = :deadline",
        e.reopened_at,
        round=e.round,
        deadline=e.deadline,
    )


@_RECTIFICATION.on(RectificationReported)
async def _reported(e: RectificationReported, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text(
            """UPDATE rectification_lists SET reported_to = array_append(reported_to, :to)
               WHERE list_id = :id AND NOT (:to = ANY(reported_to))"""
        ),
        {"id": e.list_id, "to": e.to},
    )


@_RECTIFICATION.on(RectificationReportOverdue)
async def _report_late(e: RectificationReportOverdue, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text("UPDATE rectification_lists SET report_overdue = true WHERE list_id = :id"),
        {"id": e.list_id},
    )


_SUGGESTIONS = ProjectionDispatch()


class SuggestionProjection:
    """纪检监察建议书: one row each, with its number, reply deadline and reply."""

    name: str = "suggestions"
    tables: Sequence[str] = ("suggestions",)

    async def apply(self, conn: AsyncConnection, recorded: Recorded) -> None:
        """Issue, number, notice a late reply, reply."""
        await _SUGGESTIONS.apply(conn, recorded)


@_SUGGESTIONS.on(SuggestionIssued)
async def _issued(e: SuggestionIssued, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text(
            """INSERT INTO suggestions (suggestion_id, unit, basis_kind, basis_reference,
                   reply_due, status, issued_at)
               VALUES (:id, :unit, :bk, :br, :due, 'awaiting_reply', :at) ON CONFLICT DO NOTHING"""
        ),
        {
            "id": e.suggestion_id,
            "unit": e.unit,
            "bk": e.basis.kind,
            "br": e.basis.reference,
            "due": e.reply_due,
            "at": e.issued_at,
        },
    )


@_SUGGESTIONS.on(DocumentIssued)
async def _numbered(e: DocumentIssued, conn: AsyncConnection, r: Recorded) -> None:
    if e.command == "issue_suggestion":
        await conn.execute(
            text("UPDATE suggestions SET number = :n WHERE suggestion_id = :id"),
            {"id": e.matter_id, "n": e.number},
        )


@_SUGGESTIONS.on(SuggestionReplyOverdue)
async def _late(e: SuggestionReplyOverdue, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text("UPDATE suggestions SET overdue = true WHERE suggestion_id = :id"),
        {"id": e.suggestion_id},
    )


@_SUGGESTIONS.on(SuggestionReplied)
async def _replied(e: SuggestionReplied, conn: AsyncConnection, r: Recorded) -> None:
    await conn.execute(
        text(
            """UPDATE suggestions SET status = 'replied', overdue = false, list_id = :list,
                   replied_at = :at WHERE suggestion_id = :id"""
        ),
        {"id": e.suggestion_id, "list": e.list_id, "at": e.replied_at},
    )
