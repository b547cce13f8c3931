"""四种形态 over HTTP: measures checked against the catalogue, 形态一 on a clue, 形态四 移送."""

from __future__ import annotations

from datetime import date

from libs.kit.problems import PROBLEM_JSON
from tests.integration.casework.conftest import LEADER, OFFICER, REVIEWER, Casework
from tests.integration.casework.test_cases_api import CHECKLIST, _to_investigation


async def _in_review(cw: Casework) -> object:
    case_id = await _to_investigation(cw, misconduct_date="2026-01-10")
    await cw.command(case_id, "answer_checklist", OFFICER, answers=CHECKLIST)
    assert (await cw.decided(case_id, "transfer_for_review", OFFICER)).status_code == 200
    return case_id


async def test_a_form_one_decision_naming_expulsion_is_refused_naming_the_measures(
    cw: Casework,
) -> None:
    case_id = await _in_review(cw)
    opinion = {"form": 1, "measures": ["expulsion"], "facts": "违规公款宴请"}

    refused = await cw.command(case_id, "review_opinion", REVIEWER, **opinion)

    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM_JSON
    body = refused.json()
    assert body["errors"][0]["field"] == "measures"
    assert "开除党籍" in body["detail"] and "第一种形态" in body["detail"]


async def test_a_form_four_case_is_transferred_to_the_procuratorate_and_ends(
    cw: Casework,
) -> None:
    case_id = await _in_review(cw)
    decision = {"form": 4, "measures": ["expulsion", "dismissal"]}
    opinion = {**decision, "facts": "利用职务便利收受财物，涉嫌受贿犯罪"}
    assert (await cw.decided(case_id, "review_opinion", REVIEWER, **opinion)).status_code == 200
    assert (await cw.decided(case_id, "decide", REVIEWER, **decision)).status_code == 200

    sent = await cw.command(
        case_id,
        "transfer_for_prosecution",
        OFFICER,
        procuratorate="青山区人民检察院",
        transferred_on=date.today().isoformat(),
    )

    assert sent.status_code == 200, sent.text
    case = sent.json()
    assert (case["status"], case["status_label"]) == ("prosecuted", "已移送检察机关审查起诉")
    assert case["allowed_commands"] == []
    timeline = (await cw.http.get(f"/v1/cases/{case_id}/timeline", headers=LEADER)).json()
    types = [e["type"] for e in timeline["events"]]
    assert "zhengfeng.casework.case_transferred_for_prosecution" in types
    assert types[-1] == "zhengfeng.casework.case_closed"


async def test_an_inquiry_reply_ending_in_admonition_records_a_first_form(cw: Casework) -> None:
    clue_id = await cw.receive()
    assert (
        await cw.decided(clue_id, "dispose", OFFICER, method="talk_or_inquiry")
    ).status_code == 200
    await cw.command(clue_id, "record_reply", OFFICER)

    ended = await cw.command(clue_id, "evaluate_reply", OFFICER, outcome="admonition")

    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["form"]) == ("closed", 1)
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    applied = [
        e for e in timeline["events"] if e["type"] == "zhengfeng.casework.first_form_applied"
    ]
    assert [e["data"]["measures"] for e in applied] == [["admonition"]]


async def test_the_measures_catalogue_lists_what_each_form_allows(cw: Casework) -> None:
    form_one = (await cw.http.get("/v1/measures", params={"form": 1}, headers=REVIEWER)).json()
    everything = (await cw.http.get("/v1/measures", headers=REVIEWER)).json()

    assert {m["label"] for m in form_one["measures"]} >= {
        "谈话提醒",
        "批评教育",
        "责令检查",
        "诫勉",
    }
    assert all(1 in m["forms"] for m in form_one["measures"])
    by_code = {m["code"]: m for m in everything["measures"]}
    assert (
        by_code["serious_warning"]["kind_label"],
        by_code["serious_warning"]["effect_months"],
    ) == (
        "党纪处分",
        18,
    )
    assert by_code["post_adjustment"]["authority_label"] == "有管理权限的党组织（组织部门）"
    assert everything["forms"]["4"] == "第四种形态"
    bad = await cw.http.get("/v1/measures", params={"form": 5}, headers=REVIEWER)
    assert bad.status_code == 422
