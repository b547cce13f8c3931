"""Inquiries opened from casework's decisions by accountability's handler, on a real database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import text

from libs.events.contracts.casework import CaseDecided, CaseDecisionRevised, Subject
from libs.events.store import ANY, EventStore, Metadata
from services.accountability.domain.rules import load_rules
from services.accountability.handlers import make_handler
from tests.conftest import Schemas
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability, eventually
from tests.integration.accountability.factories import UNIT, responsibility_list

N = load_rules().triggers.recurrence.cases
CJK = re.compile(r"[\u4e00-\u9fff]")


def dining(i: int, form: int = 1) -> CaseDecided:
    return CaseDecided(
        case_id=uuid4(),
        case_number=f"LA-2026-{i:04d}",
        clue_ids=[],
        subject=Subject(name=f"干部{i}", unit=UNIT, department="建设管理科", rank="科员"),
        categories=["violation_dining"],
        form=form,
        measures=["warning"],
        misconduct_date=date(2026, 1, 1) + timedelta(days=20 * i),
        decided_by="县纪委",
        decided_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=30 * i),
    )


def revised(decided: CaseDecided, form: int, measures: list[str]) -> CaseDecisionRevised:
    """复审 changes ``decided`` to ``form`` a month later."""
    return CaseDecisionRevised(
        case_id=decided.case_id,
        case_number=decided.case_number,
        clue_ids=[],
        subject=decided.subject,
        categories=decided.categories,
        appeal_kind="reexamination",
        previous_form=decided.form,
        previous_measures=decided.measures,
        form=form,
        measures=measures,
        misconduct_date=decided.misconduct_date,
        revised_by="县纪委常委会",
        revised_at=decided.decided_at + timedelta(days=30),
        reason="复审认定情节较轻",
    )


async def deliver(
    acc: Accountability, casework: EventStore, decided: CaseDecided | CaseDecisionRevised
) -> None:
    """What the consumer does with one relayed casework event (its own transaction)."""
    (recorded,) = await casework.append(
        f"case-{decided.case_id}",
        [decided],
        expected_version=ANY,
        meta=Metadata(actor="operator:t"),
    )
    handle = make_handler(acc.store, acc.deps)
    async with acc.engine.begin() as conn:
        await handle(conn, recorded.envelope)


async def inquiries(acc: Accountability, **params: Any) -> list[dict[str, Any]]:
    r = await acc.http.get("/v1/inquiries", params={"unit": UNIT, **params}, headers=LEADER)
    return list(r.json()["items"])


async def test_a_category_recurring_n_times_opens_one_recurrence_inquiry(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    await acc.http.post("/v1/responsibility-lists", json=responsibility_list(), headers=OFFICER)
    for i in range(N - 1):
        await deliver(acc, casework, dining(i))
    assert await opened_events(acc) == 0

    await deliver(acc, casework, dining(N - 1))
    assert await opened_events(acc) == 1
    (row,) = await eventually(lambda: inquiries(acc), "the recurrence inquiry")
    assert row["trigger_kind"] == "recurrence"
    assert f"阈值 {N}" in row["trigger_reason"]
    url, reveal = f"/v1/inquiries/{row['inquiry_id']}", {"reveal": "true"}
    detail = (await acc.http.get(url, params=reveal, headers=LEADER)).json()
    assert len(detail["trigger"]["case_ids"]) == N
    leader = next(p for p in detail["parties"] if p["party_id"] == "department_leader")
    assert leader["name"] == "郑副局长"


async def test_a_redelivered_decision_opens_no_second_inquiry(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    decided = dining(1, form=2)
    await deliver(acc, casework, decided)
    (recorded,) = await casework.read_stream(f"case-{decided.case_id}")
    async with acc.engine.begin() as conn:
        await make_handler(acc.store, acc.deps)(conn, recorded.envelope)
    (row,) = await eventually(lambda: inquiries(acc), "the case inquiry")
    assert row["trigger_kind"] == "case_form"
    assert row["parties"] == []  # no list covered the date: the inquiry says so, opened anyway


async def test_an_appeal_raising_the_form_opens_the_inquiry_the_first_decision_did_not(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    decided = dining(1, form=1)
    await deliver(acc, casework, decided)
    assert await opened_events(acc) == 0

    revision = revised(decided, form=2, measures=["serious_warning"])
    await deliver(acc, casework, revision)
    (recorded,) = (await casework.read_stream(f"case-{decided.case_id}"))[1:]
    async with acc.engine.begin() as conn:  # redelivered: nothing twice
        await make_handler(acc.store, acc.deps)(conn, recorded.envelope)
    assert await opened_events(acc) == 1
    (row,) = await eventually(lambda: inquiries(acc), "the case inquiry")
    assert row["trigger_kind"] == "case_form"
    detail = (await acc.http.get(f"/v1/inquiries/{row['inquiry_id']}", headers=LEADER)).json()
    assert "复审改变原决定" in detail["trigger"]["reason"]
    assert detail["direct_measures"] == ["serious_warning"]
    assert detail["trigger_revisions"] == []


async def test_an_appeal_lowering_the_form_is_noted_on_the_open_inquiry_once(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    decided = dining(1, form=2)
    await deliver(acc, casework, decided)
    (row,) = await eventually(lambda: inquiries(acc), "the case inquiry")

    await deliver(acc, casework, revised(decided, form=1, measures=["talk"]))
    (recorded,) = (await casework.read_stream(f"case-{decided.case_id}"))[1:]
    async with acc.engine.begin() as conn:  # redelivered: noted once
        await make_handler(acc.store, acc.deps)(conn, recorded.envelope)
    detail = (await acc.http.get(f"/v1/inquiries/{row['inquiry_id']}", headers=LEADER)).json()
    assert detail["status"] == "open"  # the inquiry officer decides what it means
    (note,) = detail["trigger_revisions"]
    assert (note["previous_form"], note["form"], note["still_triggers"]) == (2, 1, False)
    assert note["measures"] == ["talk"] and "请承办人研判" in note["note"]
    assert await opened_events(acc) == 1


async def test_an_operator_opens_an_inquiry_by_hand_and_needs_a_list_for_the_date(
    acc: Accountability,
) -> None:
    await acc.http.post(
        "/v1/responsibility-lists", json=responsibility_list("2025-01-01"), headers=OFFICER
    )
    body = {
        "unit": UNIT,
        "department": "财务科",
        "misconduct_date": "2026-03-04",
        "reason": "巡察反馈财务管理问题突出",
    }
    r = await acc.http.post("/v1/inquiries", json=body, headers=OFFICER)
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    assert r.json()["trigger"]["kind"] == "manual"
    assert [p["name"] for p in r.json()["parties"]][-1] == "林***"  # masked unless revealed

    early = await acc.http.post(
        "/v1/inquiries", json={**body, "misconduct_date": "2024-06-01"}, headers=OFFICER
    )
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "misconduct_date"


async def test_a_command_without_if_match_is_refused(acc: Accountability) -> None:
    await acc.http.post("/v1/responsibility-lists", json=responsibility_list(), headers=OFFICER)
    opened = await acc.http.post(
        "/v1/inquiries",
        json={"unit": UNIT, "misconduct_date": "2026-03-04", "reason": "x"},
        headers=OFFICER,
    )
    r = await acc.http.post(
        f"/v1/inquiries/{opened.json()['inquiry_id']}/findings",
        json={"party_id": "party_committee", "fulfilled": True},
        headers=OFFICER,
    )
    assert r.status_code == 428


async def opened_events(acc: Accountability) -> int:
    async with acc.engine.connect() as conn:
        sql = "SELECT count(*) FROM events WHERE type = 'zhengfeng.accountability.inquiry_opened'"
        return int((await conn.execute(text(sql))).scalar_one())


async def test_a_retried_opening_with_the_same_key_opens_one_inquiry(acc: Accountability) -> None:
    await acc.http.post("/v1/responsibility-lists", json=responsibility_list(), headers=OFFICER)
    body = {"unit": UNIT, "misconduct_date": "2026-03-04", "reason": "巡察反馈"}
    key = {**OFFICER, "Idempotency-Key": "open-1"}
    first = await acc.http.post("/v1/inquiries", json=body, headers=key)
    again = await acc.http.post("/v1/inquiries", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert await opened_events(acc) == 1
    other = await acc.http.post("/v1/inquiries", json={**body, "reason": "另一件"}, headers=key)
    assert other.status_code == 422


async def test_refusals_read_in_chinese_and_keep_their_machine_fields(acc: Accountability) -> None:
    await acc.http.post("/v1/responsibility-lists", json=responsibility_list(), headers=OFFICER)
    invalid = await acc.http.post(
        "/v1/inquiries", json={"unit": UNIT, "misconduct_date": "昨天"}, headers=OFFICER
    )
    opened = await acc.http.post(
        "/v1/inquiries",
        json={"unit": UNIT, "misconduct_date": "2026-03-04", "reason": "巡察反馈"},
        headers=OFFICER,
    )
    url = f"/v1/inquiries/{opened.json()['inquiry_id']}/conclusion"
    seen = opened.headers["ETag"]
    body = {"summary": "已查明"}
    stale = await acc.http.post(url, json=body, headers={**OFFICER, "If-Match": '"9"'})
    wrong_role = await acc.http.post(url, json=body, headers={**LEADER, "If-Match": seen})
    early = await acc.http.post(url, json=body, headers={**OFFICER, "If-Match": seen})

    refusals = {
        "validation-error": (invalid, 422),
        "stale-version": (stale, 409),
        "forbidden-role": (wrong_role, 403),
        "findings-missing": (early, 409),
    }
    for slug, (response, status) in refusals.items():
        problem = response.json()
        assert (response.status_code, problem["type"]) == (status, f"/problems/{slug}"), problem
        assert CJK.search(problem["title"]) and CJK.search(problem["detail"]), problem
        assert all(CJK.search(e["reason"]) for e in problem.get("errors", [])), problem
    assert {e["field"]: e["code"] for e in invalid.json()["errors"]}["misconduct_date"] in (
        "date_parsing",
        "date_from_datetime_parsing",
    )
    assert stale.json()["title"] == "问责调查已被修改" and stale.json()["current_version"] == 1
    assert "党风政风监督室" in wrong_role.json()["detail"]
