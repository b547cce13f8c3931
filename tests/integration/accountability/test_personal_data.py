"""Leaders and subjects in accountability's events are sealed: masked in answers, revealed
to allowed roles (the read recorded), found by leader through the blind index, and gone
for good once their key is shredded."""

from __future__ import annotations

import json

from sqlalchemy import text

from libs.events import pii
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability, auth
from tests.integration.accountability.factories import UNIT, responsibility_list

CHIEF, FINANCE, SUBJECT = "陈建国", "林晓梅", "季志远"


async def _opened_by_hand(acc: Accountability) -> str:
    lst = responsibility_list("2025-01-01", chief=CHIEF, finance_leader=FINANCE)
    published = await acc.http.post("/v1/responsibility-lists", json=lst, headers=OFFICER)
    assert published.status_code == 201, published.text
    body = {
        "unit": UNIT,
        "department": "财务科",
        "misconduct_date": "2026-03-04",
        "reason": "巡察反馈财务管理问题突出",
        "direct_subject": SUBJECT,
    }
    opened = await acc.http.post("/v1/inquiries", json=body, headers=OFFICER)
    assert opened.status_code == 201, opened.text
    return str(opened.json()["inquiry_id"])


async def _stored_text(acc: Accountability) -> str:
    async with acc.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
    return "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in rows)


async def test_leaders_and_the_direct_subject_never_enter_an_event_in_clear(
    acc: Accountability,
) -> None:
    inquiry_id = await _opened_by_hand(acc)

    masked = (await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=LEADER)).json()
    url, reveal = f"/v1/inquiries/{inquiry_id}", {"reveal": "true"}
    shown = (await acc.http.get(url, params=reveal, headers=LEADER)).json()
    refused = await acc.http.get(url, params=reveal, headers=auth("auditor"))
    stored = await _stored_text(acc)

    assert all(name not in stored for name in (CHIEF, FINANCE, SUBJECT))
    assert CHIEF not in str(masked) and SUBJECT not in str(masked)
    assert masked["direct_subject"] == pii.mask_name(SUBJECT)
    names = {p["party_id"]: p["name"] for p in shown["parties"]}
    assert (names["first_responsible"], names["department_leader"]) == (CHIEF, FINANCE)
    assert shown["direct_subject"] == SUBJECT
    assert shown["parties"] == [
        {**p, "name": names[p["party_id"]]} for p in masked["parties"]
    ]  # only the names change
    assert refused.status_code == 403
    assert "zhengfeng.intake.personal_data_accessed" in await _types(acc)


async def test_a_shredded_leader_is_unreadable_in_every_answer(acc: Accountability) -> None:
    inquiry_id = await _opened_by_hand(acc)
    vault = pii.Vault.from_env(acc.engine)
    async with acc.engine.connect() as conn:
        index = vault.blind_index("name_unit", CHIEF, UNIT)
        ref = await vault.person_for(conn, index, pii.now())

    await vault.shred(ref, by="test", reason="测试", now=pii.now())
    url = f"/v1/inquiries/{inquiry_id}"
    shown = await acc.http.get(url, params={"reveal": "true"}, headers=LEADER)
    lists = await acc.http.get("/v1/responsibility-lists", headers=LEADER)
    who = await acc.http.get(
        "/v1/responsibility", params={"unit": UNIT, "on": "2026-03-04"}, headers=LEADER
    )

    for answer in (shown, lists, who):
        assert answer.status_code == 200 and CHIEF not in answer.text
    names = {p["party_id"]: p["name"] for p in shown.json()["parties"]}
    assert names["first_responsible"] == pii.SHREDDED


async def _types(acc: Accountability) -> list[str]:
    async with acc.engine.connect() as conn:
        return list((await conn.execute(text("SELECT type FROM events"))).scalars().all())


async def test_the_leaders_responsible_on_a_date_are_revealed_to_allowed_roles_only(
    acc: Accountability,
) -> None:
    await _opened_by_hand(acc)
    params = {"unit": UNIT, "on": "2026-03-04", "department": "财务科"}

    masked = await acc.http.get("/v1/responsibility", params=params, headers=LEADER)
    shown = await acc.http.get(
        "/v1/responsibility", params={**params, "reveal": "true"}, headers=LEADER
    )
    refused = await acc.http.get(
        "/v1/responsibility", params={**params, "reveal": "true"}, headers=auth("auditor")
    )

    assert CHIEF not in masked.text and FINANCE not in masked.text
    names = {p["party_id"]: p["name"] for p in shown.json()["parties"]}
    assert (names["first_responsible"], names["department_leader"]) == (CHIEF, FINANCE)
    assert shown.json()["parties"][1]["responsibility_label"] == "主体责任"
    assert refused.status_code == 403
