"""The scenario's acts: each one a few HTTP calls and a few lines of story.

Every act takes the :class:`Session` (URLs, tokens, printer), the scenario (from
``scenario.json``) and the :class:`Story` so far, and adds what it did to the story, so
the summary and the test can point at the same clue numbers, cases, alerts and inquiries.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from libs.events import taxonomy
from zhengfeng.demo.setup import Session, eventually
from zhengfeng.demo.signoffs import sign_off

LEVELS = {"red": "红", "yellow": "黄", "green": "绿"}
INQUIRY_STATUS = {"open": "调查中", "concluded": "已办结"}
MEASURE_STATUS = {
    "proposed": "已提出",
    "in_review": "三方会审中",
    "decided": "已决定",
    "in_effect": "已生效",
    "rejected": "未获批准",
    "review_refused": "会审未通过",
}


@dataclass
class Story:
    """What the scenario did, for the summary (``--summary-json``) and the test."""

    seed: int
    run: str
    started: datetime
    clues: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By role in the story (audit, tax, police, real_name, anonymous, hotline)."""
    duplicate_replayed: bool = False
    receipt_code: str | None = None
    reporter_messages: list[dict[str, Any]] = field(default_factory=list)
    reporter_status: str | None = None
    hotline_order: str | None = None
    feeds: dict[str, dict[str, int]] = field(default_factory=dict)
    planted: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    verified_alert: dict[str, Any] | None = None
    case: dict[str, Any] = field(default_factory=dict)
    dispositions: dict[str, str] = field(default_factory=dict)
    inquiry: dict[str, Any] = field(default_factory=dict)
    ratings: dict[str, Any] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    """文书 the decisions issued: number, title, the matter's path, SHA-256."""
    prosecution: dict[str, Any] = field(default_factory=dict)
    """The 形态四 case transferred to the procuratorate."""
    monthly: dict[str, Any] = field(default_factory=dict)
    """The month's statistics by 四种形态, as the demo read them."""
    rectification: dict[str, Any] = field(default_factory=dict)
    """The 巡察 act's rectification list: its unit, the clue, items by status."""
    long_term: dict[str, Any] = field(default_factory=dict)
    """定期分析, 考核评价 and 民主评议, 党风廉政意见回复 (``long_term.py``)."""

    def as_json(self) -> dict[str, Any]:
        """The story as plain JSON."""
        out = {k: v for k, v in vars(self).items()}
        out["started"] = self.started.isoformat()
        return out


def _ascii(text: str) -> str:
    """A header-safe stand-in for a Chinese name (keys are ASCII)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _labels(codes: list[str]) -> str:
    tax = taxonomy.load()
    return "、".join(tax.label(c) for c in codes)


def namesakes(persons: list[dict[str, Any]], run: str) -> list[dict[str, Any]]:
    """The scenario's persons as this run's namesakes, each with an ID number of its own.

    Every run tells new matters; the same person reported again for the same problem would
    be merged by intake into the earlier run's clue as a repeat report (重复件).
    """
    from services.intake.domain import check_character

    out = []
    for p in persons:
        n = int(hashlib.sha256(f"{run}|{p['name']}|{p['unit']}".encode()).hexdigest(), 16)
        born = date(1960, 1, 1) + timedelta(days=n % 14000)
        first17 = f"330329{born:%Y%m%d}{n // 14000 % 1000:03d}"
        out.append({**p, "id_number": first17 + check_character(first17)})
    return out


def _persons(persons: list[dict[str, Any]]) -> str:
    return "、".join(f"{p['unit']}{p.get('post', '')} {p['name']}" for p in persons)


def in_ledger(s: Session, clue_id: str, *, within: float = 120.0) -> dict[str, Any]:
    """Casework's ledger entry for a clue, once it got there."""

    def check() -> dict[str, Any] | None:
        r = s.call("clerk", "GET", "casework", f"/v1/clues/{clue_id}", expected=(200, 404))
        return r.json() if r.status_code == 200 else None

    result: dict[str, Any] = eventually(
        check, what=f"clue {clue_id} in casework's ledger", within=within
    )
    return result


