"""The demo's act of the long-term mechanisms (长效机制): the quarterly analysis the schedule
issued, a 民主评议 survey answered through its links, the half-year's 考核评价 with a 约谈,
and the 党风廉政意见回复 the organisation department asks for the case's subject."""

from __future__ import annotations

from datetime import date
from typing import Any

from zhengfeng.demo.acts import Story
from zhengfeng.demo.setup import Session, eventually
from zhengfeng.demo.signoffs import sign_off

ANSWERS = [
    {"overall": 1, "efficiency": 1, "integrity": 1, "service": 1, "worst": "推诿扯皮"},
    {"overall": 1, "efficiency": 1, "integrity": 2, "service": 1, "worst": "办事拖沓",
     "advice": "窗口办事要一次说清"},
    {"overall": 2, "efficiency": 1, "integrity": 1, "service": 1, "worst": "推诿扯皮"},
]  # fmt: skip


def _last_ended_half(today: date) -> str:
    return f"{today.year - 1}-H2" if today.month <= 6 else f"{today.year}-H1"


def quarterly_analysis(s: Session, story: Story) -> None:
    """The last ended quarter's report, issued by the schedule when accountability started."""

    def issued() -> dict[str, Any] | None:
        items = s.get("accountability", "accountability", "/v1/analysis-reports",
                      params={"kind": "quarter"})["items"]  # fmt: skip
        return items[-1] if items else None

    listed = eventually(issued, what="the quarterly analysis report")
    report = s.get("accountability", "accountability", f"/v1/analysis-reports/{listed['period']}")
    reports = s.get("accountability", "accountability", "/v1/analysis-reports")["items"]
    story.long_term["analysis"] = {
        "period": report["period"], "label": report["label"],
        "number": report["document"]["number"] if report["document"] else None,
        "reports": len(reports),
    }  # fmt: skip
    s.say(
        f"定期分析报告（调度自动生成，每期一次）：{report['label']} {story.long_term['analysis']['number']}"
    )
    for paragraph in report["summary"]:
        s.say(f"  {paragraph}")
    table = report["figures"]["eight_rules_table"]
    s.say(f"  {table['title']}：" + "，".join(
        f"{r['label']}{r['problems']}起" for r in table["rows"] if r["level"] == 0
    ))  # fmt: skip


def survey_and_appraisal(s: Session, story: Story) -> None:
    """民主评议 through links, then the half-year's 考核评价; a low score opens a 约谈."""
    unit = story.case["unit"]
    half = _last_ended_half(date.today())
    survey = s.call("accountability", "POST", "accountability", "/v1/surveys",
                    json={"unit": unit, "period": half, "tokens": 5}).json()  # fmt: skip
    sid = survey["survey_id"]
    for link, answers in zip(survey["links"], ANSWERS, strict=False):
        s.call(None, "POST", "accountability", f"/v1/surveys/{sid}/responses",
               json={"token": link["token"], "answers": answers})  # fmt: skip
    again = {"token": survey["links"][0]["token"], "answers": ANSWERS[0]}
    s.call(None, "POST", "accountability", f"/v1/surveys/{sid}/responses", json=again,
           expected=(409,))  # fmt: skip

    def tallied() -> dict[str, Any] | None:
        r = s.get("accountability", "accountability", f"/v1/surveys/{sid}/results")
        return r if r["responses"] == len(ANSWERS) else None

    results = eventually(tallied, what="the survey's answers tallied")
    s.say(f"民主评议：{unit} 发放链接/二维码 5 个，收回 {results['responses']} 份（同一链接再次提交被拒），"
          f"得分 {results['score']}")  # fmt: skip

    body = {"period": half, "hotline_satisfaction": {unit: 10}}  # 12345 平台报送的满意率
    r = s.call("accountability", "POST", "accountability", "/v1/appraisals", json=body,
               expected=(201, 409))  # fmt: skip
    fresh = r.status_code == 201
    opened = len(r.json()["interviews"]) if fresh else 0

    def scored() -> list[dict[str, Any]] | None:
        items = s.get("accountability", "accountability", "/v1/appraisals",
                      params={"period": half})["items"]  # fmt: skip
        return items or None

    def todo() -> list[dict[str, Any]] | None:
        items = s.get("accountability", "accountability", "/v1/interviews",
                      params={"status": "open"})["items"]  # fmt: skip
        return items if len(items) >= opened else None

    scores = eventually(scored, what="the appraisal's scores")
    open_interviews = eventually(todo, what="the 约谈 tasks in the to-do")
    mine = next((u for u in scores if u["unit"] == unit), None)
    story.long_term["appraisal"] = {
        "period": half, "units": len(scores), "interviews": len(open_interviews), "new": fresh,
    }  # fmt: skip
    s.say(f"考核评价（{half}）：{len(scores)} 个单位" + ("" if fresh else "（本期已评，沿用结果）"))
    if mine:
        s.say(f"  {unit}：{mine['explanation']}")
    s.say(f"  待约谈 {len(open_interviews)} 个单位（工作台「待约谈」）")


def integrity_reply(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """The organisation department asks about the case's subject before a promotion."""
    subject = scenario["case"]["subject"]
    body = {
        "cadre": {"name": subject["name"], "unit": subject["unit"], "post": subject.get("post")},
        "purpose": "拟提拔任用", "requested_by": "中共青山县委组织部",
        "reference": f"青组函〔2026〕{story.run}号",
    }  # fmt: skip
    proposal = s.call("organisation", "POST", "accountability", "/v1/integrity-replies",
                      json=body, expected=(202,)).json()  # fmt: skip
    s.say("组织部门请示党风廉政意见回复（拟提拔任用），待室主任审核、分管领导审批")
    sign_off(s, f"integrity-{story.run}", proposal, service="accountability")
    reply_id = proposal["location"].split("/")[3]
    reply = s.get("organisation", "accountability", f"/v1/integrity-replies/{reply_id}")
    story.long_term["integrity_reply"] = {
        "reply_id": reply_id, "conclusion": reply["conclusion"],
        "conclusion_label": reply["conclusion_label"],
        "statements": len(reply["statements"]),
    }  # fmt: skip
    for statement in reply["statements"]:
        s.say(f"  回复：{statement['text']}")
    s.say(f"  结论：{reply['conclusion_text']}")


def long_term(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """定期分析、民主评议与考核评价、党风廉政意见回复."""
    quarterly_analysis(s, story)
    survey_and_appraisal(s, story)
    integrity_reply(s, scenario, story)
