"""After the last act: what happened, in numbers, and where to look."""

from __future__ import annotations

import os

from console.settings import DEFAULT_PORT as CONSOLE_PORT
from zhengfeng.demo.acts import Story
from zhengfeng.demo.setup import Session


def events_in_store(s: Session, service: str) -> int:
    """How many events a service's store holds, read as a subscriber would (catch-up feed)."""
    after, count = 0, 0
    while True:
        page = s.get("subscriber", service, "/v1/events", params={"after": after, "limit": 1000})
        count += len(page["items"])
        after = page["next_after"]
        if page["caught_up"]:
            return count


def print_summary(s: Session, story: Story, seconds: float) -> None:
    """Counts per service, the numbers to look up, and the URLs to open."""
    c = s.console
    clues = story.clues
    feeds_rows = sum(f["accepted"] for f in story.feeds.values() if not f["replayed"])
    c.print(f"\n[bold]小结[/]（种子 {story.seed}，本轮 {story.run}，用时 {seconds:.0f} 秒）")
    c.print(
        f"  intake          线索移送 5 条（{clues['repeat']['clue_number']} 为重复件，已并入 {clues['repeat']['joined']}；"
        "另 1 次网络重发原样返回）、信访举报 2 件（实名 1、匿名 1）、"
        "12345 工单 1 件 → 受理编号 "
        + "、".join(clues[k]["clue_number"] for k in ("audit", "tax", "police", "real_name", "anonymous", "hotline") if k in clues)
        + f"；{clues['forwarded']['clue_number']} 已转办{clues['forwarded']['authority']}"
    )  # fmt: skip
    a = story.alerts
    c.print(
        f"  analysis        {len(story.feeds)} 类数据 {feeds_rows:,} 行新入库；预警 {a.get('total', 0)} 条"
        f"（红 {a.get('red', 0)}、黄 {a.get('yellow', 0)}、绿 {a.get('green', 0)}）"
        + (
            f"；已核查 {story.verified_alert['alert_id']}（{story.verified_alert['rule_id']}，"
            f"台账 {story.verified_alert['clue_number']}）"
            if story.verified_alert
            else ""
        )
    )
    case = story.case
    c.print(
        f"  casework        案件 {case['case_number']}（线索 {case['clue_number']}，id {case['case_id']}）"
        f"已作出处理决定（第 {case['form']} 种形态）；函询后谈话提醒 {clues['tax']['clue_number']}、"
        f"暂存待查 {clues['police']['clue_number']}、初核 {clues['anonymous']['clue_number']}"
        + (
            f"；形态四 {story.prosecution['case_number']} 已移送{story.prosecution['procuratorate']}"
            if story.prosecution
            else ""
        )
    )
    i, r = story.inquiry, story.ratings
    c.print(
        f"  accountability  问责调查 {i['inquiry_id']}（{i['status_label']}，{i['party']} {i['measure_label']}）；"
        f"{case['unit']} 评级 {r['before']['level_label']} → {r['after_alerts']['level_label']} → "
        f"{r['after_decision']['level_label']}（{r['before']['score']} → {r['after_alerts']['score']} → "
        f"{r['after_decision']['score']} 分）"
    )
    if story.rectification:
        rect = story.rectification
        c.print(
            f"  整改台账        {rect['unit']} 巡察整改事项 {rect['total']} 项（整改中 {rect['in_progress']}、"
            f"回头看后重新整改 {rect['reopened']}、已销号 {rect['closed']}）；巡察移交线索 {rect['clue_number']}"
        )
    lt = story.long_term
    if lt:
        a, p, reply = lt["analysis"], lt["appraisal"], lt["integrity_reply"]
        c.print(
            f"  长效机制        定期分析报告 {a['reports']} 份（{a['label']} {a['number']}）；"
            f"考核评价 {p['period']} {p['units']} 个单位，待约谈 {p['interviews']} 个；"
            f"党风廉政意见回复 1 份（{reply['statements']} 项说明，结论：{reply['conclusion_label']}）"
        )
    if story.documents:
        c.print(
            f"  文书            {len(story.documents)} 份："
            + "、".join(f"{d['number']}（{d['title']}）" for d in story.documents)
        )
    stored = "  ".join(f"{svc} {events_in_store(s, svc):,}" for svc in s.urls)
    c.print(f"  事件存储        {stored}（政务数据共享平台经补课订阅 /v1/events 读取）")
    u = s.urls
    c.print("\n[bold]去看看[/]（operator 令牌见 demo-accounts.json；各服务 /docs 有全部接口）")
    console = os.environ.get("ZF_CONSOLE_URL") or (
        f"http://127.0.0.1:{os.environ.get('ZF_CONSOLE_PORT') or CONSOLE_PORT}"
    )
    for line in (
        f"办案工作台         {console}/cases/{case['case_id']}  （用 demo-accounts.json 的账号和密码登录）",
        f"账号管理           {console}/system  （系统管理员 {s.creds['admin']['client_id']} 开设、停用账号和合作单位客户端）",
        f"OpenAPI            {u['intake']}/docs  {u['analysis']}/docs  {u['casework']}/docs  {u['accountability']}/docs",
        f"线索台账           {u['casework']}/v1/clues",
        f"案件与时间线       {u['casework']}/v1/cases/{case['case_id']}  …/timeline",
        f"预警看板           {u['analysis']}/v1/alerts?level=red   规则精度 {u['analysis']}/v1/rules/precision",
        f"问责调查           {u['accountability']}/v1/inquiries/{i['inquiry_id']}",
        f"红黄绿评级         {u['accountability']}/v1/ratings   {u['accountability']}/v1/units/{case['unit']}/rating",
        f"整改台账           {u['accountability']}/v1/rectification-items?overdue=true   {u['accountability']}/v1/rectifications",
        f"举报人查询         {u['intake']}/v1/reports/{story.receipt_code}  (X-Report-Secret 头)",
        f"事件流（AsyncAPI） {u['casework']}/asyncapi.json  （每个服务都有）",
        f"补课订阅           {u['casework']}/v1/events?after=0  （每个服务都有）",
    ):  # fmt: skip
        c.print(f"  {line}")