def find_report_in_ledger(s: Session, story: Story, report: dict[str, Any]) -> dict[str, Any]:
    """The clerk finds this run's public report in the ledger (newest with its text)."""
    since = story.started - timedelta(seconds=5)

    def check() -> dict[str, Any] | None:
        found, cursor = None, None
        while True:
            params = {"category": report["categories"][0], "limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = s.get("clerk", "casework", "/v1/clues", params=params)
            for clue in page["items"]:
                if (
                    clue["source_kind"] == "public_report"
                    and clue["narrative"] == report["narrative"]
                    and datetime.fromisoformat(clue["received_at"]) >= since
                ):
                    found = clue
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    result: dict[str, Any] = eventually(check, what="the public report in the ledger")
    return result


# -- Act 1 ----------------------------------------------------------------------------------


def partners_transfer(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """审计、税务、公安 transfer clues; the audit bureau's retry is the same clue."""
    for p in scenario["partners"]:
        reference = f"{p['prefix']}-2026-{story.run}"
        persons = namesakes(p["transfer"]["reported_persons"], story.run)
        body = {"reference": reference, **p["transfer"], "reported_persons": persons}
        r = s.call(
            p["key"],
            "POST",
            "intake",
            "/v1/clue-transfers",
            json=body,
            headers={"Idempotency-Key": reference},
        )
        sent = r.json()
        story.clues[p["key"]] = {
            "clue_id": sent["clue_id"],
            "clue_number": sent["clue_number"],
            "reference": reference,
            "unit": p["transfer"]["reported_persons"][0]["unit"],
        }
        s.say(
            f"{p['name']} 移送线索 {reference} → 受理编号 [bold]{sent['clue_number']}[/] "
            f"（{_persons(p['transfer']['reported_persons'])}，{_labels(body['categories'])}）"
        )
    audit = scenario["partners"][0]
    first = story.clues[audit["key"]]
    retry = s.call(
        audit["key"],
        "POST",
        "intake",
        "/v1/clue-transfers",
        json={
            "reference": first["reference"],
            **audit["transfer"],
            "reported_persons": namesakes(audit["transfer"]["reported_persons"], story.run),
        },
        headers={"Idempotency-Key": first["reference"]},
    )
    story.duplicate_replayed = (
        retry.headers.get("Idempotent-Replayed") == "true"
        and retry.json()["clue_number"] == first["clue_number"]
    )
    s.say(
        f"{audit['name']} 网络超时后重发 {first['reference']} → 仍是 {retry.json()['clue_number']}"
        f"（同一请求原样返回，不重复登记{'' if story.duplicate_replayed else ' [red]— 未识别为重发！[/]'}）"
    )
    repeat_report(s, scenario, story)
    forward_outside(s, scenario, story)
    for p in scenario["partners"]:
        clue = in_ledger(s, story.clues[p["key"]]["clue_id"])
        story.clues[p["key"]]["ledger_status"] = clue["status"]
    s.say(
        f"案件监督管理室台账：{len(scenario['partners'])} 条线索均已登记，状态 "
        f"[bold]{clue['status_label']}[/]，被反映人姓名已脱敏（{clue['reported_persons'][0]['name']}）"
    )


def repeat_report(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """Another department reports the same person on the same matter: a repeat (重复件)."""
    repeat = scenario["repeat"]
    reference = f"{repeat['prefix']}-2026-{story.run}"
    sent = s.call(
        repeat["partner"],
        "POST",
        "intake",
        "/v1/clue-transfers",
        json={
            "reference": reference,
            **repeat["transfer"],
            "reported_persons": namesakes(repeat["transfer"]["reported_persons"], story.run),
        },
        headers={"Idempotency-Key": reference},
    ).json()
    joined = story.clues[repeat["joins"]]
    clue = s.get("clerk", "intake", f"/v1/clues/{joined['clue_id']}")
    story.clues["repeat"] = {
        "clue_id": sent["clue_id"],
        "clue_number": sent["clue_number"],
        "reference": reference,
        "status": sent["status"],
        "joined": joined["clue_number"],
        "repeat_count": clue["repeat_count"],
    }
    s.say(
        f"税务局另移送 {reference}（同一人{_persons(repeat['transfer']['reported_persons'])}，"
        f"同类问题）→ {sent['clue_number']} [bold]{sent['status_label']}[/] {joined['clue_number']}"
        f"（重复件 {clue['repeat_count']} 件，优先级 {clue['priority_label']}）"
    )


def forward_outside(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """A 市管干部 in a county unit: by 干部管理权限 the clue goes up to the city (转办)."""
    outside = scenario["outside"]
    reference = f"{outside['prefix']}-2026-{story.run}"
    sent = s.call(
        outside["partner"],
        "POST",
        "intake",
        "/v1/clue-transfers",
        json={
            "reference": reference,
            **outside["transfer"],
            "reported_persons": namesakes(outside["transfer"]["reported_persons"], story.run),
        },
        headers={"Idempotency-Key": reference},
    ).json()
    path = f"/v1/clues/{sent['clue_id']}/jurisdiction"
    marked = s.get("clerk", "intake", path)
    forwarded = s.command(
        "clerk",
        "intake",
        f"/v1/clues/{sent['clue_id']}/forwarding",
        path,
        {"method": "official_letter", "letter_number": f"{outside['letter']}{story.run}号"},
        key=f"demo-forward-{sent['clue_id']}",
    ).json()
    seen = s.get(outside["partner"], "intake", f"/v1/clue-transfers/{sent['clue_id']}")
    story.clues["forwarded"] = {
        "clue_id": sent["clue_id"],
        "clue_number": sent["clue_number"],
        "reference": reference,
        "authority": forwarded["forwarded"]["authority"],
        "partner_status": seen["status"],
    }
    s.say(
        f"审计局另移送 {reference}（{_persons(outside['transfer']['reported_persons'])}）→ "
        f"{sent['clue_number']} {marked['status_label']}：{marked['reason']}"
    )
    s.say(
        f"信访室以{forwarded['forwarded']['method_label']}转办 {forwarded['forwarded']['authority']}"
        f"（{'按期' if forwarded['forwarded']['in_time'] else '超期'}）；审计局查询：{seen['status_label']}"
        + (f"，{seen['outcome']}" if seen.get("outcome") else "")
    )


# -- Act 2 ----------------------------------------------------------------------------------


def public_reports(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """A real-name and an anonymous report; the anonymous reporter follows up."""
    real = scenario["reports"]["real_name"]
    receipt = s.call(
        None,
        "POST",
        "intake",
        "/v1/reports",
        json={
            "anonymous": False,
            **real,
            "reported_persons": namesakes(real["reported_persons"], story.run),
        },
    ).json()
    clue = find_report_in_ledger(s, story, real)
    ack = s.call("clerk", "POST", "intake", f"/v1/clues/{clue['clue_id']}/acknowledgement").json()
    story.clues["real_name"] = {
        "clue_id": clue["clue_id"],
        "clue_number": clue["clue_number"],
        "unit": real["reported_persons"][0]["unit"],
    }
    s.say(
        f"实名举报（{_persons(real['reported_persons'])}，{_labels(real['categories'])}）"
        f"→ {clue['clue_number']}；应在 {receipt['acknowledge_by']} 前告知受理，信访室已告知"
        f"（{'按期' if ack['in_time'] else '超期'}）"
    )

    anon = scenario["reports"]["anonymous"]
    report_body = {
        "anonymous": True,
        "secret": anon["secret"],
        **{k: anon[k] for k in ("categories", "narrative")},
        "reported_persons": namesakes(anon["reported_persons"], story.run),
    }
    receipt = s.call(None, "POST", "intake", "/v1/reports", json=report_body).json()
    code = receipt["receipt_code"]
    story.receipt_code = code
    as_reporter = {"X-Report-Secret": anon["secret"]}
    status = s.get(None, "intake", f"/v1/reports/{code}", headers=as_reporter)  # type: ignore[arg-type]
    s.say(
        f"匿名举报（{_persons(anon['reported_persons'])}，{_labels(anon['categories'])}）"
        f"→ 查询码 [bold]{code}[/]；举报人凭查询码和密码查询：{status['status_label']}"
    )
    s.call(
        None,
        "POST",
        "intake",
        f"/v1/reports/{code}/messages",
        json={"text": anon["follow_up"]},
        headers=as_reporter,
    )
    clue = find_report_in_ledger(s, story, anon)
    story.clues["anonymous"] = {
        "clue_id": clue["clue_id"],
        "clue_number": clue["clue_number"],
        "unit": anon["reported_persons"][0]["unit"],
    }
    asked = s.get("clerk", "intake", f"/v1/clues/{clue['clue_id']}/messages")
    s.call(
        "clerk",
        "POST",
        "intake",
        f"/v1/clues/{clue['clue_id']}/messages",
        json={"text": anon["clerk_reply"]},
    )
    story.reporter_messages = s.call(
        None, "GET", "intake", f"/v1/reports/{code}/messages", headers=as_reporter
    ).json()
    s.say(
        f"举报人留言“{asked[-1]['text']}”→ 信访室在 {clue['clue_number']} 下回复；"
        f"举报人看到 {len(story.reporter_messages)} 条往来消息，回复署名“{story.reporter_messages[-1]['author']}”"
    )


# -- Act 3 ----------------------------------------------------------------------------------


def hotline_order(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """A 12345 work order naming an official becomes a clue too."""
    order = scenario["hotline"]
    number = f"GD2026{story.run}"
    deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    answer = s.call(
        "hotline",
        "POST",
        "intake",
        "/v1/hotline-orders",
        json={
            "order_number": number,
            "status": "processing",
            "deadline": deadline,
            **order,
            "named_officials": namesakes(order["named_officials"], story.run),
        },
    ).json()
    s.call(
        "hotline",
        "POST",
        "intake",
        f"/v1/hotline-orders/{number}/updates",
        json={"status": "completed", "reopened": True, "satisfaction": "不满意"},
    )
    story.hotline_order = number
    clue = in_ledger(s, answer["clue_id"])
    story.clues["hotline"] = {
        "clue_id": answer["clue_id"],
        "clue_number": answer["clue_number"],
        "unit": order["unit"],
    }
    s.say(
        f"12345 工单 {number}（{order['unit']}，点名{_persons(order['named_officials'])}，"
        f"{_labels(order['misconduct_categories'])}）→ 转为线索 {answer['clue_number']}，"
        f"台账 {clue['status_label']}；办结后群众“不满意”、重办，交由对比分析"
    )


# -- Act 4 ----------------------------------------------------------------------------------

FEED_LABELS = {
    "gps_points": "公车GPS轨迹",
    "fuel_transactions": "加油卡交易",
    "invoices": "发票",
    "travel_claims": "差旅报销",
    "attendance": "考勤",
    "hotline_orders": "12345工单",
    "drunk_driving": "酒驾醉驾记录",
}


def rating_of(s: Session, unit: str) -> dict[str, Any]:
    """A unit's 红黄绿 rating as accountability computes it now."""
    rating: dict[str, Any] = s.get("accountability", "accountability", f"/v1/units/{unit}/rating")
    return rating


def _board(s: Session, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **filters, **({"cursor": cursor} if cursor else {})}
        page = s.get("officer", "analysis", "/v1/alerts", params=params)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def feeds_and_alerts(
    s: Session, scenario: dict[str, Any], story: Story, size: dict[str, int]
) -> None:
    """The county's data center sends 14 feeds; rules cross-compare them; alerts rise."""
    from services.analysis.generator import FEED_ORDER, Size, generate

    unit = scenario["responsibility_list"]["unit"]
    story.ratings["before"] = _short(rating_of(s, unit))
    with tempfile.TemporaryDirectory(prefix="zf-demo-county-") as tmp:
        county = Size(
            units=size["units"],
            vehicles=size["vehicles"],
            months=size["months"],
            gps_interval_s=size["gps_interval_s"],
        )
        manifest = generate(story.seed, Path(tmp), county)
        story.planted = len(json.loads((Path(tmp) / "ground_truth.json").read_text())["violations"])
        for kind in FEED_ORDER:
            body = gzip.compress((Path(tmp) / manifest["feeds"][kind]["file"]).read_bytes())
            answer = s.call(
                "data",
                "POST",
                "analysis",
                f"/v1/feeds/{kind}/batches/demo-seed{story.seed}-{kind}",
                content=body,
                headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
                timeout=600,
            )
            report = answer.json()
            story.feeds[kind] = {
                k: report[k] for k in ("received", "accepted", "duplicates", "rejected")
            }
            story.feeds[kind]["alerts_raised"] = report.get("alerts_raised") or 0
            story.feeds[kind]["replayed"] = answer.headers.get("Idempotent-Replayed") == "true"
    fresh = [f for f in story.feeds.values() if not f["replayed"]]
    rows = sum(f["accepted"] for f in fresh)
    dup = sum(f["duplicates"] for f in fresh)
    replayed = len(story.feeds) - len(fresh)
    big = "，".join(
        f"{label} {story.feeds[k]['received']:,} 行" for k, label in FEED_LABELS.items()
    )
    s.say(
        f"青山县大数据中心报送 {len(story.feeds)} 类数据（{big}等）："
        f"新入库 {rows:,} 行"
        + (f"，已有 {dup:,} 行（重复报送，不重复入库）" if dup else "")
        + (f"；{replayed} 个批次此前已报送（同一批次号只入库一次）" if replayed else "")
    )
    board = _board(s)
    by_level = {lvl: sum(1 for a in board if a["level"] == lvl) for lvl in LEVELS}
    escalated = sum(1 for a in board if a["escalation_reason"])
    story.alerts = {"total": len(board), **by_level, "escalated": escalated}
    s.say(
        f"对比分析 26 条规则 → 预警 {len(board)} 条：红 {by_level['red']}、黄 {by_level['yellow']}、"
        f"绿 {by_level['green']}（多源关联升级为红 {escalated} 条；造数时埋设违规 {story.planted} 处）"
    )
    for alert in sorted(board, key=lambda a: (a["level"] != "red", a["rule_id"]))[:3]:
        s.say(
            f"  [{'red' if alert['level'] == 'red' else 'yellow'}]{alert['level_label']}[/] {alert['summary']}"
        )

    red = sorted(
        (a for a in board if a["level"] == "red"), key=lambda a: (a["rule_id"], a["evidence_key"])
    )
    pick = next((a for a in red if a["finding"] is None), None)
    if pick is None:
        s.say("（各红色预警均已核查过：上一轮演示留下的结论保持不变）")
        pick = red[0] if red else None
    else:
        s.call(
            "officer",
            "POST",
            "analysis",
            f"/v1/alerts/{pick['alert_id']}/verification",
            json={"finding": "confirmed", "notes": "线下核查：调取原始凭证，情况属实。"},
            headers={"Idempotency-Key": f"demo-verify-{pick['alert_id']}"},
        )
    if pick is not None:

        def linked() -> dict[str, Any] | None:
            detail: dict[str, Any] = s.get("officer", "analysis", f"/v1/alerts/{pick['alert_id']}")
            # The board shows the finding a moment after it is recorded, the clue later.
            return detail if detail["clue_id"] and detail["finding"] else None

        detail = eventually(linked, what="the red alert's finding and clue")
        clue = in_ledger(s, detail["clue_id"])
        story.verified_alert = {
            "alert_id": pick["alert_id"],
            "rule_id": pick["rule_id"],
            "summary": pick["summary"],
            "finding": detail["finding"],
            "clue_id": detail["clue_id"],
            "clue_number": clue["clue_number"],
        }
        s.say(
            f"承办人核查红色预警“{pick['summary']}”→ {detail['finding_label']}；"
            f"该预警已自动进入线索台账 {clue['clue_number']}（{clue['status_label']}）"
        )

    unit_alerts = [a for a in board if a["unit_name"] == unit]

    def noted() -> dict[str, Any] | None:
        rating = rating_of(s, unit)
        counted = rating["inputs"].get("alert_red", 0) + rating["inputs"].get("alert_yellow", 0)
        raised = sum(1 for a in unit_alerts if a["raised_level"] != "green")
        return rating if counted >= raised else None

    story.ratings["after_alerts"] = _short(eventually(noted, what=f"{unit}'s alerts in its rating"))
    s.say(_rating_line(unit, story.ratings["before"], story.ratings["after_alerts"], "预警"))


def _short(rating: dict[str, Any]) -> dict[str, Any]:
    return {k: rating[k] for k in ("level", "level_label", "score", "explanation", "inputs")}


def _rating_line(unit: str, before: dict[str, Any], after: dict[str, Any], why: str) -> str:
    if (before["level"], before["score"]) == (after["level"], after["score"]):
        return f"{unit} 红黄绿评级：{after['level_label']}（{after['score']} 分，未变）"
    moved = "→" if before["level"] != after["level"] else "，仍为"
    return (
        f"{unit} 红黄绿评级：{before['level_label']}（{before['score']} 分）{moved} "
        f"[bold]{after['level_label']}[/]（{after['score']} 分，计入{why}）"
    )


# -- Act 5 ----------------------------------------------------------------------------------


def responsibility_list(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """党风政风监督室 keeps the unit's 责任清单: who answers for what, from when."""
    body = scenario["responsibility_list"]
    listed = s.call(
        "accountability",
        "POST",
        "accountability",
        "/v1/responsibility-lists",
        json=body,
        headers={"Idempotency-Key": f"demo-list-{_ascii(body['unit'])}-{body['valid_from']}"},
    ).json()
    leaders = "、".join(
        f"{d['department']} {d['leader']['name']}" for d in body["department_leaders"]
    )
    s.say(
        f"{body['unit']} 责任清单（第 {listed['version']} 版，{body['valid_from']} 起）："
        f"{body['party_committee']}，第一责任人 {body['first_responsible']['name']}，"
        f"{body['discipline_body']} {body['discipline_head']['name']}，分管 {leaders}"
    )


# -- Act 6 ----------------------------------------------------------------------------------


def _case_command(
    s: Session,
    story: Story,
    player: str,
    case_id: str,
    name: str,
    body: dict[str, Any],
    **sign: Any,
) -> dict[str, Any]:
    """A case command; one that needs sign-off is proposed and signed through its chain."""
    body.setdefault("reason", name)
    key = f"demo-{story.run}-{case_id}-{name}"
    r = s.command(
        player, "casework", f"/v1/cases/{case_id}/{name}", f"/v1/cases/{case_id}", body, key=key
    )
    out: dict[str, Any] = r.json()
    if r.status_code == 202:
        chain = " → ".join(step["label"] for step in out["steps"])
        key_matter = f"（{'、'.join(out['key_reasons'])}）" if out["key_reasons"] else ""
        s.say(f"拟办 {name}{key_matter}，报批：{chain}")
        out = sign_off(s, key, out, **sign)
    return out


def _inquiry_letter_received(s: Session, case_id: str) -> None:
    """送达 of the 谈话函询通知书: the 15-working-day reply period starts on its receipt."""
    case = s.get("officer", "casework", f"/v1/cases/{case_id}")
    letter = next(d for d in case["documents"] if d["kind"] == "inquiry_notice")
    served = s.call(
        "officer",
        "POST",
        "casework",
        f"/v1/cases/{case_id}/documents/{letter['document_id']}/serve",
        json={
            "served_on": letter["issued_at"][:10],
            "manner": "direct",
            "reason": "当面送达本人签收",
        },
    ).json()
    due = served["deadlines"]["inquiry_reply"]["due"]
    s.say(f"{letter['number']} 谈话函询通知书当面送达，自收到之日起15个工作日内（{due}前）书面说明")


def casework(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """The leader assigns, officers dispose of clues, one becomes a case and is decided."""
    officer = s.creds["officer"]["client_id"]
    leader = s.creds["leader"]["client_id"]
    for role in ("audit", "tax", "police", "anonymous"):
        _case_command(
            s,
            story,
            "leader",
            story.clues[role]["clue_id"],
            "assign",
            {
                "department": "第一监督检查室",
                "officer": officer,
                "leader": leader if role == "audit" else None,
                "reason": "分管领导批办",
            },
        )
    s.say(
        f"分管领导批办：4 条线索交第一监督检查室承办（{story.clues['audit']['clue_number']} 领导包案）"
    )

    tax = story.clues["tax"]["clue_id"]
    _case_command(s, story, "officer", tax, "dispose",
                  {"method": "talk_or_inquiry", "reason": "问题较轻，函询说明",
                   "documents": ["函询通知书"]})  # fmt: skip
    _inquiry_letter_received(s, tax)
    _case_command(s, story, "officer", tax, "record_reply", {"reason": "本人书面说明已收到"})
    done = _case_command(s, story, "officer", tax, "evaluate_reply",
                         {"outcome": "talk_reminder",
                          "reason": "说明基本属实，问题情节轻微，予以谈话提醒"})  # fmt: skip
    story.dispositions["tax"] = done["status"]
    s.say(
        f"{story.clues['tax']['clue_number']} 谈话函询 → 回复基本属实、情节轻微 → 谈话提醒"
        f"（第一种形态）→ [bold]{done['status_label']}[/]"
    )

    review_on = (date.today() + timedelta(days=90)).isoformat()
    held = _case_command(s, story, "officer", story.clues["police"]["clue_id"], "dispose",
                         {"method": "hold", "review_on": review_on,
                          "reason": "待公安机关移送笔录后再查"})  # fmt: skip
    story.dispositions["police"] = held["status"]
    s.say(f"{story.clues['police']['clue_number']} 暂存待查，{review_on} 复查")

    anon = _case_command(s, story, "officer", story.clues["anonymous"]["clue_id"], "dispose",
                         {"method": "preliminary_verification", "reason": "匿名举报内容具体，予以初核"})  # fmt: skip
    story.dispositions["anonymous"] = anon["status"]
    s.say(f"{story.clues['anonymous']['clue_number']}（匿名举报）初步核实")

    case = scenario["case"]
    case_id = story.clues["audit"]["clue_id"]
    case_number = f"青纪立〔2026〕{story.run}号"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("officer", "dispose", {"method": "preliminary_verification", "reason": "审计移送，证据较具体"}),
        ("officer", "conclude_verification", {"outcome": "propose_filing", "reason": "初核属实，拟立案"}),
        ("officer", "file_case", {"case_number": case_number, "subject": case["subject"],
                                  "misconduct_date": case["misconduct_date"],
                    "major": case["major"], "reason": "经批准立案",
                                  "documents": ["立案决定书"]}),
        ("officer", "start_investigation", {"reason": "成立审查调查组"}),
        ("officer", "transfer_for_review", {"reason": "事实清楚，移送审理", "documents": ["审查调查报告"]}),
        ("reviewer", "review_opinion", {"form": case["form"], "measures": case["measures"],
                                        "facts": "收受管理服务对象所送购物卡，价值2万元",
                                        "reason": "事实清楚，证据确凿，定性准确"}),
        ("reviewer", "decide", {"form": case["form"], "measures": case["measures"],
                              "summary": "收受购物卡，给予党内严重警告处分",
                              "reason": "常委会审议", "documents": ["处分决定书"]}),
    ]  # fmt: skip
    trail = []
    for player, name, body in steps:
        # The 领导包案 clue's disposal is returned once by the leader and proposed again.
        sign = {"return_at": 1, "amend": {"reason": "审计移送，证据较具体，已附核实方案"}}
        state = _case_command(s, story, player, case_id, name, body,
                              **(sign if name == "dispose" else {}))  # fmt: skip
        trail.append("审理意见" if name == "review_opinion" else state["status_label"])
    story.case = {
        "case_id": case_id,
        "case_number": case_number,
        "clue_number": story.clues["audit"]["clue_number"],
        "status": state["status"],
        "form": state.get("form"),
        "unit": case["subject"]["unit"],
    }
    s.say(
        f"{story.clues['audit']['clue_number']}：初步核实 → 拟立案 → 立案 {case_number} → "
        + " → ".join(trail[3:])
    )
    s.say(
        f"作出处理决定：第{'一二三四'[case['form'] - 1]}种形态（{case['measures_label']}），"
        f"案件状态 [bold]{state['status_label']}[/]"
    )
    for clue_id in (tax, case_id):
        _documents(s, story, "casework", f"/v1/cases/{clue_id}")

    code = story.receipt_code
    secret = scenario["reports"]["anonymous"]["secret"]

    def progressed() -> dict[str, Any] | None:
        status: dict[str, Any] = s.call(
            None, "GET", "intake", f"/v1/reports/{code}", headers={"X-Report-Secret": secret}
        ).json()
        return status if status["status"] == "disposed" else None

    status = eventually(progressed, what="the anonymous reporter's status to read 已处置")
    story.reporter_status = status["status"]
    s.say(
        f"匿名举报人再次查询：[bold]{status['status_label']}[/]"
        + (f"（{status['outcome']}）" if status["outcome"] else "")
    )


def _documents(s: Session, story: Story, service: str, matter: str) -> None:
    """The documents a matter's decisions issued (文号, title), kept for the summary."""
    player = "leader" if service == "casework" else "accountability"
    items = s.get(player, service, f"{matter}/documents")["items"]
    for d in items:
        story.documents.append(
            {
                "service": service,
                "matter": matter,
                **{k: d[k] for k in ("number", "title", "sha256", "href")},
            }
        )
    if items:
        s.say("制发文书：" + "、".join(f"{d['number']} {d['title']}" for d in items))


# -- Act 7 ----------------------------------------------------------------------------------


def accountability(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """一案双查: the decision opened an inquiry; findings, a 诫勉, conclusion."""
    case = story.case
    unit = case["unit"]

    def opened() -> dict[str, dict[str, Any]] | None:
        """The inquiries whose trigger names the case, by trigger kind."""
        rows = s.get("accountability", "accountability", "/v1/inquiries",
                     params={"unit": unit, "limit": 200})["items"]  # fmt: skip
        found = {}
        for row in rows:
            inquiry: dict[str, Any] = s.get(
                "accountability", "accountability", f"/v1/inquiries/{row['inquiry_id']}"
            )
            if case["case_id"] in inquiry["trigger"].get("case_ids", []):
                found[inquiry["trigger"]["kind"]] = inquiry
        return found if set(found) - {"recurrence"} else None

    by_kind = eventually(opened, what="the 一案双查 inquiry opened by the decision")
    inquiry = next(i for kind, i in by_kind.items() if kind != "recurrence")
    iid = inquiry["inquiry_id"]
    parties = {p["party_id"]: p for p in inquiry["parties"]}
    s.say(
        f"处理决定触发一案双查：问责调查 {iid[:8]}…（{unit}，按 {inquiry['misconduct_date']} "
        "有效的责任清单）追究："
    )
    s.say("  " + "、".join(f"{p['name']}（{p['responsibility_label']}）" for p in parties.values()))
    if "recurrence" in by_kind:
        s.say(
            f"同类问题一年内再次发生：另开一案双查 {by_kind['recurrence']['inquiry_id'][:8]}…（{by_kind['recurrence']['trigger']['reason']}）"
        )
    path = f"/v1/inquiries/{iid}"
    spec = scenario["case"]
    target = spec["measured_party"]

    def step(player: str, sub: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        out: dict[str, Any] = s.command(
            player, "accountability", f"{path}/{sub}", path, body, key=f"demo-{iid}-{key}"
        ).json()
        return out

    if inquiry["status"] == "open":
        step("accountability", "duty-checks",
             {"party_id": target, "duty": "daily_supervision", "fulfilled": False,
              "note": "分管财务科，一年未听取财务工作汇报"}, "duty")  # fmt: skip
        for party_id in parties:
            failed = party_id == target
            step("accountability", "findings",
                 {"party_id": party_id, "fulfilled": not failed,
                  "reasons": ["分管财务科，未落实一岗双责"] if failed else []},
                 f"finding-{party_id}")  # fmt: skip
        proposed = step("accountability", "measures",
                        {"party_id": target, "measure": spec["measure"],
                         "reasons": "未履行一岗双责，对下属违纪失察"}, "measure")  # fmt: skip
        measure = next(m for m in proposed["measures"] if m["party_id"] == target)
        decision = step("accountability", f"measures/{measure['measure_id']}/decision",
                        {"decided_by_body": "commission", "approved": True}, "decision")  # fmt: skip
        s.say(
            "党风政风监督室拟办问责决定，报批：" + " → ".join(x["label"] for x in decision["steps"])
        )
        sign_off(s, f"demo-{iid}-decision", decision, service="accountability")
        _documents(s, story, "accountability", path)
        concluding = step("accountability", "conclusion",
                          {"summary": "一案双查完毕：直接责任人已处理，分管领导诫勉。"}, "conclusion")  # fmt: skip
        s.say(
            "党风政风监督室拟办结问责调查，报批："
            + " → ".join(x["label"] for x in concluding["steps"])
        )
        inquiry = sign_off(s, f"demo-{iid}-conclusion", concluding, service="accountability")
    measure = next(m for m in inquiry["measures"] if m["party_id"] == target)
    story.inquiry = {
        "inquiry_id": iid,
        "status": inquiry["status"],
        "status_label": INQUIRY_STATUS.get(inquiry["status"], inquiry["status"]),
        "measure": measure["measure"],
        "measure_label": measure["label"],
        "measure_status": measure["status"],
        "party": parties[target]["name"],
    }
    s.say(
        f"查明：{parties[target]['name']}（{parties[target]['responsibility_label']}）未履职，其余各方已履职；"
        f"纪委监委决定{measure['label']}（{MEASURE_STATUS.get(measure['status'], measure['status'])}），"
        f"问责调查 [bold]{story.inquiry['status_label']}[/]"
    )


# -- Act 8 ----------------------------------------------------------------------------------


def ratings(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """The decision counts in the unit's 红黄绿 rating; the daily re-rating runs."""
    unit = story.case["unit"]
    base = story.ratings["after_alerts"]

    def counted() -> dict[str, Any] | None:
        rating = rating_of(s, unit)
        return rating if rating["inputs"].get("case", 0) > base["inputs"].get("case", 0) else None

    after = _short(eventually(counted, what=f"the decision in {unit}'s rating"))
    rerated = s.call("accountability", "POST", "accountability", "/v1/ratings/recompute").json()
    story.ratings["after_decision"] = after
    story.ratings["recompute"] = {"rated": rerated["rated"], "changed": len(rerated["changed"])}
    s.say(_rating_line(unit, base, after, "处理决定"))
    s.say(f"评级说明：{after['explanation']}")
    s.say(
        f"每日重算（/v1/ratings/recompute）：{rerated['rated']} 个单位，{len(rerated['changed'])} 个等级变化"
    )
