"""巡察 findings through the HTTP API: a 巡察组 (a partner client) reports what it found in a
unit; the findings become the unit's rectification list with the 双报告 and deadlines."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import jwt
from sqlalchemy import text

from libs.kit import workdays
from services.accountability.service.rectification import notice_overdue
from tests.integration.accountability.conftest import KEY, KID, LEADER, OFFICER, Accountability


def group_auth(
    sub: str = "inspection-group-2", scope: str = "clue:transfer source:inspection findings:report"
) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": sub, "kind": "partner", "name": "县委第二巡察组", "dept": "inspection",
              "scope": scope, "iss": "zhengfeng", "aud": "zhengfeng", "iat": now, "exp": now + 3600}  # fmt: skip
    return {
        "Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='RS256', headers={'kid': KID})}"
    }


FINDINGS: dict[str, Any] = {
    "reference": "青巡反〔2026〕7号",
    "round": "十五届县委第二轮巡察",
    "unit": "青山县自然资源局",
    "summary": "落实中央八项规定精神不到位",
    "findings": [
        {"problem": "违规发放津贴补贴", "category": "violation_allowances",
         "suggestion": "清退违规发放款项，完善财务审批", "immediate": True},
        {"problem": "文山会海问题突出", "suggestion": "精简会议文件"},
    ],
    "clue_numbers": ["XS-2026-000031"],
}  # fmt: skip


async def test_a_groups_findings_become_the_units_list_with_the_dual_report(
    acc: Accountability,
) -> None:
    group = group_auth()
    r = await acc.http.post("/v1/inspection-findings", json=FINDINGS, headers=group)

    assert r.status_code == 201, r.text
    lst = r.json()
    assert r.headers["Location"] == f"/v1/inspection-findings/{lst['list_id']}"
    assert lst["title"] == "十五届县委第二轮巡察反馈问题整改清单"
    assert (lst["source"]["kind"], lst["source"]["kind_label"]) == ("inspection", "巡察")
    assert "XS-2026-000031" in lst["source"]["summary"]
    calendar, today = workdays.load(), date.fromisoformat(lst["opened_at"][:10])
    assert [x["label"] for x in lst["reports"]] == ["同级党委（党组）", "纪委监委"]
    assert lst["report_due"] is not None
    immediate, other = lst["items"]
    assert immediate["measures"] == ["清退违规发放款项，完善财务审批"]
    assert immediate["owner"] == "被巡察单位党组织"
    assert date.fromisoformat(immediate["deadline"]) < date.fromisoformat(other["deadline"])
    assert date.fromisoformat(other["deadline"]) >= calendar.add_workdays(today, 43)

    again = await acc.http.post("/v1/inspection-findings", json=FINDINGS, headers=group)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["list_id"] == lst["list_id"]

    followed = await acc.http.get(f"/v1/inspection-findings/{lst['list_id']}", headers=group)
    assert followed.status_code == 200 and followed.json()["progress"]["total"] == 2
    assert "by" not in followed.json()["items"][0]["history"][0]  # no officer's account id
    stranger = await acc.http.get(
        f"/v1/inspection-findings/{lst['list_id']}", headers=group_auth("inspection-group-5")
    )
    assert stranger.status_code == 404

    # 双报告: the party committee's report comes in; the commission's is late (noticed once).
    rep = await acc.http.post(f"/v1/rectifications/{lst['list_id']}/reports",
                              json={"to": "party_committee", "summary": "整改进展情况报告"}, headers=OFFICER)  # fmt: skip
    assert rep.status_code == 201, rep.text
    await acc.app.state.runtime.projections.catch_up()
    day_after = date.fromisoformat(lst["report_due"]) + timedelta(days=1)
    for _ in range(2):
        await notice_overdue(acc.store, acc.deps, day_after)
        await acc.app.state.runtime.projections.catch_up()
    late = (await acc.http.get(f"/v1/rectifications/{lst['list_id']}", headers=LEADER)).json()
    assert [(x["to"], x["overdue"]) for x in late["reports"]] == [
        ("party_committee", False), ("commission", True),
    ]  # fmt: skip
    async with acc.engine.connect() as conn:
        noticed = (await conn.execute(text(
            "SELECT count(*) FROM events WHERE type = 'zhengfeng.rectification.report_overdue'"
        ))).scalar_one()  # fmt: skip
    assert noticed == 1
    rating = (await acc.http.get(f"/v1/units/{FINDINGS['unit']}/rating", headers=LEADER)).json()
    assert "整改报告超期 1 项" in rating["explanation"]
    for to in ("commission",):
        rep = await acc.http.post(f"/v1/rectifications/{lst['list_id']}/reports",
                                  json={"to": to, "summary": "整改进展情况报告"}, headers=OFFICER)  # fmt: skip
        assert rep.status_code == 201, rep.text
    detail = (await acc.http.get(f"/v1/rectifications/{lst['list_id']}", headers=LEADER)).json()
    assert all(x["reported_at"] for x in detail["reports"])
    await acc.app.state.runtime.projections.catch_up()
    listed = (
        await acc.http.get(
            "/v1/rectifications", params={"source_kind": "inspection"}, headers=LEADER
        )
    ).json()
    assert [(x["unit"], x["reported_to"]) for x in listed["items"]] == [
        ("青山县自然资源局", ["party_committee", "commission"])
    ]


async def test_only_an_inspection_group_reports_findings(acc: Accountability) -> None:
    audit = group_auth("audit", scope="clue:transfer")
    r = await acc.http.post("/v1/inspection-findings", json=FINDINGS, headers=audit)
    assert r.status_code == 403
    empty = await acc.http.post(
        "/v1/inspection-findings", json={**FINDINGS, "findings": []}, headers=group_auth()
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"].endswith("findings")
