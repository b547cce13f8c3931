"""纪检监察建议书 through the HTTP API: proposed from an inquiry, signed through its chain,
issued with its numbered document and reply deadline; a late reply noticed once; the unit's
reply opening its rectification list."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import text

from libs.events.projections import ProjectionRunner
from libs.kit import workdays
from services.accountability.projections_rectification import SuggestionProjection
from services.accountability.service.suggestions import notice_late_replies
from tests.integration.accountability.conftest import (
    DIRECTOR,
    LEADER,
    OFFICER,
    Accountability,
    eventually,
    signed,
)
from tests.integration.accountability.factories import UNIT
from tests.integration.accountability.test_documents import _inquiry

SUGGESTION: dict[str, Any] = {
    "unit": UNIT,
    "problems": ["财务报销审核流于形式", "公务卡管理存在漏洞"],
    "recommendations": ["健全财务内控制度", "开展警示教育"],
}


async def _issued(acc: Accountability) -> dict[str, Any]:
    inquiry_id, _ = await _inquiry(acc)
    body = {**SUGGESTION, "basis": {"kind": "inquiry", "reference": inquiry_id}}
    proposed = await acc.http.post("/v1/suggestions", json=body, headers=OFFICER)
    assert proposed.status_code == 202, proposed.text
    assert [s["label"] for s in proposed.json()["steps"]] == [
        "室主任审核",
        "分管领导审批",
        "主要负责人审批",
    ]
    issued = await signed(acc.http, proposed)
    assert issued.status_code == 201, issued.text
    out: dict[str, Any] = issued.json()
    return out


async def test_a_proposed_suggestion_is_listed_with_the_version_its_sign_off_sends(
    acc: Accountability,
) -> None:
    inquiry_id, _ = await _inquiry(acc)
    body = {**SUGGESTION, "basis": {"kind": "inquiry", "reference": inquiry_id}}
    proposed = (await acc.http.post("/v1/suggestions", json=body, headers=OFFICER)).json()

    async def listed() -> list[dict[str, Any]] | None:
        r = await acc.http.get(
            "/v1/suggestion-proposals", params={"status": "open"}, headers=LEADER
        )
        return r.json()["items"] or None

    (row,) = await eventually(listed, "the proposal in the inbox")
    assert (row["proposal_id"], row["label"], row["version"]) == (
        proposed["proposal_id"], "室主任审核", proposed["version"],
    )  # fmt: skip
    sign = await acc.http.post(
        f"{row['location']}/approve",
        json={"opinion": "agree", "comment": "同意"},
        headers={**DIRECTOR, "If-Match": f'"{row["version"]}"'},
    )
    assert sign.status_code == 200 and sign.json()["current_step"]["label"] == "分管领导审批"


async def test_a_suggestion_is_issued_numbered_after_its_chain_with_a_reply_deadline(
    acc: Accountability,
) -> None:
    s = await _issued(acc)

    assert s["number"].startswith("青纪建〔") and s["number"].endswith("1号")
    assert (s["status_label"], s["basis"]["kind_label"]) == ("待回复", "问责调查")
    today = date.fromisoformat(s["issued_at"][:10])
    assert date.fromisoformat(s["reply_due"]) >= workdays.load().add_workdays(today, 21)
    doc = await acc.http.get(s["document"]["href"], headers=LEADER)
    assert doc.status_code == 200
    assert (
        doc.headers["ETag"].strip('"')
        == hashlib.sha256(doc.content).hexdigest()
        == s["document"]["sha256"]
    )
    xml = zipfile.ZipFile(io.BytesIO(doc.content)).read("word/document.xml").decode()
    assert "一是财务报销审核流于形式；二是公务卡管理存在漏洞。" in xml
    assert s["number"] in xml

    store, deps = acc.store, acc.deps
    await acc.app.state.runtime.projections.catch_up()
    late = date.fromisoformat(s["reply_due"]) + timedelta(days=1)
    assert await notice_late_replies(store, deps, late) == 1
    await acc.app.state.runtime.projections.catch_up()
    assert await notice_late_replies(store, deps, late) == 0
    listed = (await acc.http.get("/v1/suggestions", params={"unit": UNIT}, headers=LEADER)).json()[
        "items"
    ]
    assert [(x["number"], x["overdue"], x["status_label"]) for x in listed] == [
        (s["number"], True, "待回复")
    ]


async def test_the_units_reply_opens_its_rectification_list(acc: Accountability) -> None:
    s = await _issued(acc)
    etag = (await acc.http.get(f"/v1/suggestions/{s['suggestion_id']}", headers=LEADER)).headers[
        "ETag"
    ]
    reply = {
        "summary": "已召开专题民主生活会，逐项制定整改措施",
        "items": [
            {
                "problem": "财务报销审核流于形式",
                "owner": "财务科",
                "measures": ["修订报销审核办法"],
            },
            {"problem": "公务卡管理存在漏洞", "owner": "财务科", "working_days": 10},
        ],
    }

    r = await acc.http.post(f"/v1/suggestions/{s['suggestion_id']}/reply", json=reply,
                            headers={**OFFICER, "If-Match": etag})  # fmt: skip

    assert r.status_code == 200, r.text
    answered = r.json()
    assert answered["status_label"] == "已回复"
    lst = (await acc.http.get(answered["reply"]["rectification"], headers=LEADER)).json()
    assert (lst["source"]["kind_label"], lst["source"]["reference"]) == (
        "纪检监察建议书",
        s["number"],
    )
    assert [i["owner"] for i in lst["items"]] == ["财务科", "财务科"]
    again = await acc.http.post(
        f"/v1/suggestions/{s['suggestion_id']}/reply", json=reply, headers=OFFICER
    )
    assert again.status_code == 409

    # The read model rebuilt from the store is the live one.
    await acc.app.state.runtime.projections.catch_up()
    before = await _suggestion_rows(acc)
    await ProjectionRunner(acc.store, [SuggestionProjection()]).rebuild(
        SuggestionProjection(), progress=False
    )
    assert await _suggestion_rows(acc) == before
    assert [(r.status, str(r.list_id)) for r in before] == [
        ("replied", answered["reply"]["list_id"])
    ]


async def _suggestion_rows(acc: Accountability) -> list[Any]:
    async with acc.engine.connect() as conn:
        return list(
            (await conn.execute(text("SELECT * FROM suggestions ORDER BY suggestion_id"))).all()
        )


async def test_a_suggestion_needs_a_decided_case_or_an_inquiry(acc: Accountability) -> None:
    body = {**SUGGESTION, "basis": {"kind": "case", "reference": str(uuid4())}}
    r = await acc.http.post("/v1/suggestions", json=body, headers=OFFICER)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "basis.reference"
    missing = await acc.http.get(f"/v1/suggestions/{uuid4()}", headers=LEADER)
    assert missing.status_code == 404
