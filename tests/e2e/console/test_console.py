"""Clerks, officers and leaders at the console (办案工作台), in a real browser.

One platform and one console for the package; each test logs its operators in through the
login page and checks what they read on the screen.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Platform, Tokens
from tests.e2e.console.conftest import (
    TIMEZONE,
    Console,
    logged_in,
    screenshot,
    start_console,
)
from tests.e2e.console.steps import (
    SYNCED_WITHIN,
    as_operator,
    assigned_case,
    case_command,
    case_of,
    transfer,
)


async def find_on_desk(page: Page, unit: str) -> None:
    """The clue desk filtered by unit, asked again until the clue is listed."""
    await page.get_by_test_id("menu").get_by_text("线索台账").click()
    await page.get_by_label("被反映人单位").fill(unit)
    deadline = time.monotonic() + SYNCED_WITHIN
    while True:
        await page.get_by_role("button", name="查询").click()
        rows = page.get_by_test_id("clue-table").locator("tbody tr")
        if await rows.count() and unit in (await rows.first.inner_text()):
            return
        assert time.monotonic() < deadline, "the clue never reached the desk"
        await asyncio.sleep(0.3)


async def reveal(page: Page, purpose: str) -> None:
    await page.get_by_test_id("reveal").click()
    dialog = page.get_by_test_id("reveal-dialog")
    await dialog.locator("input[name=purpose]").fill(purpose)
    await page.get_by_test_id("reveal-confirm").click()


async def revealed_in_ledger(platform: Platform, account: dict[str, Any], clue_id: str) -> None:
    """Intake's handler ledger records the officer's unmasked read (with its purpose)."""
    headers = await as_operator(platform, account)
    deadline = time.monotonic() + SYNCED_WITHIN
    async with httpx.AsyncClient() as client:
        while True:
            ledger = (
                await client.get(
                    platform.url("intake", f"/v1/clues/{clue_id}/handlers"), headers=headers
                )
            ).json()
            actions = {(e["action"], e["actor"]) for e in ledger["entries"]}
            if ("personal_data_revealed", f"operator:{account['client_id']}") in actions:
                return
            assert time.monotonic() < deadline, f"the reveal is not in the ledger: {actions}"
            await asyncio.sleep(0.3)


async def test_a_clerk_finds_a_clue_masked_and_an_officer_reveals_it_with_a_purpose(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    unit = f"青山县财政局{uuid4().hex[:4]}"
    sent = await transfer(platform, tokens, "欧阳建国", unit)

    clerk = await logged_in(browser, console.url, operators["clerk"])
    await screenshot(clerk, "workbench")
    await find_on_desk(clerk, unit)
    row = clerk.get_by_test_id("clue-table").locator("tbody tr").first
    await expect(row).to_contain_text("欧***")
    await expect(row).not_to_contain_text("欧阳建国")
    await screenshot(clerk, "clue-desk")
    await row.click()
    drawer = clerk.get_by_test_id("clue-drawer")
    await expect(drawer.get_by_test_id("persons")).to_contain_text("欧***")
    await reveal(clerk, "核对被反映人身份")
    dialog = clerk.get_by_test_id("reveal-dialog")
    await expect(dialog).to_contain_text("您的角色不能查看未脱敏的个人信息")
    await expect(drawer.get_by_test_id("persons")).not_to_contain_text("欧阳建国")

    officer = await logged_in(browser, console.url, operators["officer"])
    await find_on_desk(officer, unit)
    await officer.get_by_test_id("clue-table").locator("tbody tr").first.click()
    await reveal(officer, "")
    await expect(officer.get_by_test_id("reveal-dialog")).to_contain_text("须填写查看用途")
    await (
        officer.get_by_test_id("reveal-dialog")
        .locator("input[name=purpose]")
        .fill("初核前核对身份")
    )
    await officer.get_by_test_id("reveal-confirm").click()
    drawer = officer.get_by_test_id("clue-drawer")
    await expect(drawer.get_by_test_id("persons")).to_contain_text("欧阳建国")
    await expect(drawer).to_contain_text("已查看原文（已留痕）")
    await screenshot(officer, "clue-revealed")
    await revealed_in_ledger(platform, operators["officer"], sent["clue_id"])


async def test_an_officer_reads_the_case_as_it_was_and_a_stale_command_loses_nothing(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    sent = await transfer(platform, tokens, "李卫东", f"青山县交通运输局{uuid4().hex[:4]}")
    case_id = sent["clue_id"]
    leader = await as_operator(platform, operators["leader"])
    await case_of(platform, leader, case_id)
    # The page picks whole seconds: the moment chosen is a second after registration and
    # a second before assignment.
    await asyncio.sleep(1.1)
    before_assignment = datetime.now(ZoneInfo(TIMEZONE))
    await asyncio.sleep(1.1)
    officer_id = operators["officer"]["client_id"]
    await case_command(platform, leader, case_id, "assign",
                       {"department": "第一监督检查室", "officer": officer_id, "reason": "分管领导批办"})  # fmt: skip

    page = await logged_in(browser, console.url, operators["officer"])
    await page.goto(f"/cases/{case_id}")
    await expect(page.get_by_test_id("status")).to_have_text("待处置")
    await expect(page.get_by_test_id("timeline")).to_contain_text("分管领导批办")
    await screenshot(page, "case-detail")

    picker = page.locator(".el-date-editor input")
    await picker.fill(before_assignment.strftime("%Y-%m-%d %H:%M:%S"))
    await picker.press("Enter")
    await page.wait_for_url("**as_of=**")
    await expect(page.get_by_text("时的案件状态（只读）")).to_be_visible()
    await expect(page.get_by_test_id("timeline")).not_to_contain_text("分管领导批办")
    await expect(page.get_by_test_id("commands")).to_have_count(0)
    await screenshot(page, "case-as-of")

    await page.goto(f"/cases/{case_id}")
    await page.locator("[data-command=dispose]").click()
    dialog = page.get_by_test_id("command-dialog")
    await page.get_by_test_id("command-submit").click()
    await expect(dialog.get_by_test_id("problem")).to_contain_text("填写内容有误")

    await dialog.locator(".el-select").first.click()
    await page.locator(".el-select-dropdown__item", has_text="谈话函询").click()
    await expect(dialog.locator(".el-select").first).to_contain_text("谈话函询")
    await dialog.locator("textarea[name=reason]").fill("问题较轻，函询说明")
    # Meanwhile the leader assigns a task on the case: the page's version is stale now.
    await case_command(platform, leader, case_id, "assign_task",
                       {"item": "调取财务凭证", "due": "2027-01-15", "reason": "清单交办"})  # fmt: skip
    await page.get_by_test_id("command-submit").click()
    await expect(dialog.get_by_test_id("problem")).to_contain_text("该记录已被他人更新")
    await expect(dialog.locator("textarea[name=reason]")).to_have_value("问题较轻，函询说明")
    await screenshot(page, "case-conflict")

    await page.get_by_test_id("command-submit").click()
    # A disposal is a proposal until 室主任 and 分管领导 sign it (casework's approvals.json).
    await expect(page.get_by_test_id("notice")).to_contain_text("已提交审批")
    await expect(page.get_by_test_id("status")).to_have_text("待处置")


async def test_a_clerk_splits_a_repeat_report_merged_by_mistake(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    unit = f"青山县教育局{uuid4().hex[:4]}"
    await transfer(platform, tokens, "周明", unit, namesake=False)
    repeat = await transfer(platform, tokens, "周明", unit, namesake=False)
    assert repeat["status"] == "merged", repeat

    clerk = await logged_in(browser, console.url, operators["clerk"])
    await find_on_desk(clerk, unit)
    rows = clerk.get_by_test_id("clue-table").locator("tbody tr")
    await rows.filter(has_not_text="已并入").first.click()
    repeats = clerk.get_by_test_id("clue-drawer").get_by_test_id("repeats")
    await expect(repeats).to_contain_text(repeat["clue_number"])
    await repeats.get_by_role("button", name="拆分").click()
    dialog = clerk.get_by_test_id("command-dialog")
    await dialog.locator("textarea[name=reason]").fill("核实后并非同一事项")
    await clerk.get_by_test_id("command-submit").click()
    await expect(repeats).to_have_count(0)
    await expect(clerk.get_by_test_id("clue-drawer")).to_contain_text("重复件 0")


async def test_a_director_signs_a_disposal_from_the_workbench_and_it_takes_effect_after_the_leader(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    case_id = await assigned_case(platform, tokens, operators, "孙立新")
    officer = await as_operator(platform, operators["officer"])
    proposal = await case_command(platform, officer, case_id, "dispose",
                                  {"method": "talk_or_inquiry", "reason": "问题较轻，函询说明"})  # fmt: skip
    assert proposal["status"] == "open"

    page = await logged_in(browser, console.url, operators["director"])
    await expect(page.get_by_test_id("todo-approvals")).to_be_visible()
    await screenshot(page, "workbench-approvals")
    await page.get_by_text("线索处置：室主任审核").last.click()  # the inbox lists oldest first
    await page.wait_for_url(f"**/cases/{case_id}")
    proposals = page.get_by_test_id("proposals")
    await expect(proposals.get_by_test_id("proposal-status")).to_have_text("审批中")
    await expect(proposals.locator("[data-approval=approve]")).to_be_visible()
    await screenshot(page, "approval")
    await proposals.locator("[data-approval=approve]").click()
    await page.get_by_test_id("command-dialog").locator("textarea[name=comment]").fill("同意函询")
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("已办理")
    await expect(proposals.locator("[data-approval=approve]")).to_have_count(0)

    leader = await as_operator(platform, operators["leader"])
    path = f"proposals/{proposal['proposal_id']}/approve"
    await case_command(platform, leader, case_id, path, {"opinion": "agree", "comment": "同意"})
    await page.reload()
    await expect(page.get_by_test_id("status")).to_have_text("谈话函询")
    await expect(proposals.get_by_test_id("proposal-status")).to_have_text("已生效")


async def menu_of(page: Page) -> list[str]:
    items = page.get_by_test_id("menu").locator(".el-menu-item")
    return [t.strip() for t in await items.all_inner_texts()]


async def test_each_operator_sees_the_menu_of_their_roles(
    browser: Browser, console: Console, operators: dict[str, dict[str, Any]]
) -> None:
    leader = await logged_in(browser, console.url, operators["leader"])
    assert await menu_of(leader) == [
        "工作台",
        "线索台账",
        "案件",
        "预警看板",
        "红黄绿",
        "统计",
        "一案双查",
        "整改台账",
        "考核评价",
        "廉政档案",
        "分析报告",
        "纪检监察建议",
        "典型案例",
        "廉情通报",
        "系统",
    ]
    await leader.get_by_test_id("menu").get_by_text("案件").click()
    await expect(leader.get_by_test_id("case-table")).to_be_visible()
    await screenshot(leader, "case-list")
    await leader.get_by_test_id("menu").get_by_text("预警看板").click()
    await expect(leader.get_by_test_id("alert-table")).to_be_visible()
    await screenshot(leader, "alert-board")

    clerk = await logged_in(browser, console.url, operators["clerk"])
    assert await menu_of(clerk) == ["工作台", "线索台账", "预警看板", "系统"]


async def test_an_idle_session_ends_and_the_operator_logs_in_again(
    browser: Browser, hasty_console: Console, operators: dict[str, dict[str, Any]]
) -> None:
    page = await logged_in(browser, hasty_console.url, operators["clerk"])
    await asyncio.sleep(2.5)
    await page.get_by_test_id("menu").get_by_text("线索台账").click()
    await expect(page.get_by_text("登录已失效，请重新登录。")).to_be_visible()
    await expect(page.get_by_role("button", name="登录")).to_be_visible()


async def test_an_operator_stays_logged_in_when_the_console_restarts(
    browser: Browser,
    platform: Platform,
    platform_logs: Path,
    operators: dict[str, dict[str, Any]],
) -> None:
    first = start_console(platform, platform_logs / "console-first.log")
    try:
        page = await logged_in(browser, first.url, operators["clerk"])
    finally:
        first.stop()
    second = start_console(platform, platform_logs / "console-second.log")
    try:
        # The cookie is the host's (not the port's): the new process finds the session
        # in PostgreSQL and opens its sealed token.
        await page.goto(f"{second.url}/clues")
        await expect(page.get_by_test_id("operator")).to_have_text("信访室 张敏")
        await expect(page.get_by_test_id("clue-table")).to_be_visible()
    finally:
        second.stop()


async def test_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing(
    browser: Browser,
    console: Console,
    platform: Platform,
    tokens: Tokens,
    operators: dict[str, dict[str, Any]],
) -> None:
    sent = await transfer(platform, tokens, "赵国强", f"青山县水利局{uuid4().hex[:4]}")
    leader = await as_operator(platform, operators["leader"])
    before = (await case_of(platform, leader, sent["clue_id"])).json()["version"]
    page = await logged_in(browser, console.url, operators["leader"])

    cookies = await page.context.cookies()
    assert [(c["httpOnly"], c["sameSite"]) for c in cookies] == [(True, "Strict")]
    assert await page.evaluate("document.cookie") == ""

    path = f"/api/casework/v1/cases/{sent['clue_id']}/assign"
    body = {"department": "第一监督检查室", "officer": "someone", "reason": "批办"}
    for token in (None, "forged"):
        answer = await page.evaluate(
            """async ([path, body, token]) => {
                 const headers = {'Content-Type': 'application/json', 'If-Match': '"1"'}
                 if (token) headers['X-CSRF-Token'] = token
                 const r = await fetch(path, {method: 'POST', headers, body: JSON.stringify(body)})
                 return {status: r.status, type: r.headers.get('content-type'), body: await r.json()}
               }""",
            [path, body, token],
        )
        assert answer["status"] == 403
        assert answer["type"] == "application/problem+json"
        assert answer["body"]["type"] == "/problems/csrf-rejected"
    assert (await case_of(platform, leader, sent["clue_id"])).json()["version"] == before
