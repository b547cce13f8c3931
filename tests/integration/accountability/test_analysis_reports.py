"""定期分析报告 through the HTTP API: issued by hand once, and by the schedule once per
period across a restart of the service."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from libs.events.store import EventStore
from services.accountability import app as accountability_app
from services.accountability.domain.analysis import last_ended, load_analysis_rules
from tests.conftest import Schemas
from tests.integration.accountability.conftest import OFFICER, Accountability, _jwks, eventually
from tests.integration.accountability.test_ratings_and_reports import deliver, dining, overdue

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


async def test_a_quarterly_report_is_issued_once_with_its_document_and_table(
    acc: Accountability, schemas: Schemas
) -> None:
    acc.store.clock = lambda: NOW
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    for e in [dining(3), dining(10, rank="正处级"), overdue(5)]:
        await deliver(acc, casework, e)

    async def counted() -> bool:
        r = await acc.http.get("/v1/reports/monthly?month=2026-10", headers=OFFICER)
        return r.json()["decided"] == 2 and r.json()["overdue"] == 1

    await eventually(counted, "the month counted")
    early = await acc.http.post("/v1/analysis-reports", json={"period": "2026-Q4"}, headers=OFFICER)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "period"

    issued = await acc.http.post(
        "/v1/analysis-reports", json={"period": "2026-10"}, headers=OFFICER
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["label"] == "2026年10月" and body["figures"]["decided"] == 2
    assert body["summary"][0].startswith("2026年10月，共作出处理决定2件")
    assert "函询" in body["summary"][3] or "超期事项1项" in body["summary"][3]
    assert body["document"]["number"].startswith("青纪析〔2026〕")
    assert body["figures"]["rectification"]["total"] == 0
    assert body["summary"][4] == "整改进展：暂无整改事项。"

    again = await acc.http.post("/v1/analysis-reports", json={"period": "2026-10"}, headers=OFFICER)
    assert again.status_code == 409

    table = await acc.http.get("/v1/analysis-reports/2026-10?format=csv", headers=OFFICER)
    rows = {r[0]: r for r in csv.reader(io.StringIO(table.text))}
    assert rows["违规吃喝"][1:3] == ["2", "2"] and rows["违规吃喝"][4] == "1"  # 县处级

    page = await acc.http.get("/v1/analysis-reports/2026-10?format=html", headers=OFFICER)
    assert "查处违反中央八项规定精神问题汇总表" in page.text
    doc = await acc.http.get("/v1/analysis-reports/2026-10/document", headers=OFFICER)
    assert doc.status_code == 200 and doc.content[:2] == b"PK"

    async def listed() -> list[dict[str, str]]:
        r = await acc.http.get("/v1/analysis-reports?kind=month", headers=OFFICER)
        return list(r.json()["items"])

    assert (await eventually(listed, "the report listed"))[0]["number"] == body["document"][
        "number"
    ]


async def _run_once(database_url: str, schema: str) -> list[dict[str, str]]:
    """Start the service with its schedule on, wait for its reports, stop it."""
    app = accountability_app.create(
        accountability_app.Settings(
            database_url=database_url, db_schema=schema, kafka_bootstrap_servers="",
            run_scheduler=False, run_rerating=False,
        ),
        jwks_fetcher=lambda app: _jwks,
    )  # fmt: skip
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:

            async def three() -> list[dict[str, str]] | None:
                items = (await http.get("/v1/analysis-reports", headers=OFFICER)).json()["items"]
                return items if len(items) >= 3 else None

            return await eventually(three, "three reports")


async def test_the_schedule_issues_each_ended_period_once_across_a_restart(
    database_url: str, schemas: Schemas
) -> None:
    engine = await schemas.migrated("accountability")
    schema = schemas.created[-1]
    first = await _run_once(database_url, schema)
    second = await _run_once(database_url, schema)

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    grace = load_analysis_rules().grace_days
    due = {last_ended(k, today, grace).code for k in ("month", "quarter", "half_year")}
    assert {r["period"] for r in first} == due
    assert second == first  # the restart issued nothing again
    store = EventStore(engine, source="/zhengfeng/accountability")
    for code in due:
        assert await store.stream_version(f"analysis-report-{code}") == 2  # report + document
