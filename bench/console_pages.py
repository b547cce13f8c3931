"""Page speed of the console: `python -m bench.console_pages` (asserts nothing, prints).

Starts the four services and the console as processes (as the browser tests do) and
measures, each next to a ceiling or a floor taken in the same run:

* the JavaScript the first page loads (the entry and what it preloads), gzip — next to the
  budget of 1 MB (issue 15) and to every chunk of the build together;
* the bytes Chromium actually received for it (the console compresses what it serves);
* time to first meaningful render in Debian's Chromium, cold cache, median and worst of
  ``BENCH_PAGE_RUNS`` (5): 登录 (the login form drawn) and 工作台 after login (the to-do
  cards drawn) — next to the same browser loading ``/healthz`` from the same process, the
  floor of any page.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, async_playwright
from rich.console import Console
from rich.table import Table

from bench import infra
from libs.kit.issuer import create_client
from tests.e2e.conftest import running_platform
from tests.e2e.console.conftest import CHROMIUM, CHROMIUM_ARGS, start_console

DIST = Path(__file__).resolve().parents[1] / "console" / "web" / "dist"
BUDGET_KB = 1024.0
RUNS = int(os.environ.get("BENCH_PAGE_RUNS") or 5)
progress = Console(stderr=True)


def first_page_js() -> tuple[float, float, float]:
    """(gzip kB of the first page's JavaScript, raw kB of it, gzip kB of every chunk)."""
    index = (DIST / "index.html").read_text()
    names = re.findall(r'(?:src|href)="/(assets/[^"]+\.js)"', index)
    first = [(DIST / n).read_bytes() for n in names]
    every = [p.read_bytes() for p in (DIST / "assets").glob("*.js")]

    def gz(blobs: list[bytes]) -> float:
        return sum(len(gzip.compress(b, 6)) for b in blobs) / 1024

    return gz(first), sum(len(b) for b in first) / 1024, gz(every)


async def timed(
    browser: Browser, url: str, ready: str | None, login: tuple[str, str] | None
) -> tuple[float, float]:
    """(ms from navigation to ``ready`` drawn, kB of script received), cold cache; with
    ``login``, the operator logs in first in another context whose cookie is carried over."""
    options: dict[str, Any] = {"locale": "zh-CN", "viewport": {"width": 1440, "height": 900}}
    if login is not None:
        first = await browser.new_context(**options)
        page = await first.new_page()
        await page.goto(url.rstrip("/") + "/login")
        await page.fill("input[name=username]", login[0])
        await page.fill("input[name=password]", login[1])
        await page.get_by_role("button", name="登录").click()
        await page.get_by_test_id("operator").wait_for()
        options["storage_state"] = await first.storage_state()
        await first.close()
    context = await browser.new_context(**options)
    try:
        page = await context.new_page()
        received = [0]

        async def count(response: Any) -> None:
            if response.url.endswith(".js"):  # bytes on the wire (compressed)
                received[0] += (await response.request.sizes())["responseBodySize"]

        page.on("response", count)
        await page.goto(url)
        if ready is None:
            await page.wait_for_load_state("load")
        else:
            await page.locator(ready).first.wait_for()
        ms = float(await page.evaluate("performance.now()"))
        return ms, received[0] / 1024
    finally:
        await context.close()


async def run() -> None:
    if not (DIST / "index.html").is_file():
        raise SystemExit("the console is not built: run make console")
    gz_first, raw_first, gz_all = first_page_js()
    url = await infra.database_url()
    with tempfile.TemporaryDirectory(prefix="zf-bench-pages-") as tmp:
        async with infra.broker() as (bootstrap, _):
            async with running_platform(url, bootstrap, Path(tmp)) as platform:
                engine = platform.engine("intake")
                account = await create_client(
                    engine, kind="operator", name="分管领导 王书记", roles=["leader"]
                )
                await engine.dispose()
                console = start_console(platform, Path(tmp) / "console.log")
                try:
                    rows = await measure(console.url, (account.client_id, account.client_secret))
                finally:
                    console.stop()
    table = Table(
        title=f"console page speed ({RUNS} cold loads each; load {os.getloadavg()[0]:.1f})"
    )
    for column in ("figure", "value", "ceiling / floor"):
        table.add_column(column)
    table.add_row(
        "first page JS, gzip",
        f"{gz_first:.0f} kB",
        f"budget {BUDGET_KB:.0f} kB; all chunks {gz_all:.0f} kB",
    )
    table.add_row("first page JS, uncompressed", f"{raw_first:.0f} kB", "")
    for label, (values, received), floor in rows:
        worst = max(values)
        table.add_row(
            label, f"median {statistics.median(values):.0f} ms, worst {worst:.0f} ms", floor
        )
        if received:
            table.add_row(f"  script received ({label})", f"{received:.0f} kB", "")
    Console(width=120).print(table)


async def measure(
    base: str, login: tuple[str, str]
) -> list[tuple[str, tuple[list[float], float], str]]:
    async with async_playwright() as pw:
        pw.selectors.set_test_id_attribute("data-test")
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            await timed(browser, f"{base}/login", "input[name=username]", None)  # warm the server
            out: dict[str, tuple[list[float], float]] = {}
            cases = {
                "floor: /healthz loaded": (f"{base}/healthz", None, None),
                "登录 drawn": (f"{base}/login", "input[name=username]", None),
                "工作台 drawn (after login)": (f"{base}/", "[data-test^=todo-]", login),
            }
            for label, (url, ready, who) in cases.items():
                progress.print(f"timing {label} …")
                values, received = [], 0.0
                for _ in range(RUNS):
                    ms, kb = await timed(browser, url, ready, who)
                    values.append(ms)
                    received = kb
                out[label] = (values, received)
        finally:
            await browser.close()
    floor = statistics.median(out["floor: /healthz loaded"][0])
    return [
        (label, v, "" if label.startswith("floor") else f"floor {floor:.0f} ms")
        for label, v in out.items()
    ]


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(run())
    progress.print(f"done in {time.monotonic() - started:.0f} s")
