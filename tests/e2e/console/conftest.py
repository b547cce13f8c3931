"""The console in a real browser: Debian's Chromium driven by Playwright, against the
platform's processes (tests/e2e/conftest.py) and the console's own BFF process.

One platform serves every module of this package (its start is most of the time).

Chromium missing is a failure, not a skip: ``make browser`` installs it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from libs.kit.issuer import create_client
from libs.runtime.infra import free_port, popen_owned
from tests.conftest import unique
from tests.e2e.conftest import ROOT, Platform, running_platform

CHROMIUM = Path(os.environ.get("ZF_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("ZF_CONSOLE_SCREENSHOTS", Path(__file__).parent / "screenshots"))
TIMEZONE = "Asia/Shanghai"

# A loaded 2-core machine answers slowly: an expectation waits as long as an action does.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="package")
def platform_logs() -> Iterator[Path]:
    """Where the service and console processes write their logs (one for the package)."""
    with tempfile.TemporaryDirectory(prefix="zf-console-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="package")
async def platform(
    database_url: str, bootstrap: str, platform_logs: Path
) -> AsyncIterator[Platform]:
    """The four services, started once for every console test module."""
    async with running_platform(database_url, bootstrap, platform_logs) as p:
        yield p


@dataclass
class Console:
    """One ``zhengfeng console`` process serving the built pages for a platform."""

    url: str
    process: subprocess.Popen[bytes]
    lifeline: int
    log: IO[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.lifeline)
        self.log.close()


def start_console(platform: Platform, log: Path, **settings: str) -> Console:
    """Start the console on a free port with ``ZF_CONSOLE_<NAME>`` settings; wait for /readyz."""
    port = free_port()
    env = {**platform.env, **{f"ZF_CONSOLE_{k.upper()}": v for k, v in settings.items()}}
    out = open(log, "ab")  # closed by Console.stop
    process, lifeline = popen_owned(
        [sys.executable, "-m", "zhengfeng", "console", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    console = Console(f"http://127.0.0.1:{port}", process, lifeline, out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        with contextlib.suppress(httpx.HTTPError):
            ready = httpx.get(f"{console.url}/readyz", timeout=2)
            if ready.status_code == 200:
                assert ready.json()["web_built"], "the console is not built: run make console"
                return console
        time.sleep(0.2)
    console.stop()
    raise AssertionError(f"the console did not start\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="package")
def console(platform: Platform, platform_logs: Path) -> Iterator[Console]:
    """The console as ``zhengfeng up`` runs it (default session timeout)."""
    c = start_console(platform, platform_logs / "console.log")
    yield c
    c.stop()


@pytest.fixture(scope="module")
def hasty_console(platform: Platform, platform_logs: Path) -> Iterator[Console]:
    """A console whose sessions end after two idle seconds."""
    c = start_console(platform, platform_logs / "console-hasty.log", session_idle_seconds="2")
    yield c
    c.stop()


OPERATORS = {
    "clerk": ("信访室 张敏", ["clerk"]),
    "officer": ("第一监督检查室 李强", ["investigator"]),
    "leader": ("分管领导 王书记", ["leader"]),
    "director": ("第一监督检查室 室主任 陈刚", ["director"]),
    "secretary": ("主要负责人 周书记", ["secretary"]),
    "supervisor": ("案件监督管理室 刘洋", ["supervisor"]),
    "accountability": ("党风政风监督室 吴敏", ["accountability"]),
}


@pytest.fixture(scope="package")
async def operators(platform: Platform) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """A clerk, an officer (承办人), a leader, a 室主任, a 主要负责人, a supervisor and the
    accountability office: operator accounts in the issuer's directory, made as ``zhengfeng clients create`` makes them (in this process: faster)."""
    engine = platform.engine("intake")
    try:
        made = {
            key: asdict(
                await create_client(
                    engine, kind="operator", name=name, roles=roles, client_id=unique("op")
                )
            )
            for key, (name, roles) in OPERATORS.items()
        }
    finally:
        await engine.dispose()
    yield made


@pytest.fixture(scope="package")
def chromium() -> Path:
    """Debian's Chromium; its absence fails the tests (``make browser`` installs it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    return CHROMIUM


@pytest.fixture(scope="package")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser)."""
    async with async_playwright() as pw:
        pw.selectors.set_test_id_attribute("data-test")
        b = await pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield b
        await b.close()


async def logged_in(browser: Browser, base: str, account: dict[str, Any]) -> Page:
    """A fresh browser context, logged in through the login page as ``account``."""
    context = await browser.new_context(
        base_url=base, locale="zh-CN", timezone_id=TIMEZONE, viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto("/")
    await page.fill("input[name=username]", account["client_id"])
    await page.fill("input[name=password]", account["client_secret"])
    await page.get_by_role("button", name="登录").click()
    # The issuer hashes the password (Argon2): on a loaded machine a login takes a while.
    await page.get_by_test_id("operator").wait_for(timeout=45_000)
    return page


async def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for docs/console/."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
