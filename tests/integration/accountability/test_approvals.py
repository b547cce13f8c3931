"""审批 of 问责 decisions: the commission's decision on a measure is proposed by the
accountability office and takes effect after 室主任, 分管领导 and the 常委会."""

from __future__ import annotations

from typing import Any

from tests.integration.accountability.conftest import (
    DIRECTOR,
    LEADER,
    OFFICER,
    SECRETARY,
    Accountability,
    signed,
)
from tests.integration.accountability.test_documents import _inquiry


async def _inbox(acc: Accountability, who: dict[str, str]) -> list[dict[str, Any]]:
    await acc.app.state.runtime.projections.catch_up()
    r = await acc.http.get("/v1/approvals", params={"assignee": "me"}, headers=who)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _measure(acc: Accountability, inquiry_id: str, etag: str) -> tuple[str, str]:
    r = await acc.http.post(
        f"/v1/inquiries/{inquiry_id}/measures",
        json={"party_id": "department_leader", "measure": "admonition"},
        headers={**OFFICER, "If-Match": etag},
    )
    assert r.status_code == 201, r.text
    return r.json()["measures"][-1]["measure_id"], r.headers["ETag"]


async def test_a_commission_decision_waits_for_its_chain_and_a_rejection_goes_back(
    acc: Accountability,
) -> None:
    inquiry_id, etag = await _inquiry(acc)
    measure_id, etag = await _measure(acc, inquiry_id, etag)
    decision = f"/v1/inquiries/{inquiry_id}/measures/{measure_id}/decision"
    body = {"decided_by_body": "commission", "approved": True}

    by_leader = await acc.http.post(decision, json=body, headers={**LEADER, "If-Match": etag})
    proposed = await acc.http.post(decision, json=body, headers={**OFFICER, "If-Match": etag})

    assert by_leader.status_code == 403
    assert proposed.status_code == 202, proposed.text
    p = proposed.json()
    assert [s["label"] for s in p["steps"]] == ["室主任审核", "分管领导审批", "常委会集体研究"]
    inquiry = (await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=LEADER)).json()
    assert inquiry["measures"][0]["decision"] is None
    assert [i["proposal_id"] for i in await _inbox(acc, DIRECTOR)] == [p["proposal_id"]]
    assert await _inbox(acc, OFFICER) == [] and await _inbox(acc, SECRETARY) == []

    rejected = await acc.http.post(
        f"{p['location']}/approve",
        json={"opinion": "disagree", "comment": "事实依据不足"},
        headers={**DIRECTOR, "If-Match": f'"{p["version"]}"'},
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "returned"
    [back] = await _inbox(acc, OFFICER)
    assert back["returned_reason"] == "事实依据不足"
    resubmitted = await acc.http.post(
        f"{p['location']}/resubmit",
        json={"body": p["body"], "comment": "已补充事实依据"},
        headers={**OFFICER, "If-Match": f'"{rejected.json()["version"]}"'},
    )
    assert resubmitted.status_code == 200, resubmitted.text

    decided = await signed(acc.http, resubmitted)

    assert decided.json()["measures"][0]["decision"]["decided_by_body"] == "commission"
    stream = await acc.store.read_stream(f"inquiry-{inquiry_id}")
    kinds = [r.envelope.type.rsplit(".", 1)[-1] for r in stream]
    assert kinds.count("meeting_recorded") == 1
    assert kinds.index("measure_decided") < kinds.index("proposal_took_effect")
    assert "document_issued" in kinds  # the decision's 问责决定书, issued once it took effect
    assert await _inbox(acc, SECRETARY) == [] and await _inbox(acc, OFFICER) == []


async def test_recording_another_bodys_decision_needs_no_approval(acc: Accountability) -> None:
    inquiry_id, etag = await _inquiry(acc)
    measure_id, etag = await _measure(acc, inquiry_id, etag)

    r = await acc.http.post(
        f"/v1/inquiries/{inquiry_id}/measures/{measure_id}/decision",
        json={
            "decided_by_body": "县委组织部",
            "approved": True,
            "document_number": "组〔2026〕1号",
        },
        headers={**OFFICER, "If-Match": etag},
    )

    assert r.status_code == 200, r.text


async def _all_found(acc: Accountability, inquiry_id: str, etag: str) -> str:
    inquiry = (await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=LEADER)).json()
    for party in inquiry["parties"]:
        if party["finding"] is None:
            r = await acc.http.post(
                f"/v1/inquiries/{inquiry_id}/findings",
                json={"party_id": party["party_id"], "fulfilled": True},
                headers={**OFFICER, "If-Match": etag},
            )
            assert r.status_code == 200, r.text
            etag = r.headers["ETag"]
    return etag


async def test_the_conclusion_is_the_commissions_collective_decision(acc: Accountability) -> None:
    inquiry_id, etag = await _inquiry(acc)
    path = f"/v1/inquiries/{inquiry_id}"
    body = {"summary": "一案双查完毕，分管领导未履行一岗双责"}
    early = await acc.http.post(
        f"{path}/conclusion", json=body, headers={**OFFICER, "If-Match": etag}
    )
    etag = await _all_found(acc, inquiry_id, etag)

    proposed = await acc.http.post(
        f"{path}/conclusion", json=body, headers={**OFFICER, "If-Match": etag}
    )
    still = (await acc.http.get(path, headers=LEADER)).json()
    concluded = await signed(acc.http, proposed)

    assert early.status_code == 409  # a party without a finding: refused at once
    assert proposed.status_code == 202, proposed.text
    assert [s["label"] for s in proposed.json()["steps"]] == [
        "室主任审核",
        "分管领导审批",
        "常委会集体研究",
    ]
    assert still["status"] == "open" and still["concluded"] is None
    assert concluded.json()["status"] == "concluded"
    assert concluded.json()["concluded"]["summary"] == body["summary"]
    kinds = [
        r.envelope.type.rsplit(".", 1)[-1]
        for r in await acc.store.read_stream(f"inquiry-{inquiry_id}")
    ]
    assert kinds[-3:] == ["meeting_recorded", "inquiry_concluded", "proposal_took_effect"]
