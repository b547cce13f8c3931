"""The act of the 四种形态's two ends: a clue closed with 形态一 and a case transferred to
the procuratorate (形态四), then the month's statistics counting 形态一 to 形态四."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from zhengfeng.demo.acts import Story, _case_command, _documents
from zhengfeng.demo.setup import Session, eventually

REPORTS_TIMEZONE = "Asia/Shanghai"
"""The time zone accountability's monthly statistics count months in (its rules' default)."""


def four_forms(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """形态一 on the tax clue (in the casework act), 形态四 on the real-name report's case,
    and the monthly statistics by form."""
    spec = scenario["prosecution"]
    clue = story.clues["real_name"]
    case_id = clue["clue_id"]
    officer = s.creds["officer"]["client_id"]
    _case_command(s, story, "leader", case_id, "assign",
                  {"department": "第一审查调查室", "officer": officer, "reason": "分管领导批办"})  # fmt: skip
    case_number = f"青纪立〔2026〕{story.run}-2号"
    decision = {"form": 4, "measures": spec["measures"]}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("officer", "dispose", {"method": "preliminary_verification", "reason": "实名举报，线索具体"}),
        ("officer", "conclude_verification", {"outcome": "propose_filing", "reason": "初核发现套取公款线索，拟立案"}),
        ("officer", "file_case", {"case_number": case_number, "subject": spec["subject"],
                                  "misconduct_date": spec["misconduct_date"], "major": True,
                                  "reason": "经批准立案审查调查", "documents": ["立案决定书"]}),
        ("officer", "start_investigation", {"reason": "成立审查调查组"}),
        ("officer", "transfer_for_review", {"reason": "事实清楚，涉嫌贪污犯罪，移送审理",
                                            "documents": ["审查调查报告"]}),
        ("reviewer", "review_opinion", {**decision, "facts": spec["facts"],
                                        "reason": "严重违纪违法并涉嫌犯罪"}),
        ("reviewer", "decide", {**decision, "summary": spec["summary"], "reason": "常委会审议",
                                "documents": ["处分决定书"]}),
        ("officer", "transfer_for_prosecution", {"procuratorate": spec["procuratorate"],
                                                 "transferred_on": datetime.now(UTC).date().isoformat(),
                                                 "reason": "涉嫌贪污犯罪，依法移送审查起诉",
                                                 "documents": ["起诉意见书"]}),
    ]  # fmt: skip
    trail = []
    for player, name, body in steps:
        state = _case_command(s, story, player, case_id, name, body)
        trail.append(state["status_label"])
    story.prosecution = {
        "case_id": case_id,
        "case_number": case_number,
        "status": state["status"],
        "form": state.get("form"),
        "procuratorate": spec["procuratorate"],
    }
    s.say(
        f"{clue['clue_number']}（实名举报）：" + " → ".join(trail[1:])
        + f"；第四种形态（{spec['measures_label']}），移送{spec['procuratorate']}，不回访"
    )  # fmt: skip
    _documents(s, story, "casework", f"/v1/cases/{case_id}")
    monthly(s, story)


def monthly(s: Session, story: Story) -> None:
    """The month's 四种形态 as the report to the level above counts them."""
    month = datetime.now(ZoneInfo(REPORTS_TIMEZONE)).strftime("%Y-%m")

    def counted() -> dict[str, Any] | None:
        stats: dict[str, Any] = s.get(
            "leader", "accountability", "/v1/reports/monthly", params={"month": month}
        )
        forms = {r["form"]: r["count"] for r in stats["by_form"]}
        return stats if forms[1] >= 1 and forms[4] >= 1 else None

    stats = eventually(counted, what="the month's statistics to count 形态一 and 形态四")
    story.monthly = {"month": month, "by_form": stats["by_form"]}
    s.say(
        f"{month} 月度统计（四种形态）："
        + "、".join(f"{r['label']} {r['count']} 人次" for r in stats["by_form"])
        + f"（其中线索处置中运用第一种形态 {stats['first_form_on_clues']} 人次）"
    )
