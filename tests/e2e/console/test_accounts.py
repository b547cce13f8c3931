"""系统 · 账号管理 in a real browser: an administrator opens an operator account, the new
operator logs in with the password shown once and sees only their role's menu, and the
administrator stops the account."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from playwright.async_api import Browser, Page, expect

from libs.kit.issuer import create_client
from tests.conftest import unique
from tests.e2e.conftest import Platform
from tests.e2e.console.conftest import Console, logged_in, screenshot


async def _administrator(platform: Platform) -> dict[str, Any]:
    """The first administrator, made as ``zhengfeng clients create --role admin`` makes one."""
    engine = platform.engine("intake")
    try:
        made = await create_client(
            engine, kind="operator", name="办公室 何静", roles=["admin"], client_id=unique("adm")
        )
    finally:
        await engine.dispose()
    return {"client_id": made.client_id, "client_secret": made.client_secret}


async def _fill(page: Page, account_id: str, name: str, role: str) -> None:
    dialog = page.get_by_test_id("command-dialog")
    await dialog.locator("input[name=account_id]").fill(account_id)
    await dialog.locator("input[name=name]").fill(name)
    await dialog.locator("input[name=department]").fill("信访室")
    await dialog.locator(".el-select").click()
    await page.locator(".el-select-dropdown__item:visible", has_text=role).click()
    await dialog.get_by_text("登录账号").click()  # closes the drop-down
    await page.get_by_test_id("command-submit").click()


async def test_an_administrator_opens_an_account_whose_operator_sees_only_their_menu(
    browser: Browser, console: Console, platform: Platform
) -> None:
    admin = await logged_in(browser, console.url, await _administrator(platform))
    await admin.get_by_test_id("menu").get_by_text("系统").click()
    accounts = admin.get_by_test_id("accounts")
    await expect(accounts).to_contain_text("系统管理员")
    await expect(admin.get_by_test_id("clients")).to_contain_text("合作单位客户端")

    # A taken account id: the service's refusal, in Chinese, under the field.
    await admin.get_by_test_id("account-create").click()
    await _fill(admin, await _session_id(admin), "重名", "信访室")
    dialog = admin.get_by_test_id("command-dialog")
    await expect(dialog.get_by_test_id("problem")).to_contain_text("账号已存在")
    await expect(dialog).to_contain_text("已被占用")
    await admin.get_by_role("button", name="取消").click()

    account_id = f"zm-{uuid4().hex[:6]}"
    await admin.get_by_test_id("account-create").click()
    await _fill(admin, account_id, "张敏", "信访室")
    once = admin.get_by_test_id("once-secret")
    await expect(once).to_contain_text("只显示这一次")
    await expect(once.get_by_test_id("once-id")).to_have_text(account_id)
    password = (await once.get_by_test_id("once-value").inner_text()).strip()
    await once.get_by_test_id("once-copy").click()
    await expect(once.get_by_test_id("once-copied")).to_be_visible()
    await screenshot(admin, "system-accounts")
    await once.get_by_test_id("once-close").click()
    row = accounts.locator("tbody tr", has_text=account_id)
    await expect(row).to_contain_text("张*")
    await expect(row).to_contain_text("在用")

    clerk = await logged_in(
        browser, console.url, {"client_id": account_id, "client_secret": password}
    )
    menu = clerk.get_by_test_id("menu").locator(".el-menu-item")
    await expect(menu).to_have_text(["工作台", "线索台账", "预警看板", "系统"])
    await clerk.get_by_test_id("menu").get_by_text("系统").click()
    await expect(clerk.get_by_test_id("my-session")).to_contain_text("信访室")
    await expect(clerk.get_by_test_id("accounts")).to_have_count(0)

    # Stopped: the next login is refused.
    await admin.get_by_test_id(f"deactivate-{account_id}").click()
    await admin.get_by_test_id("command-dialog").locator("textarea[name=reason]").fill("调离")
    await admin.get_by_test_id("command-submit").click()
    await expect(admin.get_by_test_id("account-notice")).to_contain_text(f"已停用账号 {account_id}")
    await expect(row).to_contain_text("已停用")
    again = await browser.new_context(base_url=console.url, locale="zh-CN")
    login = await again.new_page()
    await login.goto("/login")
    await login.fill("input[name=username]", account_id)
    await login.fill("input[name=password]", password)
    await login.get_by_role("button", name="登录").click()
    await expect(login.get_by_test_id("login-error")).to_be_visible(timeout=45_000)
    await again.close()


async def _session_id(page: Page) -> str:
    """The logged-in operator's account id, as the console's session says."""
    session = await page.evaluate(
        "async () => (await (await fetch('/auth/session')).json()).operator"
    )
    return str(session["id"])
