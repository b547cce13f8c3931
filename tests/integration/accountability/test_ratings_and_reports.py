"""红黄绿 ratings, the monthly report, 廉情通报 and typical cases, from delivered events."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import text

from libs.events.contracts import Event
from libs.events.contracts.analysis import AlertLevel, AlertRaised, AlertSubject, AlertVerified
from libs.events.contracts.casework import (
    CaseDecided,
    CaseFiled,
    DeadlineOverdue,
    FirstFormApplied,
    Subject,
)
from libs.events.projections import ProjectionRunner
from libs.events.store import NO_STREAM, EventStore, Metadata
from services.accountability.handlers import make_handler
from services.accountability.projections import StatisticsProjection
from tests.conftest import Schemas
from tests.integration.accountability.conftest import (
    DIRECTOR,
    LEADER,
    OFFICER,
    Accountability,
    eventually,
    signed,
    start,
)
from tests.integration.accountability.factories import UNIT, responsibility_list

NOW = datetime(2026, 10, 31, 12, tzinfo=UTC)


def dining(day: int, department: str = "财务科", rank: str = "科级") -> CaseDecided:
    return CaseDecided(
        case_id=uuid4(),
        case_number=f"LA-2026-10{day:02d}",
        clue_ids=[],
        subject=Subject(name=f"干部{day}", unit=UNIT, department=department, rank=rank),
        categories=["violation_dining"],
        form=1,
        measures=["criticism_education"],
        misconduct_date=date(2026, 8, day),
        decided_by="县纪委",
        decided_at=datetime(2026, 10, day, 9, tzinfo=UTC),
    )


def overdue(day: int) -> DeadlineOverdue:
    at = datetime(2026, 10, day, 9, tzinfo=UTC)
    return DeadlineOverdue(
        deadline_id=f"reply-{day}",
        item_kind="inquiry_reply",
        unit=UNIT,
        due_at=at,
        noticed_at=at,
    )


async def deliver(acc: Accountability, casework: EventStore, event: Event) -> None:
    (recorded,) = await casework.append(
        f"x-{uuid4()}", [event], expected_version=NO_STREAM, meta=Metadata(actor="operator:t")
    )
    async with acc.engine.begin() as conn:
        await make_handler(acc.store, acc.deps)(conn, recorded.envelope)


async def scenario(acc: Accountability, schemas: Schemas) -> list[CaseDecided]:
    acc.store.clock = lambda: NOW
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    await acc.http.post("/v1/responsibility-lists", json=responsibility_list(), headers=OFFICER)
    cases = [dining(3), dining(10, rank="处级"), dining(17, department="建设管理科")]
    for e in [cases[0], overdue(5), cases[1], overdue(12), cases[2]]:
        await deliver(acc, casework, e)
    return cases


async def test_the_rating_explanation_names_the_inputs_that_made_the_unit_red(
    acc: Accountability, schemas: Schemas
) -> None:
    await scenario(acc, schemas)
    r = await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)
    assert r.status_code == 200, r.text
    rating = r.json()
    assert rating["level"] == "red"
    assert rating["explanation"].startswith("红：近12个月违规吃喝 3 件，函询超期 2 项")
    assert rating["inputs"]["case"] == 3 and rating["inputs"]["overdue"] == 2
    assert [(h["from_level"], h["to_level"]) for h in rating["history"]] == [
        (None, "yellow"),
        ("yellow", "red"),
    ]

    async def board() -> list[str]:
        b = await acc.http.get("/v1/ratings", params={"level": "red"}, headers=LEADER)
        return [u["unit"] for u in b.json()["items"]]

    assert await eventually(board, "the unit on the red board") == [UNIT]


async def test_the_monthly_report_counts_by_category_rank_form_and_unit_in_three_formats(
    acc: Accountability, schemas: Schemas
) -> None:
    await scenario(acc, schemas)

    async def report() -> dict[str, object] | None:
        r = await acc.http.get("/v1/reports/monthly", params={"month": "2026-10"}, headers=LEADER)
        body = r.json()
        return body if body["decided"] == 3 and body["overdue"] == 2 else None

    stats = await eventually(report, "the month's facts projected")
    assert stats["by_category"] == [{"code": "violation_dining", "count": 3, "label": "违规吃喝"}]
    assert stats["by_rank"] == [{"rank": "科级", "count": 2}, {"rank": "处级", "count": 1}]
    assert [(r["form"], r["label"], r["count"]) for r in stats["by_form"]] == [
        (1, "第一种形态", 3),
        (2, "第二种形态", 0),
        (3, "第三种形态", 0),
        (4, "第四种形态", 0),
    ]
    assert stats["by_unit"] == [{"unit": UNIT, "count": 3}]
    assert stats["overdue_by_kind"] == [{"item_kind": "inquiry_reply", "count": 2, "label": "函询"}]

    as_csv = await acc.http.get(
        "/v1/reports/monthly", params={"month": "2026-10", "format": "csv"}, headers=LEADER
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {
        "月份": "2026-10",
        "统计项": "按问题类别",
        "代码": "violation_dining",
        "名称": "违规吃喝",
        "数量": "3",
    } in rows

    page = await acc.http.get(
        "/v1/reports/monthly", params={"month": "2026-10", "format": "html"}, headers=LEADER
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "违规吃喝" in page.text and "@media print" in page.text

    bad = await acc.http.get("/v1/reports/monthly", params={"month": "2026-13"}, headers=LEADER)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "month"


def first_form_on_a_clue(day: int, measure: str) -> FirstFormApplied:
    clue_id = uuid4()
    return FirstFormApplied(
        case_id=clue_id,
        clue_number=f"XS-2026-10{day:02d}",
        subject=Subject(name=f"干部{day}", unit=UNIT, rank="科级"),
        categories=["violation_dining"],
        measures=[measure],
        via="evaluate_reply",
        decided_by="user:officer",
        applied_at=datetime(2026, 10, day, 9, tzinfo=UTC),
    )


async def test_the_monthly_statistics_count_first_form_on_clues_and_a_rebuild_equals_live(
    acc: Accountability, schemas: Schemas
) -> None:
    await scenario(acc, schemas)
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    for e in [first_form_on_a_clue(20, "admonition"), first_form_on_a_clue(21, "talk_reminder")]:
        await deliver(acc, casework, e)
    await deliver(
        acc,
        casework,
        first_form_on_a_clue(2, "talk_reminder").model_copy(
            update={"applied_at": datetime(2026, 11, 2, 9, tzinfo=UTC)}
        ),
    )  # another month

    async def report() -> dict[str, Any] | None:
        r = await acc.http.get("/v1/reports/monthly", params={"month": "2026-10"}, headers=LEADER)
        body = r.json()
        return body if body["first_form_on_clues"] == 2 and body["decided"] == 3 else None

    live = await eventually(report, "the month's 形态一 projected")
    assert [(r["form"], r["count"], r["decided"], r["on_clues"]) for r in live["by_form"]] == [
        (1, 5, 3, 2),
        (2, 0, 0, 0),
        (3, 0, 0, 0),
        (4, 0, 0, 0),
    ]
    assert live["decided"] == 3  # 形态一 on clues is not a decided case
    await ProjectionRunner(acc.store, [StatisticsProjection()]).rebuild(
        StatisticsProjection(), progress=False
    )
    rebuilt = await acc.http.get("/v1/reports/monthly", params={"month": "2026-10"}, headers=LEADER)
    assert rebuilt.json() == live


async def test_a_leaders_briefing_lists_the_cases_of_the_department_in_their_charge(
    acc: Accountability, schemas: Schemas
) -> None:
    await scenario(acc, schemas)

    async def briefing() -> dict[str, object] | None:
        r = await acc.http.get(
            "/v1/reports/briefing",
            params={"leader": "林副局长", "from": "2026-01-01", "to": "2026-12-31"},
            headers=LEADER,
        )
        body = r.json()
        settled = body["scopes"] and len(body["scopes"][0]["cases"]) == 2
        return body if settled else None

    body = await eventually(briefing, "the briefing")
    (scope,) = body["scopes"]
    assert (scope["unit"], scope["department"], scope["role"]) == (
        UNIT,
        "财务科",
        "department_leader",
    )
    assert [c["case_number"] for c in scope["cases"]] == ["LA-2026-1003", "LA-2026-1010"]
    page = await acc.http.get(
        "/v1/reports/briefing",
        params={"leader": "林副局长", "from": "2026-01-01", "to": "2026-12-31", "format": "html"},
        headers=LEADER,
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "廉情通报" in page.text and "LA-2026-1010" in page.text and "分管领导" in page.text


async def test_a_decided_case_is_published_once_for_tongbao_baoguang(
    acc: Accountability, schemas: Schemas
) -> None:
    cases = await scenario(acc, schemas)
    body = {"case_id": str(cases[0].case_id), "title": "干部3违规吃喝问题", "text": "……"}

    async def propose() -> httpx.Response | None:
        r = await acc.http.post("/v1/typical-cases", json=body, headers=OFFICER)
        return r if r.status_code == 202 else None

    proposed = await eventually(propose, "the case's facts projected, then proposed")
    steps = [s["label"] for s in proposed.json()["steps"]]
    nothing_yet = (await acc.http.get("/v1/typical-cases", headers=LEADER)).json()["items"]

    async def waiting() -> list[dict[str, Any]] | None:
        r = await acc.http.get("/v1/typical-case-proposals", params={"status": "open"},
                               headers=DIRECTOR)  # fmt: skip
        return r.json()["items"] or None

    (row,) = await eventually(waiting, "the proposal in the inbox")
    assert (row["matter"], row["label"], row["status_label"]) == (
        body["case_id"], "室主任审核", "审批中",
    )  # fmt: skip
    sign = await acc.http.post(
        f"{row['location']}/approve",
        json={"opinion": "agree", "comment": "同意"},
        headers={**DIRECTOR, "If-Match": f'"{row["version"]}"'},
    )
    assert sign.status_code == 200, sign.text  # the listed version is the one to send
    published = await signed(acc.http, sign)

    assert steps == ["室主任审核", "分管领导审批", "主要负责人审批"] and nothing_yet == []
    assert published.status_code == 201 and published.json()["title"] == "干部3违规吃喝问题"
    again = await acc.http.post("/v1/typical-cases", json=body, headers=OFFICER)
    assert again.status_code == 409
    unknown = await acc.http.post(
        "/v1/typical-cases", json={**body, "case_id": str(uuid4())}, headers=OFFICER
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "case_id"

    async def listed() -> list[str]:
        r = await acc.http.get("/v1/typical-cases", headers=LEADER)
        return [i["title"] for i in r.json()["items"]]

    assert await eventually(listed, "the publication listed") == ["干部3违规吃喝问题"]
    async with acc.engine.connect() as conn:  # a title can name the case's subject: sealed
        stored = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
    assert not any("干部3违规吃喝问题" in row for row in stored)  # nor in the proposal's body


async def test_re_rating_later_lets_old_inputs_age_out_once(
    acc: Accountability, schemas: Schemas
) -> None:
    await scenario(acc, schemas)

    async def on_board() -> bool:
        b = await acc.http.get("/v1/ratings", headers=LEADER)
        return bool(b.json()["items"])

    await eventually(on_board, "the unit rated")
    acc.store.clock = lambda: NOW + timedelta(days=400)
    first = await acc.http.post("/v1/ratings/recompute", headers=OFFICER)
    assert first.status_code == 200, first.text
    assert [(c["unit"], c["from_level"], c["to_level"]) for c in first.json()["changed"]] == [
        (UNIT, "red", "green")
    ]
    again = await acc.http.post("/v1/ratings/recompute", headers=OFFICER)
    assert again.json()["changed"] == []


async def test_an_overdue_item_without_a_unit_counts_for_the_unit_of_its_case(
    acc: Accountability, schemas: Schemas
) -> None:
    acc.store.clock = lambda: NOW
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    case_id = uuid4()
    filed = CaseFiled(
        case_id=case_id,
        case_number="LA-2026-0999",
        clue_ids=[],
        subject=Subject(name="某", unit=UNIT, department="财务科"),
        categories=["violation_gifts"],
        filed_by="operator:t",
        filed_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    late = overdue(20).model_copy(update={"unit": None, "case_id": case_id})
    await deliver(acc, casework, filed)
    await deliver(acc, casework, late)
    rating = (await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)).json()
    assert rating["inputs"]["overdue"] == 1
    assert "函询超期 1 项" in rating["explanation"]


async def test_the_service_re_rates_by_itself_when_old_inputs_leave_the_window(
    database_url: str, schemas: Schemas
) -> None:
    app, engine, schema = await start(database_url, schemas, rerate_interval_seconds=0.2)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            acc = Accountability(app, http, engine, schema)
            await scenario(acc, schemas)

            async def level() -> str:
                r = await http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)
                return str(r.json()["level"]) if r.status_code == 200 else ""

            assert await level() == "red"
            acc.store.clock = lambda: NOW + timedelta(days=400)  # every input is now too old

            async def green() -> bool:
                return await level() == "green"

            await eventually(green, "the unit re-rated green by the service")
            await asyncio.sleep(1)  # several more runs: nothing more to record

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"""SELECT data->>'to_level', actor FROM "{schema}".events
                        WHERE type = 'zhengfeng.accountability.rating_changed'
                        ORDER BY global_position"""
                )
            )
        ).all()
    assert [tuple(r) for r in rows][-1] == ("green", "service:accountability-rerating")
    assert [r[0] for r in rows].count("green") == 1


async def test_an_alert_verified_false_positive_no_longer_counts_in_the_rating(
    acc: Accountability, schemas: Schemas
) -> None:
    acc.store.clock = lambda: NOW
    analysis = EventStore(await schemas.migrated("analysis"), source="/zhengfeng/analysis")
    alerts = [
        AlertRaised(
            alert_id=uuid4(),
            identity=f"vehicle.holiday_use|{plate}",
            rule_id="vehicle.holiday_use",
            rule_version=1,
            level=AlertLevel.RED,
            category="vehicle_private_use",
            subject=AlertSubject(unit=UNIT, plate=plate),
            summary=f"公车 {plate} 国庆假期出入景区",
            evidence=[],
            raised_at=datetime(2026, 10, 8, 9, tzinfo=UTC),
        )
        for plate in ("浙C·A1234", "浙C·A5678")
    ]
    for alert in alerts:
        await deliver(acc, analysis, alert)

    async def level() -> str:
        r = await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)
        return str(r.json()["level"])

    assert await level() == "yellow"
    verified = AlertVerified(
        alert_id=alerts[0].alert_id,
        rule_id="vehicle.holiday_use",
        rule_version=1,
        finding="false_positive",
        notes="派车单齐全，系公务接待",
        verified_by="核查员 周",
        verified_at=datetime(2026, 10, 20, 9, tzinfo=UTC),
    )
    await deliver(acc, analysis, verified)
    await deliver(acc, analysis, verified)  # a redelivery (another envelope) changes nothing
    r = (await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)).json()
    assert r["level"] == "green" and r["inputs"]["alert_red"] == 1
    assert "另有 1 条经核查不实的预警未计入" in r["explanation"]
    assert [(h["from_level"], h["to_level"]) for h in r["history"]] == [
        (None, "yellow"),
        ("yellow", "green"),
    ]


async def test_a_unit_the_platform_never_heard_of_has_no_rating(acc: Accountability) -> None:
    r = await acc.http.get("/v1/units/某县并不存在的局/rating", headers=LEADER)
    assert r.status_code == 404, r.text
    problem = r.json()
    assert problem["type"] == "/problems/unknown-unit"
    assert problem["title"] == "未知单位" and "某县并不存在的局" in problem["detail"]
    assert problem["errors"] == [{"field": "unit", "reason": "没有该单位的记录"}]
