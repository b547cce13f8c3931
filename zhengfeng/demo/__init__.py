"""``zhengfeng demo``: a county's week on the platform, through the public APIs only.

Setup (``setup.py``) finds the running platform and the players' accounts; the acts
(``acts.py``) play the scenario in ``scenario.json`` over HTTP, one act per step of the
work; the summary (``summary.py``) prints what happened and the URLs to open. The
scenario's content and the county (``zhengfeng generate``) follow from the seed; each run
gets its own references (``--run``), so running it again against the same platform adds a
new round instead of colliding with the last one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

from zhengfeng.demo import acts, forms, long_term, rectification
from zhengfeng.demo.setup import (
    SERVICES,
    DemoError,
    Session,
    accounts,
    database_url,
    platform_is_up,
    service_url,
)
from zhengfeng.demo.summary import print_summary

ACTS: list[tuple[str, Callable[..., None]]] = [
    ("第一幕  部门移送线索（审计、税务、公安）与转办", acts.partners_transfer),
    ("第二幕  信访举报：实名与匿名，匿名举报人凭查询码跟进", acts.public_reports),
    ("第三幕  12345 热线工单", acts.hotline_order),
    ("第四幕  信息汇集 → 对比分析 → 异常预警 → 线下核查", acts.feeds_and_alerts),
    ("第五幕  责任清单：一案双查的依据", acts.responsibility_list),
    ("第六幕  线索处置与案件办理（初核、函询、暂存、立案、审理、处理决定）", acts.casework),
    ("第六幕（续）  四种形态：谈话提醒与移送检察机关审查起诉，月度统计", forms.four_forms),
    ("第七幕  一案双查：问责调查与决定", acts.accountability),
    ("第八幕  单位红黄绿评级", acts.ratings),
    ("第九幕  巡察反馈 → 整改台账 → 验收 → 回头看", rectification.inspection_rectification),
    ("第十幕  长效机制：定期分析、民主评议与考核评价、党风廉政意见回复", long_term.long_term),
]

SMALL_COUNTY = {"units": 12, "vehicles": 17, "months": 3, "gps_interval_s": 120}
"""The smallest county the generator makes (every planted violation still in it)."""


def load_scenario() -> dict[str, Any]:
    """The scenario's people, units and texts."""
    text = resources.files(__package__).joinpath("scenario.json").read_text(encoding="utf-8")
    scenario: dict[str, Any] = json.loads(text)
    return scenario


def run_demo(
    *,
    data_dir: Path,
    seed: int = 7,
    run: str | None = None,
    county: dict[str, int] | None = None,
    summary_json: Path | None = None,
    console: Console | None = None,
) -> int:
    """Play the scenario against the running platform; 0 when every act succeeded."""
    console = console or Console(soft_wrap=True)  # long lines wrap in the terminal, not at 80
    urls = {service: service_url(service) for service in SERVICES}
    down = platform_is_up(urls)
    if down:
        console.print(
            f"[red]The platform is not running[/] ({', '.join(down)} do not answer at "
            f"{', '.join(urls[d] for d in down)}).\nStart it with [bold]make run[/] "
            "(or `zhengfeng up`) and run `make demo` in another terminal."
        )
        return 2
    run = run or datetime.now(UTC).strftime("%m%d%H%M%S")
    db_url = database_url(data_dir)
    session = Session(urls, accounts(data_dir, db_url, run), console)
    if not session.can_log_in("clerk"):
        console.print("(the demo accounts are unknown to this platform: creating them again)")
        session = Session(urls, accounts(data_dir, db_url, run, fresh=True), console)
    story = acts.Story(seed=seed, run=run, started=datetime.now(UTC))
    scenario = load_scenario()
    started = time.monotonic()
    console.print(f"[bold]正风 演示[/] — {scenario['county']}，种子 {seed}，本轮 {run}")
    try:
        for title, act in ACTS:
            console.print(f"\n[bold cyan]{title}[/]")
            act_started = time.monotonic()
            if act is acts.feeds_and_alerts:
                act(session, scenario, story, {**SMALL_COUNTY, **(county or {})})
            else:
                act(session, scenario, story)
            console.print(f"  [dim]（{time.monotonic() - act_started:.1f} 秒）[/]")
        print_summary(session, story, time.monotonic() - started)
    except DemoError as exc:
        console.print(f"\n[red]The demo stopped:[/] {exc}")
        return 1
    finally:
        if summary_json is not None:
            summary_json.write_text(json.dumps(story.as_json(), ensure_ascii=False, indent=2))
        session.http.close()
    return 0
