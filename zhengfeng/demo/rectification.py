"""第九幕: a 巡察组's findings become a unit's 整改台账, followed to 验收 and a 回头看 that
finds the problem back — through the public APIs only."""

from __future__ import annotations

from typing import Any

from zhengfeng.demo.acts import Story, _labels, namesakes
from zhengfeng.demo.setup import Session

ACC = "accountability"


def _item(
    s: Session, list_id: str, item_id: str, step: str, body: dict[str, Any], run: str, tag: str = ""
) -> dict[str, Any]:
    """One command on an item, with the list's current ``ETag`` and a key of this run."""
    out: dict[str, Any] = s.command(
        ACC, ACC, f"/v1/rectifications/{list_id}/items/{item_id}/{step}",
        f"/v1/rectifications/{list_id}", body, key=f"demo-{run}-{item_id}-{step}{tag}",
    ).json()  # fmt: skip
    return out


def inspection_rectification(s: Session, scenario: dict[str, Any], story: Story) -> None:
    """巡察反馈 → 清单交办 → 跟踪督办 → 结果反馈 → 验收 → 回头看 (reopened), 双报告."""
    sc = scenario["inspection"]
    reference = f"XC-2026-{story.run}"
    clue = s.call(
        "inspection", "POST", "intake", "/v1/clue-transfers",
        json={"reference": reference, **sc["clue"],
              "reported_persons": namesakes(sc["clue"]["reported_persons"], story.run)},
        headers={"Idempotency-Key": reference},
    ).json()  # fmt: skip
    s.say(
        f"{sc['group']} 移交问题线索 {reference} → 受理编号 [bold]{clue['clue_number']}[/]"
        f"（来源：巡察移送，{_labels(sc['clue']['categories'])}）"
    )
    findings = {
        "reference": f"青巡反〔2026〕{story.run}号",
        "round": sc["round"],
        "unit": sc["unit"],
        "summary": sc["summary"],
        "findings": sc["findings"],
        "clue_numbers": [clue["clue_number"]],
    }
    lst = s.call(
        "inspection", "POST", ACC, "/v1/inspection-findings", json=findings,
        headers={"Idempotency-Key": f"demo-findings-{story.run}"},
    ).json()  # fmt: skip
    first, second = lst["items"]
    s.say(
        f"{sc['group']} 反馈 {sc['unit']} 问题 {len(lst['items'])} 个 → 整改清单「{lst['title']}」："
        f"立行立改「{first['problem']}」限 {first['deadline']} 前完成，"
        f"「{second['problem']}」限 {second['deadline']}；双报告（党委、纪委监委）限 {lst['report_due']} 前"
    )
    run, list_id, item_id = story.run, lst["list_id"], first["item_id"]
    _item(s, list_id, item_id, "progress", {"note": sc["progress"]}, run)
    _item(s, list_id, item_id, "progress", {"note": sc["urge"], "urged": True}, run, "-urged")
    s.say(f"跟踪督办：单位报告进展「{sc['progress']}」；党风政风监督室督办「{sc['urge']}」")
    _item(s, list_id, item_id, "completion", sc["completion"], run)
    accepted = _item(
        s, list_id, item_id, "acceptance", {"passed": True, "opinion": "整改到位，同意验收"}, run
    )
    due = accepted["items"][0]["review_due"]
    s.say(
        f"结果反馈（佐证 {len(sc['completion']['evidence'])} 份，问责处理：{sc['completion']['accountability']}）"
        f" → 验收通过，{due} 起回头看"
    )
    reviewed = _item(s, list_id, item_id, "review", {"holds": False, "finding": sc["relapse"]}, run)
    again = reviewed["items"][0]
    s.say(
        f"回头看：{sc['relapse']} → 该事项[bold]重新整改[/]（第 {again['round']} 轮，"
        f"限 {again['deadline']} 前），此前的交办、督办、验收记录保留"
    )
    s.command(
        ACC, ACC, f"/v1/rectifications/{list_id}/reports", f"/v1/rectifications/{list_id}",
        {"to": "party_committee", "summary": "巡察整改进展情况报告"}, key=f"demo-{run}-{list_id}-report",
    )  # fmt: skip
    figures = s.get(ACC, ACC, f"/v1/rectifications/{list_id}")["progress"]
    story.rectification = {
        "list_id": list_id,
        "unit": sc["unit"],
        "clue_number": clue["clue_number"],
        **figures,
    }
    s.say(
        f"整改台账 {sc['unit']}：事项 {figures['total']} 项（整改中 {figures['in_progress']}、"
        f"重新整改 {figures['reopened']}、已销号 {figures['closed']}）；已向党委报告整改情况"
    )
