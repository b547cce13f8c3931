"""Public reports: filed without login, followed up anonymously with a receipt and a secret."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import text

from libs.events import pii
from libs.events.contracts.intake import ReportMessagePosted
from libs.events.store import ANY, Metadata
from services.intake import app as intake_app
from services.intake.ratelimit import SharedWindow
from services.intake.service import reports
from tests.integration.fixtures import Intake, intake_settings
from tests.integration.intake.test_personal_data import operator_auth

SECRET = "qingshan-yijiu-2026"


def report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "anonymous": True,
        "secret": SECRET,
        "reported_persons": [{"name": "钱九", "unit": "某镇人民政府", "post": "镇长"}],
        "categories": ["violation_dining"],
        "narrative": "镇长每周在农家乐用公款宴请。",
        "place": "某镇",
    }
    body.update(overrides)
    return body


async def _file(intake: Intake, **overrides: Any) -> Any:
    return await intake.http.post("/v1/reports", json=report(**overrides))


def _secret(value: str = SECRET) -> dict[str, str]:
    return {"X-Report-Secret": value}


async def _clue_id(intake: Intake) -> str:
    async with intake.engine.connect() as conn:
        return str((await conn.execute(text("SELECT clue_id FROM report_receipts"))).scalar_one())


async def test_an_anonymous_reporter_follows_up_and_talks_with_the_clerk(intake: Intake) -> None:
    filed = await _file(intake)
    assert filed.status_code == 201, filed.text
    code = filed.json()["receipt_code"]
    assert len(code.replace("-", "")) == 24

    status = await intake.http.get(f"/v1/reports/{code}", headers=_secret())
    asked = await intake.http.post(
        f"/v1/reports/{code}/messages", json={"text": "请问受理了吗？"}, headers=_secret()
    )
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _clue_id(intake)
    answered = await intake.http.post(
        f"/v1/clues/{clue_id}/messages", json={"text": "已受理，请耐心等待。"}, headers=clerk
    )
    conversation = await intake.http.get(f"/v1/reports/{code.lower()}/messages", headers=_secret())

    assert status.status_code == 200, status.text
    assert (status.json()["status"], status.json()["status_label"]) == ("received", "已接收")
    assert asked.status_code == 201 and answered.status_code == 201, answered.text
    assert [(m["author"], m["text"]) for m in conversation.json()] == [
        ("举报人", "请问受理了吗？"),
        ("信访室", "已受理，请耐心等待。"),
    ]


async def test_the_reporter_never_sees_internal_details(intake: Intake) -> None:
    code = (await _file(intake)).json()["receipt_code"]
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _clue_id(intake)
    await intake.http.post(f"/v1/clues/{clue_id}/messages", json={"text": "收到"}, headers=clerk)

    status = (await intake.http.get(f"/v1/reports/{code}", headers=_secret())).text
    messages = (await intake.http.get(f"/v1/reports/{code}/messages", headers=_secret())).text

    for leaked in (clue_id, "XS-", "operator:", "张三"):
        assert leaked not in status + messages


async def test_message_texts_and_the_secret_are_not_stored_in_plain_text(intake: Intake) -> None:
    code = (await _file(intake)).json()["receipt_code"]
    await intake.http.post(
        f"/v1/reports/{code}/messages", json={"text": "我还有录音证据"}, headers=_secret()
    )

    async with intake.engine.connect() as conn:
        events = json.dumps([r.data for r in await conn.execute(text("SELECT data FROM events"))])
        receipts = [
            dict(r._mapping) for r in await conn.execute(text("SELECT * FROM report_receipts"))
        ]
    assert "我还有录音证据" not in json.dumps(events, ensure_ascii=False)
    assert "钱九" not in json.dumps(events, ensure_ascii=False)
    assert receipts[0]["secret_hash"].startswith("$argon2id$")
    assert code not in json.dumps(receipts, default=str)


async def test_wrong_secrets_are_throttled_and_lock_the_receipt(intake: Intake) -> None:
    code = (await _file(intake)).json()["receipt_code"]

    wrong = [
        (await intake.http.get(f"/v1/reports/{code}", headers=_secret(f"guess-{n}"))).status_code
        for n in range(5)
    ]
    locked = await intake.http.get(f"/v1/reports/{code}", headers=_secret())

    assert wrong == [401] * 5
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


async def test_an_unknown_code_answers_like_a_wrong_secret(intake: Intake) -> None:
    code = (await _file(intake)).json()["receipt_code"]

    unknown = await intake.http.get("/v1/reports/AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", headers=_secret())
    wrong = await intake.http.get(f"/v1/reports/{code}", headers=_secret("guess"))

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.headers["content-type"] == wrong.headers["content-type"]
    assert {k: v for k, v in unknown.json().items() if k != "instance"} == {
        k: v for k, v in wrong.json().items() if k != "instance"
    }
    assert unknown.json()["type"] == "/problems/wrong-receipt-or-secret"
    assert unknown.json()["title"] == "查询码或密码不正确"


async def _timed(intake: Intake, paths: list[str]) -> tuple[float, set[int]]:
    started = time.perf_counter()
    statuses = {
        (await intake.http.get(path, headers=_secret("guess"))).status_code for path in paths
    }
    return time.perf_counter() - started, statuses


async def test_unknown_codes_are_refused_without_hashing_a_secret(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake.app.state.deps.settings.report_secret_max_failures = 1000  # no lock in the way
    code = (await _file(intake)).json()["receipt_code"]
    unknown = [f"/v1/reports/{secrets.token_hex(12).upper()}" for _ in range(40)]
    hashed: list[str] = []
    verify = reports._verify
    monkeypatch.setattr(reports, "_verify", lambda h, s: hashed.append(s) or verify(h, s))

    unknown_time, unknown_statuses = await _timed(intake, unknown)
    hashed_for_unknown = len(hashed)
    wrong_time, wrong_statuses = await _timed(intake, [f"/v1/reports/{code}"] * 40)

    print(f"\n40 个不存在的查询码：{unknown_time:.2f} 秒；40 次密码错误：{wrong_time:.2f} 秒")
    assert unknown_statuses == wrong_statuses == {401}
    assert (hashed_for_unknown, len(hashed)) == (0, 40)


async def test_a_real_name_report_has_an_acknowledgement_deadline_in_working_days(
    intake: Intake,
) -> None:
    filed = await _file(
        intake, anonymous=False, secret=None, reporter={"name": "孙十", "phone": "13800000000"}
    )
    assert filed.status_code == 201, filed.text
    due = filed.json()["acknowledge_by"]
    assert filed.json()["receipt_code"] is None
    async with intake.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT stream_id, data FROM events WHERE type LIKE '%report_received'")
        )
        stream_id, data = rows.one()
    clue_id = stream_id.removeprefix("clue-")
    clerk = await operator_auth(intake, "clerk")

    acknowledged = await intake.http.post(f"/v1/clues/{clue_id}/acknowledgement", headers=clerk)

    assert data["acknowledge_by"] == due
    assert "孙十" not in json.dumps(data, ensure_ascii=False)
    assert acknowledged.status_code == 201, acknowledged.text
    assert acknowledged.json()["in_time"] is True


async def test_an_anonymous_report_needs_a_secret_and_a_real_name_one_a_reporter(
    intake: Intake,
) -> None:
    no_secret = await _file(intake, secret=None)
    no_reporter = await _file(intake, anonymous=False)

    assert no_secret.status_code == 422
    assert no_secret.json()["errors"][0]["field"] == "secret"
    assert no_reporter.status_code == 422
    assert no_reporter.json()["errors"][0]["field"] == "reporter"
    assert await intake.count("report_receipts") == 0


async def test_reports_from_one_address_are_rate_limited(intake: Intake) -> None:
    limit = intake.app.state.runtime.settings.reports_per_address_per_hour
    real_name = {
        "anonymous": False,
        "secret": None,
        "reporter": {"name": "孙十", "phone": "13800000000"},
    }

    codes = [(await _file(intake, **real_name)).status_code for _ in range(limit)]
    over = await _file(intake, **real_name)

    assert codes == [201] * limit
    assert over.status_code == 429
    assert "retry-after" in over.headers


async def test_the_report_limit_is_shared_by_every_replica(
    intake: Intake, database_url: str
) -> None:
    # Two replicas of intake behind one front door: a client alternating between them
    # still gets the hourly limit once, not once per replica.
    settings = intake.app.state.runtime.settings
    limit = settings.reports_per_address_per_hour
    second = intake_app.create(intake_settings(database_url, settings.db_schema))
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as other:
            replicas = [intake.http, other]
            codes = [
                (await replicas[i % 2].post("/v1/reports", json=report())).status_code
                for i in range(limit)
            ]
            over = [(await r.post("/v1/reports", json=report())).status_code for r in replicas]

    assert codes == [201] * limit
    assert over == [429, 429]
    async with intake.engine.connect() as conn:
        keys = (await conn.execute(text("SELECT address_key FROM report_rate"))).scalars().all()
    # One row for the one address, and the address itself is not what is kept.
    assert len(keys) == 1
    assert "127.0.0.1" not in keys[0] and len(keys[0]) == 64


async def test_the_report_window_slides_and_idle_addresses_are_forgotten(intake: Intake) -> None:
    window = SharedWindow(limit=2, window=1.0)

    first = [await window.allow(intake.engine, "a" * 64) for _ in range(2)]
    refused = await window.allow(intake.engine, "a" * 64)
    other = await window.allow(intake.engine, "b" * 64)
    await asyncio.sleep(1.2)
    again = await window.allow(intake.engine, "a" * 64)
    await asyncio.sleep(1.2)
    forgotten = await window.forget_idle(intake.engine)

    assert first == [None, None]
    assert refused is not None and 0 < refused <= 1.0 + 0.5  # a whole second, rounded up
    assert other is None  # another address has its own window
    assert again is None  # the first two left the window
    assert forgotten == 2  # both addresses have nothing left in the window


async def test_a_real_name_reporter_is_not_named_in_the_narrative_events_carry(
    intake: Intake,
) -> None:
    filed = await _file(
        intake,
        anonymous=False,
        secret=None,
        reporter={"name": "孙十", "phone": "13800000000"},
        narrative="我孙十亲眼看到钱九镇长每周在农家乐用公款宴请。",
    )

    assert filed.status_code == 201, filed.text
    async with intake.engine.connect() as conn:
        data = (
            await conn.execute(text("SELECT data FROM events WHERE type LIKE '%clue_received'"))
        ).scalar_one()
    assert "孙十" not in json.dumps(data, ensure_ascii=False)
    masked = await pii.open_texts(intake.app.state.deps.vault, data["narrative"])
    assert masked == "我孙*亲眼看到钱*镇长每周在农家乐用公款宴请。"
    assert data["sealed_narrative"].startswith("pii1t.")


async def test_a_message_that_does_not_open_reads_unopenable_and_the_conversation_goes_on(
    intake: Intake,
) -> None:
    code = (await _file(intake)).json()["receipt_code"]
    await intake.http.post(
        f"/v1/reports/{code}/messages", json={"text": "请问受理了吗？"}, headers=_secret()
    )
    clue_id = await _clue_id(intake)
    store = intake.app.state.runtime.store
    [posted] = [
        r.event
        for r in await store.read_stream(f"clue-{clue_id}")
        if isinstance(r.event, ReportMessagePosted)
    ]
    # Its token copied onto another message: sealed for another field, it does not open.
    copied = posted.model_copy(update={"message_id": uuid4()})
    await store.append(f"clue-{clue_id}", [copied], expected_version=ANY, meta=Metadata("t"))

    conversation = await intake.http.get(f"/v1/reports/{code}/messages", headers=_secret())
    clerk = await operator_auth(intake, "clerk")
    desk = await intake.http.get(f"/v1/clues/{clue_id}/messages", headers=clerk)

    assert conversation.status_code == 200 and desk.status_code == 200, desk.text
    expected = ["请问受理了吗？", pii.UNOPENABLE]
    assert [m["text"] for m in conversation.json()] == expected
    assert [m["text"] for m in desk.json()] == expected
