"""Limits through the API: the 函询 reply runs from the letter's receipt, and a real-name
reporter's feedback is owed after closing, noticed once when late, and recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import text

from libs.events.contracts.intake import ClueMerged, ClueReceived, ReportedPerson, ReportReceived
from services.casework import jobs
from tests.conftest import Schemas
from tests.integration.casework.conftest import LEADER, OFFICER, Casework, running


@pytest.fixture
async def cw(database_url: str, schemas: Schemas, tmp_path: Path) -> AsyncIterator[Casework]:
    async with running(database_url, schemas, documents_dir=tmp_path / "documents") as c:
        yield c


async def _assigned(cw: Casework) -> object:
    case_id = await cw.receive()
    assigned = await cw.command(
        case_id, "assign", LEADER, department="第一审查调查室", officer="duty-officer-1"
    )
    assert assigned.status_code == 200, assigned.text
    return case_id


async def test_inquiry_reply_runs_from_the_letters_receipt_recorded_by_serving_it(
    cw: Casework,
) -> None:
    case_id = await _assigned(cw)
    disposed = await cw.decided(case_id, "dispose", OFFICER, method="talk_or_inquiry")
    assert disposed.status_code == 200, disposed.text
    assert "inquiry_reply" not in disposed.json()["deadlines"]
    [letter] = disposed.json()["documents"]
    received_on = datetime.now(UTC).date()

    served = await cw.http.post(
        f"/v1/cases/{case_id}/documents/{letter['document_id']}/serve",
        json={"served_on": received_on.isoformat(), "manner": "direct"},
        headers=OFFICER,
    )

    assert served.status_code == 200, served.text
    rules = cw.app.state.deps.rules
    due = rules.calendar.due(received_on, rules.limits["inquiry_reply"])
    assert served.json()["deadlines"]["inquiry_reply"]["due"] == due.isoformat()
    assert served.json()["inquiry_served_on"] == received_on.isoformat()


async def _overdue_notices(cw: Casework, case_id: object) -> int:
    async with cw.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM events WHERE stream_id = :s AND type = :t"
                        " AND data->>'item_kind' = 'reporter_feedback'"
                    ),
                    {"s": f"clue-{case_id}", "t": "zhengfeng.casework.deadline_overdue"},
                )
            ).scalar_one()
        )


async def test_real_name_reporter_feedback_is_owed_noticed_once_and_recorded(
    cw: Casework,
) -> None:
    case_id = await _assigned(cw)
    report = ReportReceived(
        clue_id=case_id, anonymous=False, reporter_ref=uuid4(), received_at=datetime.now(UTC)
    )
    await cw.deliver(report, f"report-{case_id}")
    closed = await cw.decided(case_id, "dispose", OFFICER, method="close")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["real_name_reporter"] is True
    due = date.fromisoformat(body["deadlines"]["reporter_feedback"]["due"])
    assert "record_feedback" in body["allowed_commands"]

    for _ in range(3):  # the scheduler runs again and again: one notice
        await jobs.run_once(cw.store, cw.app.state.deps.rules, due + timedelta(days=1))
    await cw.settle()
    late = (await cw.http.get(f"/v1/cases/{case_id}", headers=LEADER)).json()
    assert await _overdue_notices(cw, case_id) == 1
    assert late["overdue"] is True

    today = datetime.now(UTC).date().isoformat()
    given = await cw.command(case_id, "record_feedback", OFFICER, fed_back_on=today, manner="phone")
    again = await cw.command(case_id, "record_feedback", OFFICER, fed_back_on=today, manner="phone")

    assert given.status_code == 200, given.text
    assert given.json()["deadlines"] == {} and given.json()["reporter_feedback_on"] == today
    assert again.status_code == 409
    assert again.json()["detail"] == f"已于{today}向实名举报人反馈办理结果"


def _report(clue_id: object, *, anonymous: bool = False) -> ReportReceived:
    return ReportReceived(
        clue_id=clue_id, anonymous=anonymous, reporter_ref=uuid4(), received_at=datetime.now(UTC)
    )


def _merged(into: object, repeat_id: object) -> ClueMerged:
    return ClueMerged(
        clue_id=into,
        repeat_id=repeat_id,
        repeat_count=1,
        source_kind="public_report",
        merged_at=datetime.now(UTC),
        repeat_number="XS-2026-R1",
        priority="elevated",
        reported_persons=[ReportedPerson(name="王五", unit="某县财政局")],
        categories=["violation_dining"],
        narrative="又有群众实名反映其在私人会所宴请。",
        received_at=datetime.now(UTC),
    )


async def _real_name(cw: Casework, case_id: object) -> bool:
    case = (await cw.http.get(f"/v1/cases/{case_id}", headers=LEADER)).json()
    return bool(case["real_name_reporter"])


async def test_a_real_name_repeat_report_is_owed_feedback_whichever_arrives_first(
    cw: Casework,
) -> None:
    anonymous = await cw.receive()
    await cw.deliver(_report(anonymous, anonymous=True), f"report-{anonymous}")
    report_first, merge_first = await cw.receive(), await cw.receive()
    early, late = uuid4(), uuid4()

    # The repeat's reporter side arrives before the merge is noted on the matter…
    await cw.deliver(_report(early), f"report-{early}")
    await cw.deliver(_merged(report_first, early), f"repeats-{early}")
    # …or after it.
    await cw.deliver(_merged(merge_first, late), f"repeats-{late}")
    await cw.deliver(_report(late), f"report-{late}")

    assert not await _real_name(cw, anonymous)
    assert await _real_name(cw, report_first)
    assert await _real_name(cw, merge_first)

    # A merge undone: the split-off report becomes a matter of its own, owed to its reporter.
    await cw.deliver(
        ClueReceived(
            clue_id=early,
            clue_number="XS-2026-R1",
            source_kind="public_report",
            reported_persons=[ReportedPerson(name="王五", unit="某县财政局")],
            categories=["violation_dining"],
            narrative="又有群众实名反映其在私人会所宴请。",
            received_at=datetime.now(UTC),
        ),
        f"clue-{early}",
    )
    assert await _real_name(cw, early)
