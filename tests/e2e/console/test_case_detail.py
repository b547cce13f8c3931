"""A case's detail page in a real browser: a returned proposal amended and sent again, the
七必问 answered by question, the case's 督办 and its 文书 downloaded through the console."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Platform, Tokens
from tests.e2e.console.conftest import Console, logged_in, screenshot
from tests.e2e.console.steps import (
    as_operator,
    assigned_case,
    carried,
    case_command,
    case_of,
    signed,
)


async def test_an_officer_amends_a_returned_disposal_then_answers_the_seven_questions(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    case_id = await assigned_case(
        platform, tokens, operators, "钱志远", categories=("violation_dining",)
    )
    officer = await as_operator(platform, operators["officer"])
    director = await as_operator(platform, operators["director"])
    proposal = await case_command(platform, officer, case_id, "dispose",
                                  {"method": "preliminary_verification", "reason": "拟初核"})  # fmt: skip
    await case_command(platform, director, case_id, f"proposals/{proposal['proposal_id']}/approve",
                       {"opinion": "return", "comment": "请写明初核的重点"})  # fmt: skip

    page = await logged_in(browser, console.url, operators["officer"])
    await page.goto(f"/cases/{case_id}")
    proposals = page.get_by_test_id("proposals")
    await expect(proposals.get_by_test_id("proposal-status")).to_have_text("已退回")
    await expect(proposals).to_contain_text("退回理由：请写明初核的重点")
    await proposals.locator("[data-approval=resubmit]").click()
    dialog = page.get_by_test_id("command-dialog")
    await expect(dialog.locator("textarea[name=reason]")).to_have_value("拟初核")
    await expect(dialog.locator(".el-select")).to_contain_text("初步核实")
    await dialog.locator("textarea[name=reason]").fill("拟初核，重点核实会所消费记录")
    await dialog.locator("textarea[name=_comment]").fill("已写明初核重点")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("已办理")
    await expect(proposals.get_by_test_id("proposal-status")).to_have_text("审批中")

    # The chain signs; the officer verifies, files and investigates (as the API allows).
    await signed(platform, operators, case_id, proposal["proposal_id"], ("director", "leader"))
    await carried(platform, operators, case_id, "officer", "conclude_verification",
                  {"outcome": "propose_filing", "reason": "初核属实"})  # fmt: skip
    subject = {"name": "钱志远", "unit": "青山县住建局"}
    await carried(platform, operators, case_id, "officer", "file_case",
                  {"case_number": f"QS-2026-{uuid4().hex[:4]}", "subject": subject, "reason": "立案"},
                  ("director", "leader", "secretary"))  # fmt: skip
    await case_command(
        platform, officer, case_id, "start_investigation", {"reason": "开始审查调查"}
    )
    await carried(platform, operators, case_id, "supervisor", "list_for_supervision",
                  {"body": "市纪委监委", "report_due": "2027-03-31", "reason": "群众反映强烈"},
                  ("leader",))  # fmt: skip
    leader = await as_operator(platform, operators["leader"])
    await case_command(platform, leader, case_id, "assign_task",
                       {"item": "调取会所消费记录", "due": "2027-02-15", "reason": "清单交办"})  # fmt: skip
    await case_of(platform, leader, case_id)

    await page.reload()
    await expect(page.get_by_test_id("status")).to_have_text("审查调查")
    checklist = page.get_by_test_id("checklist")
    await expect(checklist).to_contain_text("尚缺 7 问")
    await checklist.get_by_test_id("answer-checklist").click()
    await dialog.locator("textarea[name='answers.who_paid']").fill("单位公款")
    await dialog.locator("textarea[name='answers.who_attended']").fill("局班子成员5人")
    await dialog.locator("textarea[name=reason]").fill("谈话核实")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("已办理：填写七必问")
    await expect(checklist).to_contain_text("尚缺 5 问")
    await expect(checklist.locator("tr", has_text="谁买的单")).to_contain_text("单位公款")

    supervision = page.get_by_test_id("supervision")
    await expect(supervision).to_contain_text("市纪委监委")
    await expect(supervision).to_contain_text("2027-03-31")
    await expect(supervision.locator("tr", has_text="调取会所消费记录")).to_contain_text("已交办")

    documents = page.get_by_test_id("documents")
    await expect(documents).to_contain_text("立案决定书")
    await screenshot(page, "case-checklist-documents")
    href = await documents.get_by_test_id("download").first.get_attribute("href")
    answer = await page.evaluate(
        """async (href) => {
             const r = await fetch(href)
             return {status: r.status, disposition: r.headers.get('content-disposition'),
                     size: (await r.arrayBuffer()).byteLength}
           }""",
        href,
    )
    assert answer["status"] == 200 and answer["size"] > 1000, answer
    assert answer["disposition"].startswith("attachment"), answer


async def test_a_case_opened_again_builds_its_commands_without_fetching_the_api_document_again(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    case_id = await assigned_case(platform, tokens, operators, "孙立新")
    page = await logged_in(browser, console.url, operators["officer"])
    documents: list[str] = []
    page.on(
        "request",
        lambda r: documents.append(r.url) if r.url.endswith("/casework/openapi.json") else None,
    )
    await page.goto(f"/cases/{case_id}")
    await expect(page.locator("[data-command=dispose]")).to_be_enabled()
    await page.get_by_role("menuitem", name="案件", exact=True).click()
    await expect(page).to_have_url(f"{console.url}/cases")
    await page.go_back()
    await expect(page).to_have_url(f"{console.url}/cases/{case_id}")
    await expect(page.locator("[data-command=dispose]")).to_be_enabled()
    assert len(documents) == 1, documents
    await page.context.close()
