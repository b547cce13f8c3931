"""The accountability office's unit-level mechanisms in a real browser: 整改台账 item by
item with the buttons its status allows, a leader signing a 建议书, and every page of 考核
评价, 廉政档案, 分析报告, 纪检监察建议 and 典型案例 opening with data and no console error."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from libs.kit.issuer import create_client
from tests.conftest import unique
from tests.e2e.conftest import Platform, Tokens
from tests.e2e.console.conftest import Console, logged_in, screenshot
from tests.e2e.console.steps import SYNCED_WITHIN, as_operator, assigned_case, case_command
from tests.e2e.console.test_pages import listed_unit

PERIOD = f"{date.today().year}-H1" if date.today().month > 6 else f"{date.today().year - 1}-H2"
"""The last ended half-year: what the 考核评价 page opens on."""


async def call(
    platform: Platform, headers: dict[str, str], method: str, path: str, **kw: Any
) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.request(
            method, platform.url("accountability", path),
            headers={**headers, "Idempotency-Key": str(uuid4()), **kw.pop("extra", {})}, **kw,
        )  # fmt: skip


async def eventually(
    platform: Platform,
    headers: dict[str, str],
    path: str,
    found: Callable[[dict[str, Any]], bool] = lambda item: True,
    **params: Any,
) -> dict[str, Any]:
    """The first item of accountability's read that ``found`` accepts, once its
    projections show it."""
    deadline = time.monotonic() + SYNCED_WITHIN
    while True:
        r = await call(platform, headers, "GET", path, params=params)
        assert r.status_code == 200, r.text
        match = next((i for i in r.json()["items"] if found(i)), None)
        if match is not None:
            return dict(match)
        assert time.monotonic() < deadline, f"{path} never showed it: {r.text[:2000]}"
        await asyncio.sleep(0.3)


async def watched(page: Page, path: str) -> list[str]:
    """Open ``path`` afresh and keep every console error and uncaught exception of the page
    from then on (the 工作台 the login lands on asks other roles' services for its to-do
    lists, and they answer 403 for this operator, as they should: not this page's doing)."""
    await page.goto(path)
    errors: list[str] = []

    def on_console(m: ConsoleMessage) -> None:
        if m.type == "error":
            errors.append(f"{m.text} {m.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


async def pictured(page: Page, name: str) -> None:
    """A screenshot once no drawer or dialog is still sliding in (Element Plus transitions)."""
    await page.wait_for_function("() => !document.querySelector('[class*=\"-enter-active\"]')")
    await screenshot(page, name)


@pytest.fixture(scope="module")
async def seeded(platform: Platform, operators: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the demo's acts 9 and 10 leave behind, through the same public API: a 巡察
    rectification list, a 民主评议 survey answered once, the half-year's 考核评价, a month's
    analysis report, a 建议书 under approval (signed by the 室主任) and a 意见回复 request."""
    office = await as_operator(platform, operators["accountability"])
    unit = f"泰顺县农业农村局{uuid4().hex[:4]}"
    reference = f"巡察反馈〔2026〕{uuid4().hex[:4]}号"
    opened = await call(platform, office, "POST", "/v1/rectifications", json={
        "unit": unit, "title": "县委第三巡察组反馈问题整改清单", "dual_report": True,
        "source": {"kind": "inspection", "reference": reference, "summary": "巡察反馈"},
        "items": [{"problem": "惠农补贴发放审核把关不严", "owner": "财务股",
                   "measures": ["逐户核查补贴发放台账", "建立复核制度"], "working_days": 30}],
    })  # fmt: skip
    assert opened.status_code == 201, opened.text

    survey = await call(platform, office, "POST", "/v1/surveys",
                        json={"unit": unit, "period": PERIOD, "tokens": 3})  # fmt: skip
    assert survey.status_code == 201, survey.text
    sid, token = survey.json()["survey_id"], survey.json()["links"][0]["token"]
    form = await call(platform, {}, "GET", f"/v1/surveys/{sid}/form", params={"token": token})
    answers = {q["code"]: (q["scale"] if q["kind"] == "scale" else q.get("choices", ["好"])[0])
               for q in form.json()["questions"] if q["kind"] != "text"}  # fmt: skip
    answers["advice"] = "窗口工作人员经常不在岗"  # a free answer: sealed, read by the office
    answered = await call(platform, {}, "POST", f"/v1/surveys/{sid}/responses",
                          json={"token": token, "answers": answers})  # fmt: skip
    assert answered.status_code == 201, answered.text
    await eventually(platform, office, "/v1/rectification-items", unit=unit)
    appraised = await call(platform, office, "POST", "/v1/appraisals", json={"period": PERIOD})
    assert appraised.status_code in (201, 409), appraised.text
    last_month = date.today().replace(day=1).toordinal() - 1
    month = date.fromordinal(last_month).strftime("%Y-%m")
    issued = await call(platform, office, "POST", "/v1/analysis-reports", json={"period": month})
    assert issued.status_code in (201, 409), issued.text

    suggested_unit = await listed_unit(platform, operators["accountability"], "吴副局长")
    inquiry = await call(platform, office, "POST", "/v1/inquiries", json={
        "unit": suggested_unit, "department": "财务科", "misconduct_date": "2026-03-04",
        "reason": "财务科连续发生套取公款问题",
    })  # fmt: skip
    assert inquiry.status_code == 201, inquiry.text
    proposed = await call(platform, office, "POST", "/v1/suggestions", json={
        "unit": suggested_unit, "basis": {"kind": "inquiry", "reference": inquiry.json()["inquiry_id"]},
        "problems": ["财务报销审核流于形式"], "recommendations": ["健全财务内控制度"],
    })  # fmt: skip
    assert proposed.status_code == 202, proposed.text
    pid = proposed.json()["proposal_id"]
    row = await eventually(platform, office, "/v1/suggestion-proposals",
                           lambda r: r["proposal_id"] == pid, status="open")  # fmt: skip
    director = await as_operator(platform, operators["director"])
    signed = await call(platform, director, "POST", f"{row['location']}/approve",
                        json={"opinion": "agree", "comment": "同意"},
                        extra={"If-Match": f'"{row["version"]}"'})  # fmt: skip
    assert signed.status_code == 200, signed.text

    asked = await call(platform, office, "POST", "/v1/integrity-replies", json={
        "cadre": {"name": "林建华", "unit": unit, "post": "副局长"}, "purpose": "拟提拔任用",
        "requested_by": "中共泰顺县委组织部", "reference": f"泰组函〔2026〕{uuid4().hex[:4]}号",
    })  # fmt: skip
    assert asked.status_code == 202, asked.text
    asked_id = asked.json()["proposal_id"]
    await eventually(platform, office, "/v1/integrity-reply-proposals",
                     lambda r: r["proposal_id"] == asked_id, status="open")  # fmt: skip
    return {"unit": unit, "suggested_unit": suggested_unit, "proposal_id": row["proposal_id"],
            "month": month}  # fmt: skip


async def test_the_office_takes_a_rectification_item_from_feedback_to_acceptance(
    browser: Browser,
    console: Console,
    operators: dict[str, dict[str, Any]],
    seeded: dict[str, Any],
) -> None:
    page = await logged_in(browser, console.url, operators["accountability"])
    errors = await watched(page, "/rectification")
    await expect(page.get_by_test_id("menu")).to_contain_text("整改台账")
    await page.locator(".filter-bar input[name=unit]").fill(seeded["unit"])
    await page.get_by_role("button", name="查询").click()
    items = page.get_by_test_id("rect-items")
    row = items.locator("tbody tr", has_text="惠农补贴发放审核把关不严")
    await expect(row).to_contain_text("整改中")
    await expect(row).to_contain_text("巡察")
    await row.click()

    drawer = page.get_by_test_id("rect-drawer")
    await expect(drawer.get_by_test_id("drawer-status")).to_have_text("整改中")
    await expect(drawer.locator("[data-command=completion]")).to_have_text("结果反馈")
    await expect(drawer.locator("[data-command=progress]")).to_be_visible()
    await expect(drawer.locator("[data-command=acceptance]")).to_have_count(0)
    await drawer.locator("[data-command=completion]").click()
    dialog = page.get_by_test_id("command-dialog")
    await dialog.locator("textarea[name=summary]").fill("已逐户核查补贴台账，追回多发补贴")
    await dialog.locator("input[name=evidence]").fill("核查台账、追缴凭证")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("结果反馈")
    await expect(drawer.get_by_test_id("drawer-status")).to_have_text("待验收")
    await expect(drawer.locator("[data-command=completion]")).to_have_count(0)
    await expect(drawer).to_contain_text("核查台账；追缴凭证")

    await drawer.locator("[data-command=acceptance]").click()
    await dialog.locator("textarea[name=opinion]").fill("整改到位，同意验收")
    await page.get_by_test_id("command-submit").click()
    await expect(drawer.get_by_test_id("drawer-status")).to_have_text("已验收待回头看")
    await expect(drawer.locator("[data-command=review]")).to_have_text("回头看")
    await expect(drawer.get_by_test_id("rect-history")).to_contain_text("验收")
    await pictured(page, "rectification-item")
    await page.keyboard.press("Escape")
    await expect(row).to_contain_text("已验收待回头看")

    await page.get_by_role("tab", name="整改清单（巡察反馈、建议书、案件）").click()
    lists = page.get_by_test_id("rect-lists")
    await expect(lists).to_contain_text("县委第三巡察组反馈问题整改清单")
    await expect(lists).to_contain_text("纪委监委待报")
    await lists.locator("[data-report=commission]").click()
    await dialog.locator("textarea[name=summary]").fill("惠农补贴问题已整改，追回资金已上缴")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("登记整改情况报告")
    await expect(lists).to_contain_text("纪委监委已报")
    await expect(lists.locator("[data-report=commission]")).to_have_count(0)
    await pictured(page, "rectification")
    assert errors == []


async def test_a_leader_signs_a_suggestion_after_the_director(
    browser: Browser,
    console: Console,
    platform: Platform,
    operators: dict[str, dict[str, Any]],
    seeded: dict[str, Any],
) -> None:
    page = await logged_in(browser, console.url, operators["leader"])
    errors = await watched(page, "/suggestions")
    await expect(page.get_by_test_id("menu")).to_contain_text("纪检监察建议")
    await page.get_by_role("tab", name="建议书审批").click()
    rows = page.get_by_test_id("proposal-rows")
    row = rows.locator("tbody tr", has_text=f"致{seeded['suggested_unit']}的建议书")
    await expect(row).to_contain_text("分管领导审批")
    await expect(row).to_contain_text("审批中")
    await row.get_by_test_id("sign").click()
    dialog = page.get_by_test_id("command-dialog")
    await dialog.locator("textarea[name=comment], input[name=comment]").fill("同意制发")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("审批")
    await expect(row).to_contain_text("主要负责人审批")
    await expect(row.get_by_test_id("sign")).to_have_count(0)  # the 主要负责人's step now
    await pictured(page, "suggestion-proposals")

    leader = await as_operator(platform, operators["leader"])
    found = await call(
        platform, leader, "GET", "/v1/suggestion-proposals", params={"status": "open"}
    )
    mine = next(r for r in found.json()["items"] if r["proposal_id"] == seeded["proposal_id"])
    assert (mine["role"], mine["label"]) == ("secretary", "主要负责人审批")
    assert errors == []


async def test_each_unit_page_opens_with_its_data_and_no_console_error(
    browser: Browser,
    console: Console,
    operators: dict[str, dict[str, Any]],
    seeded: dict[str, Any],
) -> None:
    page = await logged_in(browser, console.url, operators["accountability"])
    errors = await watched(page, "/appraisals")
    menu = page.get_by_test_id("menu")
    appraisals = page.get_by_test_id("appraisals")
    unit_row = appraisals.locator("tbody tr", has_text=seeded["unit"])
    await expect(unit_row.get_by_test_id("grade")).to_have_text(
        re.compile("^(优秀|良好|合格|不合格)$")
    )
    await unit_row.click()
    drawer = page.get_by_test_id("appraisal-drawer")
    await expect(drawer).to_contain_text("民主评议")
    await drawer.get_by_role("button", name="民主评议").first.click()
    await expect(page.get_by_test_id("survey-drawer")).to_contain_text("1 / 3")
    await expect(page.get_by_test_id("survey-texts")).to_contain_text("窗口工作人员经常不在岗")
    await pictured(page, "appraisal-survey")
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await page.get_by_role("tab", name="民主评议").click()
    await page.locator(".filter-bar input[name=unit]").fill(seeded["unit"])
    await page.get_by_role("button", name="查询").click()
    await expect(page.get_by_test_id("surveys")).to_contain_text("机关作风民主评议问卷")
    await page.get_by_test_id("publish-survey").click()
    dialog = page.get_by_test_id("command-dialog")
    await expect(dialog.locator("input[name=unit]")).to_have_value(seeded["unit"])
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("links-drawer").locator("tbody tr")).to_have_count(30)
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("links-drawer")).to_be_hidden()
    await page.get_by_role("tab", name="约谈").click()
    await expect(page.get_by_test_id("interviews")).to_be_visible()
    await pictured(page, "appraisal")

    await menu.get_by_text("分析报告").click()
    reports = page.get_by_test_id("analysis-reports")
    await reports.locator("tbody tr").first.click()
    await expect(page.get_by_test_id("eight-rules")).to_be_visible()
    await pictured(page, "analysis-report")
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("report-drawer")).to_be_hidden()

    await menu.get_by_text("廉政档案").click()
    form = page.get_by_test_id("record-form")
    await form.locator("input[name=name]").fill("林建华")
    await form.locator("input[name=unit]").fill(seeded["unit"])
    await form.locator("input[name=purpose]").fill("干部考察")
    await form.get_by_role("button", name="查询").click()
    await expect(page.get_by_test_id("conclusion")).to_have_text("未发现问题")
    await page.get_by_role("tab", name="党风廉政意见回复审批").click()
    replies = page.get_by_test_id("proposal-rows").last
    await expect(replies).to_contain_text("中共泰顺县委组织部")
    await expect(replies).to_contain_text("室主任审核")
    await expect(replies.get_by_test_id("sign")).to_have_count(0)  # the office does not sign
    await pictured(page, "integrity")

    await menu.get_by_text("纪检监察建议").click()
    await expect(page.get_by_test_id("suggestions")).to_be_visible()
    await page.get_by_role("tab", name="建议书审批").click()
    await expect(page.get_by_test_id("proposal-rows").last).to_contain_text(
        seeded["suggested_unit"]
    )

    await menu.get_by_text("典型案例").click()
    await expect(page.get_by_test_id("proposal-rows")).to_be_visible()
    await page.get_by_role("tab", name="已通报曝光").click()
    await expect(page.get_by_test_id("published-cases")).to_be_visible()
    assert errors == []


async def inquiry_command(
    platform: Platform, headers: dict[str, str], inquiry_id: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A command on an inquiry through accountability's API, at the version it has now."""
    read = await call(platform, headers, "GET", f"/v1/inquiries/{inquiry_id}")
    answer = await call(platform, headers, "POST", f"/v1/inquiries/{inquiry_id}/{path}",
                        json=body, extra={"If-Match": read.headers["ETag"]})  # fmt: skip
    assert answer.status_code in (200, 201, 202), answer.text
    return dict(answer.json())


async def test_the_office_revises_and_resubmits_a_returned_accountability_decision(
    browser: Browser,
    console: Console,
    platform: Platform,
    operators: dict[str, dict[str, Any]],
) -> None:
    office = await as_operator(platform, operators["accountability"])
    unit = await listed_unit(platform, operators["accountability"], "郑副局长")
    opened = await call(platform, office, "POST", "/v1/inquiries", json={
        "unit": unit, "department": "财务科", "misconduct_date": "2026-03-04",
        "reason": "财务科长期套取公款，追究领导责任",
    })  # fmt: skip
    assert opened.status_code == 201, opened.text
    inquiry_id = opened.json()["inquiry_id"]
    parties = (await call(platform, office, "GET", f"/v1/inquiries/{inquiry_id}")).json()["parties"]
    leader = next(p for p in parties if p["responsibility_label"] == "领导责任")
    await inquiry_command(platform, office, inquiry_id, "findings",
                          {"party_id": leader["party_id"], "fulfilled": False, "reasons": ["未落实一岗双责"]})  # fmt: skip
    measure = await inquiry_command(platform, office, inquiry_id, "measures",
                                    {"party_id": leader["party_id"], "measure": "circulation"})  # fmt: skip
    measure_id = next(m["measure_id"] for m in measure["measures"])
    proposal = await inquiry_command(platform, office, inquiry_id, f"measures/{measure_id}/decision",
                                     {"decided_by_body": "commission", "approved": True})  # fmt: skip
    director = await as_operator(platform, operators["director"])
    await inquiry_command(platform, director, inquiry_id,
                          f"proposals/{proposal['proposal_id']}/approve",
                          {"opinion": "return", "comment": "请补充文号"})  # fmt: skip

    page = await logged_in(browser, console.url, operators["accountability"])
    errors = await watched(page, f"/inquiries/{inquiry_id}")
    proposals = page.get_by_test_id("proposals")
    await expect(proposals.get_by_test_id("proposal-status")).to_have_text("已退回")
    await expect(proposals).to_contain_text("退回理由：请补充文号")
    await proposals.locator("[data-approval=resubmit]").click()
    dialog = page.get_by_test_id("command-dialog")
    await expect(dialog.locator("input[name=decided_by_body]")).to_have_value("本委")
    await dialog.locator("input[name=document_number]").fill("泰纪问〔2026〕3号")
    await dialog.locator("textarea[name=_comment]").fill("已补充文号")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("修改后重新提交")
    await expect(proposals.get_by_test_id("proposal-status")).to_have_text("审批中")
    await expect(proposals.locator("[data-approval=resubmit]")).to_have_count(0)
    await pictured(page, "inquiry-resubmitted")

    read = await call(
        platform, office, "GET", f"/v1/inquiries/{inquiry_id}/proposals/{proposal['proposal_id']}"
    )
    assert read.json()["body"]["body"]["document_number"] == "泰纪问〔2026〕3号"
    assert errors == []


async def through_chain(
    platform: Platform,
    signers: dict[str, dict[str, Any]],
    case_id: str,
    proposed: dict[str, Any],
) -> None:
    """A case command's proposal signed step by step by the operator holding each step's
    role (the 常委会's step as its meeting), until it takes effect."""
    location = f"/v1/cases/{case_id}/proposals/{proposed['proposal_id']}"
    while True:
        headers = await as_operator(platform, signers["leader"])
        async with httpx.AsyncClient(timeout=30) as client:
            p = (await client.get(platform.url("casework", location), headers=headers)).json()
        if p["status"] == "effective":
            return
        step = p["current_step"]
        signer = await as_operator(platform, signers[step["role"]])
        body: dict[str, Any] = {"opinion": "agree", "comment": "同意"}
        if step.get("kind") == "meeting":
            body = {"session": "2026年第12次", "held_on": date.today().isoformat(),
                    "attendees": [signers["secretary"]["client_id"]], "conclusion": "agree"}  # fmt: skip
        name = "meeting" if step.get("kind") == "meeting" else "approve"
        await case_command(platform, signer, case_id, f"proposals/{p['proposal_id']}/{name}", body)


async def decided_case(
    platform: Platform, tokens: Tokens, operators: dict[str, dict[str, Any]]
) -> str:
    """A clue carried to a decision through casework's API as the demo's case is (初步核实 →
    立案 → 审查调查 → 审理 → 处理决定), each sign-off by its role."""
    reviewer = await created_reviewer(platform)
    who = {**operators, "reviewer": reviewer}
    case_id = await assigned_case(platform, tokens, operators, "王建国")
    subject = {
        "name": "王建国",
        "unit": "青山县交通运输局",
        "department": "财务科",
        "post": "财务科科长",
    }
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("officer", "dispose", {"method": "preliminary_verification", "reason": "审计移送，证据较具体"}),
        ("officer", "conclude_verification", {"outcome": "propose_filing", "reason": "初核属实，拟立案"}),
        ("officer", "file_case", {"case_number": f"青纪立〔2026〕{uuid4().hex[:4]}号", "subject": subject,
                                  "misconduct_date": "2026-02-10", "major": True, "reason": "经批准立案"}),
        ("officer", "start_investigation", {"reason": "成立审查调查组"}),
        ("officer", "transfer_for_review", {"reason": "事实清楚，移送审理"}),
        ("reviewer", "review_opinion", {"form": 2, "measures": ["serious_warning"],
                                        "facts": "收受管理服务对象所送购物卡", "reason": "事实清楚"}),
        ("reviewer", "decide", {"form": 2, "measures": ["serious_warning"],
                                "summary": "收受购物卡，给予党内严重警告处分", "reason": "常委会审议"}),
    ]  # fmt: skip
    for player, name, body in steps:
        headers = await as_operator(platform, who[player])
        answer = await case_command(platform, headers, case_id, name, body)
        if "proposal_id" in answer and answer.get("status") == "open":
            await through_chain(platform, who, case_id, answer)
    return case_id


async def created_reviewer(platform: Platform) -> dict[str, Any]:
    """An account of the 案件审理室 (reviewer), made as ``zhengfeng clients create`` makes it."""
    engine = platform.engine("intake")
    try:
        made = await create_client(engine, kind="operator", name="案件审理室 赵敏",
                                   roles=["reviewer"], client_id=unique("op"))  # fmt: skip
    finally:
        await engine.dispose()
    return asdict(made)


async def test_a_typical_case_is_signed_at_the_console_until_it_is_published(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    case_id = await decided_case(platform, tokens, operators)
    office = await as_operator(platform, operators["accountability"])
    title = f"青山县交通运输局财务科科长王建国收受购物卡问题{uuid4().hex[:4]}"
    deadline = time.monotonic() + SYNCED_WITHIN
    while True:  # accountability learns of the decision from casework's events
        proposed = await call(platform, office, "POST", "/v1/typical-cases",
                              json={"case_id": case_id, "title": title, "text": "经查，王建国收受管理服务对象所送购物卡。"})  # fmt: skip
        if proposed.status_code != 422 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert proposed.status_code == 202, proposed.text
    pid = proposed.json()["proposal_id"]
    row = await eventually(platform, office, "/v1/typical-case-proposals",
                           lambda r: r["proposal_id"] == pid, status="open")  # fmt: skip
    director = await as_operator(platform, operators["director"])
    signed = await call(platform, director, "POST", f"{row['location']}/approve",
                        json={"opinion": "agree", "comment": "同意"},
                        extra={"If-Match": f'"{row["version"]}"'})  # fmt: skip
    assert signed.status_code == 200, signed.text

    leader = await logged_in(browser, console.url, operators["leader"])
    errors = await watched(leader, "/typical-cases")
    line = leader.get_by_test_id("proposal-rows").locator("tbody tr", has_text=title)
    await expect(line).to_contain_text("分管领导审批")
    await line.get_by_test_id("sign").click()
    await leader.get_by_test_id("command-submit").click()
    await expect(line).to_contain_text("主要负责人审批")
    await expect(line.get_by_test_id("sign")).to_have_count(0)
    await pictured(leader, "typical-case-proposals")
    assert errors == []

    secretary = await logged_in(browser, console.url, operators["secretary"])
    errors = await watched(secretary, "/typical-cases")
    line = secretary.get_by_test_id("proposal-rows").locator("tbody tr", has_text=title)
    await line.click()
    await expect(secretary.get_by_test_id("proposal-drawer")).to_contain_text("经查，王建国收受")
    await secretary.get_by_test_id("sign-in-drawer").click()
    await secretary.get_by_test_id("command-submit").click()
    await expect(secretary.get_by_test_id("notice")).to_contain_text("审批通过，已生效")
    await expect(line).to_contain_text("已生效")
    await eventually(platform, office, "/v1/typical-cases", lambda p: p["title"] == title)
    assert errors == []


async def test_the_office_amends_a_returned_suggestion_and_sends_it_again(
    browser: Browser,
    console: Console,
    platform: Platform,
    operators: dict[str, dict[str, Any]],
) -> None:
    office = await as_operator(platform, operators["accountability"])
    unit = await listed_unit(platform, operators["accountability"], "冯副局长")
    inquiry = await call(platform, office, "POST", "/v1/inquiries", json={
        "unit": unit, "department": "财务科", "misconduct_date": "2026-03-04",
        "reason": "财务科连续发生套取公款问题",
    })  # fmt: skip
    proposed = await call(platform, office, "POST", "/v1/suggestions", json={
        "unit": unit, "basis": {"kind": "inquiry", "reference": inquiry.json()["inquiry_id"]},
        "problems": ["财务报销审核流于形式"], "recommendations": ["健全财务内控制度"],
    })  # fmt: skip
    assert proposed.status_code == 202, proposed.text
    pid = proposed.json()["proposal_id"]
    row = await eventually(platform, office, "/v1/suggestion-proposals",
                           lambda r: r["proposal_id"] == pid, status="open")  # fmt: skip
    director = await as_operator(platform, operators["director"])
    returned = await call(platform, director, "POST", f"{row['location']}/approve",
                          json={"opinion": "return", "comment": "请补充公务卡问题"},
                          extra={"If-Match": f'"{row["version"]}"'})  # fmt: skip
    assert returned.status_code == 200, returned.text

    page = await logged_in(browser, console.url, operators["accountability"])
    errors = await watched(page, "/suggestions")
    await page.get_by_role("tab", name="建议书审批").click()
    await page.get_by_test_id("proposal-status-filter").click()
    await page.locator(".el-select-dropdown__item:visible", has_text="已退回").click()
    line = page.get_by_test_id("proposal-rows").locator("tbody tr", has_text=f"致{unit}的建议书")
    await expect(line).to_contain_text("已退回")
    await line.get_by_test_id("resubmit").click()
    dialog = page.get_by_test_id("command-dialog")
    await expect(dialog.locator("input[name=unit]")).to_have_value(unit)
    await expect(dialog.locator("input[name=problems]")).to_have_value("财务报销审核流于形式")
    await dialog.locator("input[name=problems]").fill("财务报销审核流于形式、公务卡管理存在漏洞")
    await dialog.locator("textarea[name=_comment]").fill("已补充公务卡问题")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("修改后重新提交")
    await expect(line).to_contain_text("审批中")
    await expect(line).to_contain_text("室主任审核")
    await expect(line.get_by_test_id("resubmit")).to_have_count(0)

    again = await call(platform, office, "GET", row["location"])
    assert again.json()["body"]["problems"] == ["财务报销审核流于形式", "公务卡管理存在漏洞"]
    assert errors == []
