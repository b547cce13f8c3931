"""管辖与转办 over HTTP: the unit registry decides on receipt, clerks forward or keep, and the
limits that pass are said once — also across a restart of the scheduler.

The shipped example registry (services/intake/data/jurisdiction.csv) is the one used:
某县财政局 is ours, 市财政局 belongs to 市纪委监委, 某区住建局 is not listed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from libs.kit.db import make_engine
from libs.kit.issuer import create_client
from libs.kit.workdays import load as load_calendar
from services.intake import app as intake_app
from services.intake import jobs as scheduler
from tests.conftest import Schemas, unique
from tests.factories import namesake_id_number
from tests.integration.fixtures import Intake, eventually
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_personal_data import operator_auth

MARKED = "zhengfeng.intake.clue_marked_for_forwarding"
UNDETERMINED = "zhengfeng.intake.clue_jurisdiction_undetermined"
FORWARDING_OVERDUE = "zhengfeng.intake.forwarding_overdue"
ACK_OVERDUE = "zhengfeng.intake.report_acknowledgement_overdue"


def person(unit: str, name: str = "王五") -> dict[str, Any]:
    # Each its own person (ID number): the same one again would be merged as a 重复件.
    return {"name": name, "id_number": namesake_id_number(), "unit": unit, "post": "局长"}


async def _send(intake: Intake, auth: dict[str, str], reference: str, *units: str) -> str:
    body = transfer(reference, reported_persons=[person(u) for u in units])
    response = await intake.http.post("/v1/clue-transfers", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["clue_id"])


async def _types(intake: Intake, clue_id: str) -> list[str]:
    return [e.type for e in await intake.events() if e.stream_id == f"clue-{clue_id}"]


async def _event(intake: Intake, clue_id: str, type_name: str) -> dict[str, Any]:
    async with intake.engine.connect() as conn:
        data = (
            await conn.execute(
                text("SELECT data FROM events WHERE stream_id = :s AND type = :t"),
                {"s": f"clue-{clue_id}", "t": type_name},
            )
        ).scalar_one()
    return dict(data)


async def test_a_clue_about_our_unit_stays_ours(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "某县财政局")

    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)

    assert await _types(intake, clue_id) == ["zhengfeng.intake.clue_received"]
    assert seen.status_code == 200
    assert (seen.json()["status"], seen.json()["status_label"]) == ("in_jurisdiction", "本委管辖")


async def test_a_clue_about_a_city_unit_is_marked_for_the_city_commission_in_5_working_days(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "市财政局")

    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)

    marked = await _event(intake, clue_id, MARKED)
    received = datetime.fromisoformat(marked["marked_at"]).date()
    assert marked["forward_by"] == load_calendar().add_workdays(received, 5).isoformat()
    assert marked["authority"] == "市纪委监委"
    assert marked["registry_version"] == "2026-03 某县示例"
    body = seen.json()
    assert (body["status"], body["status_label"], body["authority"]) == (
        "marked",
        "待转办",
        "市纪委监委",
    )
    assert body["findings"][0]["registered_as"] == "某市财政局"
    assert seen.headers["etag"] == f'"{body["version"]}"'


async def test_an_unknown_unit_waits_for_a_clerks_decision_and_is_not_taken_as_ours(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "某区住建局")

    seen = (await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)).json()

    assert await _types(intake, clue_id) == ["zhengfeng.intake.clue_received", UNDETERMINED]
    assert (seen["status"], seen["status_label"]) == ("undetermined", "管辖待定")
    assert "某区住建局" in seen["reason"]
    assert seen["forward_by"] is not None


async def test_public_reports_and_hotline_clues_are_judged_the_same_way(intake: Intake) -> None:
    report = await intake.http.post(
        "/v1/reports",
        json={
            "anonymous": False,
            "reporter": {"name": "孙十", "phone": "13800000000"},
            "reported_persons": [{"name": "钱九", "unit": "某市教育局"}],
            "categories": ["violation_dining"],
            "narrative": "市教育局某处长用公款宴请。",
        },
    )
    platform = await intake.bearer(
        await create_client(intake.engine, kind="system", name="12345", scopes=["hotline:orders"])
    )
    order = await intake.http.post(
        "/v1/hotline-orders",
        json={
            "order_number": "GD1",
            "unit": "某区住建局",
            "category": "城乡建设",
            "content": "索要好处费",
            "status": "processing",
            "named_officials": [{"name": "刘八", "unit": "国家税务总局某县税务局"}],
            "misconduct_categories": ["extortion_petty"],
        },
        headers=platform,
    )
    assert report.status_code == 201, report.text
    assert order.status_code == 201, order.text

    async with intake.engine.connect() as conn:
        marks = (
            await conn.execute(
                text("SELECT data->>'authority' FROM events WHERE type = :t ORDER BY 1"),
                {"t": MARKED},
            )
        ).scalars()
        authorities = list(marks)
    assert authorities == ["国家税务总局某市税务局纪检组", "市纪委监委"]


async def test_a_clerk_forwards_a_marked_clue_and_the_partner_sees_where_it_went(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "市财政局")
    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)

    forwarded = await intake.http.post(
        f"/v1/clues/{clue_id}/forwarding",
        json={"method": "official_letter", "letter_number": "某纪转〔2026〕3号"},
        headers={**clerk, "If-Match": seen.headers["etag"]},
    )
    followed = await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=partner)

    assert forwarded.status_code == 201, forwarded.text
    done = forwarded.json()
    assert (done["status"], done["status_label"]) == ("forwarded", "已转办")
    assert done["forwarded"]["authority"] == "市纪委监委"
    assert done["forwarded"]["method_label"] == "公函"
    assert done["forwarded"]["in_time"] is True
    assert done["forwarded"]["forwarded_by"].startswith("operator:")
    assert (followed.json()["status"], followed.json()["status_label"]) == ("forwarded", "已转办")
    assert followed.json()["outcome"] == "已转市纪委监委办理"


async def test_forwarding_is_refused_with_409_unless_marked_and_only_once(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    ours = await _send(intake, partner, "SJ-1", "某县财政局")
    theirs = await _send(intake, partner, "SJ-2", "市财政局")
    body = {"method": "document_system"}

    not_marked = await intake.http.post(f"/v1/clues/{ours}/forwarding", json=body, headers=clerk)
    first = await intake.http.post(f"/v1/clues/{theirs}/forwarding", json=body, headers=clerk)
    again = await intake.http.post(f"/v1/clues/{theirs}/forwarding", json=body, headers=clerk)
    keep_after = await intake.http.post(
        f"/v1/clues/{theirs}/jurisdiction",
        json={"decision": "keep", "reason": "x"},
        headers=clerk,
    )

    assert not_marked.status_code == 409
    assert not_marked.headers["content-type"] == "application/problem+json"
    assert not_marked.json()["type"] == "/problems/not-marked-for-forwarding"
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/already-forwarded"
    assert keep_after.status_code == 409
    forwarded = [t for t in await _types(intake, theirs) if t.endswith("clue_forwarded")]
    assert len(forwarded) == 1


async def test_bad_forwarding_requests_are_problems_naming_the_field(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    investigator = await operator_auth(intake, "investigator")
    court = await _send(intake, partner, "SJ-1", "某县人民法院")  # other, body not known
    url = f"/v1/clues/{court}/forwarding"

    no_method = await intake.http.post(url, json={}, headers=clerk)
    wrong_method = await intake.http.post(url, json={"method": "pigeon"}, headers=clerk)
    no_authority = await intake.http.post(url, json={"method": "in_person"}, headers=clerk)
    stale = await intake.http.post(
        url,
        json={"method": "in_person", "authority": "市纪委监委"},
        headers={**clerk, "If-Match": '"1"'},
    )
    wrong_role = await intake.http.post(
        url, json={"method": "in_person", "authority": "市纪委监委"}, headers=investigator
    )
    unknown = await intake.http.post(
        "/v1/clues/00000000-0000-4000-8000-000000000000/forwarding",
        json={"method": "in_person"},
        headers=clerk,
    )

    assert no_method.status_code == 422
    assert no_method.json()["errors"][0]["field"] == "method"
    assert wrong_method.status_code == 422
    assert no_authority.status_code == 422
    assert no_authority.json()["errors"] == [{"field": "authority", "reason": "此线索须填写"}]
    assert stale.status_code == 409
    assert stale.json()["type"] == "/problems/stale-version"
    assert wrong_role.status_code == 403
    assert unknown.status_code == 404
    assert not [t for t in await _types(intake, court) if t.endswith("clue_forwarded")]


async def test_a_retried_forwarding_with_the_same_key_gets_the_first_answer(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "市财政局")
    headers = {**clerk, "Idempotency-Key": "fwd-1"}
    body = {"method": "confidential_delivery"}

    first = await intake.http.post(f"/v1/clues/{clue_id}/forwarding", json=body, headers=headers)
    retry = await intake.http.post(f"/v1/clues/{clue_id}/forwarding", json=body, headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"


async def test_a_clerk_keeps_a_marked_clue_with_a_reason_and_history_keeps_both(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "市财政局")

    no_reason = await intake.http.post(
        f"/v1/clues/{clue_id}/jurisdiction", json={"decision": "keep"}, headers=clerk
    )
    kept = await intake.http.post(
        f"/v1/clues/{clue_id}/jurisdiction",
        json={"decision": "keep", "reason": "被反映人已调任县财政局，属县管干部"},
        headers=clerk,
    )
    forward_now = await intake.http.post(
        f"/v1/clues/{clue_id}/forwarding", json={"method": "in_person"}, headers=clerk
    )

    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert kept.status_code == 200, kept.text
    assert (kept.json()["status"], kept.json()["status_label"]) == ("kept", "留本委办理")
    assert kept.json()["forward_by"] is None
    assert forward_now.status_code == 409
    assert [t.rsplit(".", 1)[-1] for t in await _types(intake, clue_id)] == [
        "clue_received",
        "clue_marked_for_forwarding",
        "clue_kept_in_jurisdiction",
    ]


async def test_a_clerk_marks_an_undetermined_clue_for_forwarding_naming_the_body(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", "某区住建局")

    marked = await intake.http.post(
        f"/v1/clues/{clue_id}/jurisdiction",
        json={"decision": "forward", "authority": "某区纪委监委", "reason": "区属单位"},
        headers=clerk,
    )
    forwarded = await intake.http.post(
        f"/v1/clues/{clue_id}/forwarding", json={"method": "document_system"}, headers=clerk
    )

    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["authority"]) == ("marked", "某区纪委监委")
    assert forwarded.json()["forwarded"]["authority"] == "某区纪委监委"


@asynccontextmanager
async def running(
    database_url: str,
    schema: str,
    vault: str,
    tmp: Path,
    today: Callable[[], date],
) -> AsyncIterator[Intake]:
    """Intake on an existing schema, its scheduler on a calendar day the test controls."""
    app = intake_app.create(
        intake_app.Settings(
            database_url=database_url,
            db_schema=schema,
            pii_vault_schema=vault,
            kafka_bootstrap_servers="",
            attachments_dir=tmp,
            run_scheduler=True,
            scheduler_interval_seconds=0.05,
        ),
        today=today,
    )
    engine = make_engine(database_url, schema)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
                yield Intake(app, http, engine)
    finally:
        await engine.dispose()


async def _count(intake: Intake, type_name: str) -> int:
    return sum(1 for e in await intake.events() if e.type == type_name)


async def test_overdue_forwarding_and_acknowledgement_are_said_once_across_a_restart(
    database_url: str, schemas: Schemas, tmp_path: Path
) -> None:
    await schemas.migrated("intake")
    schema, vault = schemas.created[-1], unique("t_pii")
    schemas.created.append(vault)
    days = {"today": date(2026, 1, 1)}
    async with running(database_url, schema, vault, tmp_path, lambda: days["today"]) as first:
        partner = await first.bearer(await first.partner())
        clerk = await operator_auth(first, "clerk")
        late = await _send(first, partner, "SJ-1", "市财政局")
        in_time = await _send(first, partner, "SJ-2", "市财政局")
        filed = await first.http.post(
            "/v1/reports",
            json={
                "anonymous": False,
                "reporter": {"name": "孙十", "phone": "13800000000"},
                "reported_persons": [{"name": "钱九", "unit": "某县财政局"}],
                "categories": ["violation_dining"],
                "narrative": "用公款宴请。",
            },
        )
        assert filed.status_code == 201, filed.text
        await first.http.post(
            f"/v1/clues/{in_time}/forwarding", json={"method": "in_person"}, headers=clerk
        )
        forward_by = date.fromisoformat((await _event(first, late, MARKED))["forward_by"])
        acknowledge_by = date.fromisoformat(filed.json()["acknowledge_by"])
        # Before any limit passes the scheduler says nothing.
        await scheduler.run_once(first.app.state.runtime.store, forward_by, "supervisor")
        assert await _count(first, FORWARDING_OVERDUE) == 0

    # The service is down while both limits pass; it comes back a month later, twice.
    days["today"] = max(forward_by, acknowledge_by) + timedelta(days=30)
    for _ in range(2):
        async with running(database_url, schema, vault, tmp_path, lambda: days["today"]) as again:
            store = again.app.state.runtime.store

            async def noticed() -> bool:
                return await _count(again, ACK_OVERDUE) == 1

            await eventually(noticed, "the scheduler to catch up after the restart")
            for _ in range(3):
                await scheduler.run_once(store, days["today"], "supervisor")
            await again.app.state.runtime.projections.catch_up()
            supervisor = await operator_auth(again, "supervisor")
            overdue = await again.http.get("/v1/intake-deadlines/overdue", headers=supervisor)
            assert await _count(again, FORWARDING_OVERDUE) == 1
            assert await _count(again, ACK_OVERDUE) == 1

    late_notice = await _event(again, late, FORWARDING_OVERDUE)
    assert late_notice["escalated_to"] == "supervisor"
    assert late_notice["due"] == forward_by.isoformat()
    assert late_notice["undetermined"] is False
    assert {(o["clue_id"], o["kind"]) for o in overdue.json()} == {
        (late, "forwarding"),
        (str(await _report_clue(again)), "acknowledgement"),
    }
    assert not [t for t in await _types(again, in_time) if t == FORWARDING_OVERDUE]


async def _report_clue(intake: Intake) -> str:
    async with intake.engine.connect() as conn:
        stream = (
            await conn.execute(
                text("SELECT stream_id FROM events WHERE type LIKE '%report_received'")
            )
        ).scalar_one()
    return str(stream).removeprefix("clue-")


async def test_an_anonymous_reporter_reads_that_the_report_was_forwarded_and_where(
    intake: Intake,
) -> None:
    filed = await intake.http.post(
        "/v1/reports",
        json={
            "anonymous": True,
            "secret": "qingshan-yijiu-2026",
            "reported_persons": [{"name": "钱九", "unit": "市教育局"}],
            "categories": ["violation_dining"],
            "narrative": "市教育局某处长用公款宴请。",
        },
    )
    code = filed.json()["receipt_code"]
    clue_id = await _report_clue(intake)
    clerk = await operator_auth(intake, "clerk")
    await intake.http.post(
        f"/v1/clues/{clue_id}/forwarding", json={"method": "document_system"}, headers=clerk
    )

    status = await intake.http.get(
        f"/v1/reports/{code}", headers={"X-Report-Secret": "qingshan-yijiu-2026"}
    )

    assert status.status_code == 200, status.text
    assert (status.json()["status_label"], status.json()["outcome"]) == (
        "已转办",
        "已转市纪委监委办理",
    )
