"""审批 in the demo: a proposal is signed step by step by the accounts holding each role;
a return sends it back to the officer, who amends and resubmits it; the 常委会 records its
meeting."""

from __future__ import annotations

from datetime import date
from typing import Any

from zhengfeng.demo.setup import Session

SIGNER = {"director": "director", "leader": "leader", "secretary": "secretary"}
"""Which demo account signs a step of each role."""

OPINION = {"agree": "同意", "disagree": "不同意", "return": "退回修改"}


def _act(
    s: Session,
    service: str,
    player: str,
    proposal: dict[str, Any],
    action: str,
    body: dict[str, Any],
    key: str,
) -> dict[str, Any]:
    matter = proposal["location"].split("/proposals/")[0]
    r = s.command(player, service, f"{proposal['location']}/{action}", matter, body, key=key)
    out: dict[str, Any] = r.json()
    return out


def _minutes(s: Session, proposal: dict[str, Any]) -> dict[str, Any]:
    attendees = [f"operator:{s.creds[p]['client_id']}" for p in ("secretary", "leader", "director")]
    return {
        "session": f"{date.today().year}年第{len(proposal['body'].get('reason', '')) % 20 + 1}次",
        "held_on": date.today().isoformat(),
        "attendees": attendees,
        "conclusion": "agree",
        "conclusion_text": "会议研究，同意",
        "dissent": [{"attendee": attendees[2], "opinion": "建议进一步核实细节后再定"}],
    }


def sign_off(
    s: Session,
    key: str,
    proposal: dict[str, Any],
    *,
    return_at: int | None = None,
    amend: dict[str, Any] | None = None,
    service: str = "casework",
    proposer: str = "officer",
) -> dict[str, Any]:
    """Walk a proposal through its chain; the step ``return_at`` returns it once (the
    officer resubmits ``amend``). The answer of the effect: the matter after it."""
    answer = proposal
    while "proposal_id" in answer:
        step = answer["current_step"]
        tag = f"{key}-{answer['round']}-{step['index']}"
        player = SIGNER[step["role"]]
        if step["kind"] == "meeting":
            minutes = _minutes(s, answer)
            answer = _act(s, service, player, answer, "meeting", minutes, tag)
            s.say(f"  {step['label']}：{minutes['session']}会议研究，同意（不同意见 1 条载入纪要）")
        elif return_at == step["index"] and answer["round"] == 1:
            why = "请补充核实方案和证据清单后再报"
            answer = _act(
                s, service, player, answer, "approve", {"opinion": "return", "comment": why}, tag
            )
            s.say(f"  {step['label']}：[bold]{OPINION['return']}[/]（{why}）")
            body = {**answer["body"], **(amend or {})}
            again = {"body": body, "comment": "已补充"}
            answer = _act(s, service, proposer, answer, "resubmit", again, f"{tag}-again")
            s.say("  承办人修改后重新提交，审批链重新开始")
        else:
            agree = {"opinion": "agree", "comment": "同意"}
            answer = _act(s, service, player, answer, "approve", agree, tag)
            s.say(f"  {step['label']}：同意")
    return answer
