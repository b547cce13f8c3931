"""一案双查, 廉情通报, 统计's CSV and 系统 in a real browser, as the operators who use them."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Platform
from tests.e2e.console.conftest import Console, logged_in, screenshot
from tests.e2e.console.steps import as_operator
from tests.integration.accountability.factories import responsibility_list


async def listed_unit(platform: Platform, account: dict[str, Any], leader: str) -> str:
    """A unit with a responsibility list (its 财务科 led by ``leader``), published by the office."""
    unit = f"泰顺县交通运输局{uuid4().hex[:4]}"
    body = responsibility_list(unit=unit, finance_leader=leader, key_area=False)
    headers = {**await as_operator(platform, account), "Idempotency-Key": str(uuid4())}
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            platform.url("accountability", "/v1/responsibility-lists"), json=body, headers=headers
        )
    assert answer.status_code == 201, answer.text
    return unit


async def submit(page: Page) -> None:
    await page.get_by_test_id("command-submit").click()
    await expect(page.get_by_test_id("notice")).to_be_visible()


async def test_the_accountability_office_runs_an_inquiry_from_finding_to_a_proposed_measure(
    browser: Browser,
    console: Console,
    platform: Platform,
    operators: dict[str, dict[str, Any]],
) -> None:
    unit = await listed_unit(platform, operators["accountability"], "林副局长")
    page = await logged_in(browser, console.url, operators["accountability"])
    await page.get_by_test_id("menu").get_by_text("一案双查").click()
    await expect(page.get_by_test_id("inquiry-table")).to_be_visible()
    await page.get_by_test_id("open-inquiry").click()
    dialog = page.get_by_test_id("command-dialog")
    await dialog.locator("input[name=unit]").fill(unit)
    await dialog.locator("input[name=department]").fill("财务科")
    date = dialog.locator(".el-date-editor input")
    await date.fill("2026-03-04")
    await date.press("Enter")
    await dialog.locator("textarea[name=reason]").fill("财务科长期套取公款，追究领导责任")
    await page.get_by_test_id("command-submit").click()
    await page.wait_for_url("**/inquiries/*")

    await expect(page.get_by_test_id("inquiry-status")).to_have_text("调查中")
    parties = page.get_by_test_id("parties")
    row = parties.locator("tr", has_text="领导责任")
    await expect(row).to_contain_text("林**")
    await expect(row).not_to_contain_text("林副局长")
    await row.get_by_role("button", name="认定").click()
    await dialog.locator("textarea[name=reasons], input[name=reasons]").fill("未落实一岗双责")
    await submit(page)
    await expect(row).to_contain_text("未履行责任")

    await row.get_by_role("button", name="提出问责").click()
    await dialog.locator(".el-select").click()
    await page.locator(".el-select-dropdown__item", has_text="通报").click()
    await submit(page)
    measures = page.get_by_test_id("measures")
    await expect(measures).to_contain_text("通报")
    await expect(measures).to_contain_text("已提出")

    await measures.get_by_role("button", name="决定").click()
    await expect(dialog.locator("input[name=decided_by_body]")).to_have_value("本委")
    await submit(page)
    await expect(page.get_by_test_id("notice")).to_contain_text("已提交审批")
    await expect(page.get_by_test_id("proposals")).to_contain_text("审批中")
    await screenshot(page, "inquiry-detail")


async def test_a_leader_prints_a_briefing_downloads_the_monthly_csv_and_sees_the_platform(
    browser: Browser,
    console: Console,
    platform: Platform,
    operators: dict[str, dict[str, Any]],
) -> None:
    leader_name = f"郭副局长{uuid4().hex[:3]}"
    unit = await listed_unit(platform, operators["accountability"], leader_name)
    page = await logged_in(browser, console.url, operators["leader"])

    await page.get_by_test_id("menu").get_by_text("廉情通报").click()
    await page.locator("input[name=leader]").fill(leader_name)
    await page.get_by_role("button", name="生成").click()
    briefing = page.get_by_test_id("briefing")
    await expect(briefing).to_contain_text(f"致：{leader_name}同志")
    await expect(briefing).to_contain_text(f"{unit} 财务科（分管领导（一岗双责））")
    await page.emulate_media(media="print")
    await expect(page.get_by_test_id("menu")).to_be_hidden()
    await expect(briefing).to_be_visible()
    await screenshot(page, "briefing-print")
    await page.emulate_media(media="screen")
    await page.get_by_role("tab", name="典型案例通报曝光").click()
    await expect(page.get_by_test_id("typical-cases")).to_be_visible()

    await page.get_by_test_id("menu").get_by_text("统计").click()
    href = await page.get_by_test_id("csv").get_attribute("href")
    csv = await page.evaluate(
        """async (href) => {
             const r = await fetch(href)
             return {status: r.status, type: r.headers.get('content-type'),
                     disposition: r.headers.get('content-disposition'), text: await r.text()}
           }""",
        href,
    )
    assert csv["status"] == 200 and csv["type"].startswith("text/csv"), csv
    assert csv["disposition"].startswith("attachment") and csv["text"].startswith("月份,统计项")

    await page.get_by_test_id("menu").get_by_text("系统").click()
    await expect(page.get_by_test_id("my-session")).to_contain_text("分管领导")
    services = page.get_by_test_id("services")
    await expect(services.locator("tbody tr")).to_have_count(4)
    for service in ("intake", "analysis", "casework", "accountability"):
        await expect(services.get_by_test_id(f"dead-{service}")).to_have_text("0")
    await expect(services).not_to_contain_text("无响应")
    await screenshot(page, "system")

    clerk = await logged_in(browser, console.url, operators["clerk"])
    await clerk.get_by_test_id("menu").get_by_text("系统").click()
    await expect(clerk.get_by_test_id("services")).to_contain_text("您的角色无权查看")
