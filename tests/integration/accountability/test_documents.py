"""问责决定书 and 通报: the commission's decision on a measure issues its numbered documents."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import docx

from libs.events.contracts.documents import DocumentIssued
from services.accountability.domain.inquiry import inquiry_stream
from services.accountability.service.documents import rerender
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability, signed
from tests.integration.accountability.factories import UNIT, responsibility_list

YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year


async def _inquiry(acc: Accountability) -> tuple[str, str]:
    listed = responsibility_list(key_area=False)
    r = await acc.http.post("/v1/responsibility-lists", json=listed, headers=OFFICER)
    assert r.status_code == 201, r.text
    r = await acc.http.post(
        "/v1/inquiries",
        json={
            "unit": UNIT,
            "department": "财务科",
            "misconduct_date": "2026-03-04",
            "reason": "财务科长期套取公款",
        },
        headers=OFFICER,
    )
    assert r.status_code == 201, r.text
    inquiry_id, etag = r.json()["inquiry_id"], r.headers["ETag"]
    r = await acc.http.post(
        f"/v1/inquiries/{inquiry_id}/findings",
        json={"party_id": "department_leader", "fulfilled": False, "reasons": ["未落实一岗双责"]},
        headers={**OFFICER, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    return inquiry_id, r.headers["ETag"]


async def _decide(acc: Accountability, inquiry_id: str, etag: str, measure: str) -> str:
    path = f"/v1/inquiries/{inquiry_id}"
    r = await acc.http.post(
        f"{path}/measures",
        json={"party_id": "department_leader", "measure": measure},
        headers={**OFFICER, "If-Match": etag},
    )
    assert r.status_code == 201, r.text
    measure_id = next(m["measure_id"] for m in r.json()["measures"] if m["measure"] == measure)
    r = await acc.http.post(
        f"{path}/measures/{measure_id}/decision",
        json={"decided_by_body": "commission", "approved": True},
        headers={**OFFICER, "If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 202, r.text  # proposed; the chain decides it
    r = await signed(acc.http, r)
    return r.headers["ETag"]


async def test_a_commission_decision_issues_its_numbered_documents(acc: Accountability) -> None:
    inquiry_id, etag = await _inquiry(acc)
    etag = await _decide(acc, inquiry_id, etag, "circulation")
    await _decide(acc, inquiry_id, etag, "admonition")

    listed = (await acc.http.get(f"/v1/inquiries/{inquiry_id}/documents", headers=LEADER)).json()
    numbers = [(d["title"], d["number"]) for d in listed["items"]]
    decision = listed["items"][0]
    download = await acc.http.get(decision["href"], headers=LEADER)
    lines = [p.text for p in docx.Document(io.BytesIO(download.content)).paragraphs]

    assert numbers == [
        ("问责决定书", f"青纪问〔{YEAR}〕1号"),
        ("通报", f"青纪通〔{YEAR}〕1号"),
        ("问责决定书", f"青纪问〔{YEAR}〕2号"),
    ]
    assert hashlib.sha256(download.content).hexdigest() == decision["sha256"]
    assert "关于对林副局长予以通报问责的决定" in lines and f"青纪问〔{YEAR}〕1号" in lines
    # 问责条例 第六条: whose responsibility of which kind, in the document and the inquiry.
    assert any("负有领导责任中的主要领导责任（个人责任）" in line for line in lines)
    shown = (await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=LEADER)).json()
    assert {
        (m["party_id"], m["responsibility_kind_label"], m["bearing_label"])
        for m in shown["measures"]
    } == {("department_leader", "主要领导责任", "个人责任")}
    records = await acc.store.read_stream(inquiry_stream(UUID(inquiry_id)))
    issued = next(
        r.event
        for r in records
        if isinstance(r.event, DocumentIssued)
        and str(r.event.document_id) == decision["document_id"]
    )
    again = await rerender(acc.deps.documents, acc.deps.rules, records, issued, acc.deps.vault)
    assert hashlib.sha256(again).hexdigest() == decision["sha256"]


async def test_downloading_a_document_is_a_recorded_read_and_serving_it_records_date_and_manner(
    acc: Accountability,
) -> None:
    inquiry_id, etag = await _inquiry(acc)
    etag = await _decide(acc, inquiry_id, etag, "admonition")
    path = f"/v1/inquiries/{inquiry_id}"
    [decision] = (await acc.http.get(f"{path}/documents", headers=LEADER)).json()["items"]
    downloaded = await acc.http.get(decision["href"], headers=OFFICER)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    serve = f"{decision['href']}/serve"

    served = await acc.http.post(
        serve, json={"served_on": today, "manner": "direct"}, headers={**OFFICER, "If-Match": etag}
    )
    again = await acc.http.post(
        serve,
        json={"served_on": today, "manner": "post"},
        headers={**OFFICER, "If-Match": served.headers.get("ETag", etag)},
    )
    [listed] = (await acc.http.get(f"{path}/documents", headers=LEADER)).json()["items"]
    reads = await acc.http.get(f"{path}/reads", headers=LEADER)
    by_officer = await acc.http.get(f"{path}/reads", headers=OFFICER)

    assert downloaded.status_code == 200
    assert served.status_code == 200, served.text
    assert (listed["served_on"], listed["manner_label"]) == (today, "直接送达")
    assert again.status_code == 409 and again.json()["title"] == "送达不成立"
    assert f"已于{today}送达" in again.json()["detail"]
    assert [(r["actor"], r["view"]) for r in reads.json()] == [
        ("operator:leader", "documents"),
        ("operator:accountability", f"document:{decision['document_id']}"),
        ("operator:leader", "documents"),
    ]
    assert by_officer.status_code == 403
    kinds = [r.envelope.type for r in await acc.store.read_stream(inquiry_stream(UUID(inquiry_id)))]
    assert kinds[-1] == "zhengfeng.documents.document_served"
