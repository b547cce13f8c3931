"""``zhengfeng demo`` against the four services running as processes.

The demo runs as a user would run it (the CLI, in its own process); then the test looks
at each act's outcome the way a user would, through the services' HTTP APIs.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.events import kafka, pii
from libs.kit.db import make_engine
from services.accountability.domain.surveys import load_questionnaires
from tests.e2e.conftest import ROOT, Platform
from zhengfeng.demo.long_term import ANSWERS

DEMO_WITHIN = 600


@pytest.fixture(scope="module")
def demo_run(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the demo: its exit code, output, story and the operators' tokens."""
    data_dir = tmp_path_factory.mktemp("demo")
    story_path = data_dir / "story.json"
    result = subprocess.run(
        [sys.executable, "-m", "zhengfeng", "demo", "--data-dir", str(data_dir),
         "--seed", "7", "--run", "T1", "--summary-json", str(story_path)],
        env={**platform.env, "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_WITHIN,
    )  # fmt: skip
    print(result.stdout, result.stderr)  # shown with -s, and with a failure
    accounts = json.loads((data_dir / "demo-accounts.json").read_text())
    story = json.loads(story_path.read_text()) if story_path.exists() else {}
    return {"result": result, "story": story, "accounts": accounts, "data_dir": str(data_dir)}


def operator(platform: Platform, demo_run: dict[str, Any], who: str) -> dict[str, str]:
    cred = demo_run["accounts"][who]
    r = httpx.post(
        platform.url("intake", "/oauth/token"),
        data={"grant_type": "password", "username": cred["client_id"],
              "password": cred["client_secret"]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def partner(platform: Platform, demo_run: dict[str, Any], who: str) -> dict[str, str]:
    cred = demo_run["accounts"][who]
    r = httpx.post(
        platform.url("intake", "/oauth/token"),
        data={"grant_type": "client_credentials", "client_id": cred["client_id"],
              "client_secret": cred["client_secret"]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_demo_plays_every_act_and_ends_with_the_summary(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    result: subprocess.CompletedProcess[str] = demo_run["result"]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    for act in (
        "第一幕",
        "第四幕",
        "第八幕",
        "第九幕",
        "第十幕",
        "小结",
        "整改台账",
        "长效机制",
        "事件存储",
        "去看看",
    ):
        assert act in result.stdout
    assert platform.url("casework", "/v1/clues") in result.stdout


def test_each_act_left_its_outcome_where_a_user_would_look(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    story = demo_run["story"]
    clerk = operator(platform, demo_run, "clerk")
    leader = operator(platform, demo_run, "leader")
    acc = operator(platform, demo_run, "accountability")

    # Act 1-3: every clue is in casework's ledger; the retried transfer was not a second clue.
    assert story["duplicate_replayed"] is True
    ledger = httpx.get(
        platform.url("casework", "/v1/clues"), params={"limit": 200}, headers=clerk
    ).json()["items"]
    numbers = [c["clue_number"] for c in ledger]
    for role in ("audit", "tax", "police", "real_name", "anonymous", "hotline"):
        assert numbers.count(story["clues"][role]["clue_number"]) == 1, role
    audit_refs = [
        c for c in ledger if c["source_reference"] == story["clues"]["audit"]["reference"]
    ]
    assert len(audit_refs) == 1

    # Act 1: the tax bureau's report on the same person joined the audit clue as a repeat.
    repeat = story["clues"]["repeat"]
    assert repeat["status"] == "merged"
    assert repeat["clue_number"] not in numbers
    audit_clue = httpx.get(
        platform.url("intake", f"/v1/clues/{story['clues']['audit']['clue_id']}"), headers=clerk
    ).json()
    assert audit_clue["repeat_count"] == 1

    # Act 1: the clue about a 市管干部 in a county unit was forwarded up to the city (干部管理权限).
    forwarded = story["clues"]["forwarded"]
    jurisdiction = httpx.get(
        platform.url("intake", f"/v1/clues/{forwarded['clue_id']}/jurisdiction"), headers=clerk
    ).json()
    assert (jurisdiction["status"], jurisdiction["forwarded"]["authority"]) == (
        "forwarded",
        "市纪委监委",
    )
    assert jurisdiction["findings"][0]["cadre_label"] == "市管干部"
    audit = partner(platform, demo_run, "audit")
    seen = httpx.get(
        platform.url("intake", f"/v1/clue-transfers/{forwarded['clue_id']}"), headers=audit
    ).json()
    assert seen["status"] == "forwarded"

    # Act 2: the anonymous reporter sees the clerk's answer and the progress of the report.
    secret = {"X-Report-Secret": "qingshan-demo-2026"}
    code = story["receipt_code"]
    messages = httpx.get(platform.url("intake", f"/v1/reports/{code}/messages"), headers=secret)
    assert [m["author"] for m in messages.json()] == ["举报人", "信访室"], messages.text
    status = httpx.get(platform.url("intake", f"/v1/reports/{code}"), headers=secret).json()
    assert status["status"] == "disposed"

    # Act 4: alerts on the board, the verified one confirmed and in the ledger.
    board = httpx.get(
        platform.url("analysis", "/v1/alerts"), params={"limit": 200}, headers=leader
    ).json()["items"]
    assert len(board) >= story["planted"] > 0
    verified = story["verified_alert"]
    alert = httpx.get(
        platform.url("analysis", f"/v1/alerts/{verified['alert_id']}"), headers=leader
    ).json()
    assert (alert["level"], alert["finding"]) == ("red", "confirmed")
    assert alert["clue_id"] in {c["clue_id"] for c in ledger}

    # Act 5: the case decided (form 2), the other clues disposed of.
    case = httpx.get(
        platform.url("casework", f"/v1/cases/{story['case']['case_id']}"), headers=leader
    ).json()
    assert (case["status"], case["form"], case["case_number"]) == (
        "decided",
        2,
        "青纪立〔2026〕T1号",
    )
    # Its decisions were signed: the disposal returned once and proposed again, the 审理
    # opinion by the 审理室主任 and the leader, the filing and the decision decided by the
    # 常委会 in a recorded meeting.
    timeline = httpx.get(
        platform.url("casework", f"/v1/cases/{story['case']['case_id']}/timeline"),
        headers=leader,
    ).json()["events"]
    kinds = [e["type"].rsplit(".", 1)[-1] for e in timeline]
    assert kinds.count("proposal_returned") == 1 and kinds.count("proposal_resubmitted") == 1
    assert kinds.count("meeting_recorded") == 2
    assert kinds.count("proposal_took_effect") == kinds.count("proposal_submitted") == 6
    by_number = {c["clue_number"]: c for c in ledger}
    assert by_number[story["clues"]["tax"]["clue_number"]]["status"] == "closed"
    assert by_number[story["clues"]["police"]["clue_number"]]["status"] == "on_hold"

    # Act 6: the decision's inquiry, concluded with the 诫勉 in effect.
    inquiry = httpx.get(
        platform.url("accountability", f"/v1/inquiries/{story['inquiry']['inquiry_id']}"),
        headers=acc,
    ).json()
    assert inquiry["trigger"]["case_ids"] == [story["case"]["case_id"]]
    assert inquiry["status"] == "concluded"
    assert [(m["party_id"], m["measure"], m["status"]) for m in inquiry["measures"]] == [
        ("department_leader", "admonition", "in_effect")
    ]

    # The decisions' documents: numbered, listed on their matters, downloadable by hash.
    titles = [d["title"] for d in story["documents"]]
    for title in ("谈话函询通知书", "立案决定书", "审理报告", "党纪处分决定书", "问责决定书"):
        assert title in titles, title
    sanction = next(d for d in story["documents"] if d["title"] == "党纪处分决定书")
    assert sanction["number"].startswith("青纪处〔") and sanction["number"].endswith("号")
    issued = httpx.get(platform.url("casework", sanction["href"]), headers=leader)
    assert hashlib.sha256(issued.content).hexdigest() == sanction["sha256"]

    # Act 7: the unit's rating counts the alerts and then the decision.
    unit = story["case"]["unit"]
    rating = httpx.get(
        platform.url("accountability", f"/v1/units/{unit}/rating"), headers=acc
    ).json()
    before, after = story["ratings"]["before"], story["ratings"]["after_decision"]
    assert rating["inputs"]["case"] == 1
    assert rating["score"] == after["score"] > before["score"]
    assert rating["level"] == after["level"] != before["level"]

    # Act 9: the 巡察组's findings are the unit's list; a 回头看 reopened the 立行立改 item.
    rect = story["rectification"]
    listed = httpx.get(
        platform.url("accountability", f"/v1/rectifications/{rect['list_id']}"), headers=acc
    ).json()
    assert listed["source"]["kind_label"] == "巡察" and listed["progress"]["total"] == 2
    reopened = listed["items"][0]
    assert (reopened["round"], reopened["status_label"]) == (2, "整改中")
    assert [h["action"] for h in reopened["history"]][-2:] == ["回头看", "重新整改"]
    assert rect["reopened"] == 1
    desk = httpx.get(
        platform.url("intake", "/v1/clues"), params={"source_kind": "inspection"}, headers=clerk
    ).json()["items"]
    assert rect["clue_number"] in [c["clue_number"] for c in desk]


def test_the_demo_countys_monthly_statistics_count_the_four_forms_as_counted_by_hand(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    story, leader = demo_run["story"], operator(platform, demo_run, "leader")
    # By hand: the tax clue's reply ended in 谈话提醒 (形态一, on the clue); the audit case
    # was decided under 形态二 (严重警告); the real-name report's case under 形态四 (开除党籍、
    # 开除公职) and transferred to the procuratorate. Nothing under 形态三.
    tax = httpx.get(
        platform.url("casework", f"/v1/cases/{story['clues']['tax']['clue_id']}"), headers=leader
    ).json()
    assert (tax["status"], tax["form"], tax["measures"]) == ("closed", 1, ["talk_reminder"])
    prosecuted = httpx.get(
        platform.url("casework", f"/v1/cases/{story['prosecution']['case_id']}"), headers=leader
    ).json()
    assert (prosecuted["status"], prosecuted["form"]) == ("prosecuted", 4)
    assert prosecuted["procuratorate"] == "青山县人民检察院"

    stats = httpx.get(
        platform.url("accountability", "/v1/reports/monthly"),
        params={"month": story["monthly"]["month"]},
        headers=leader,
    ).json()
    assert [(r["label"], r["count"], r["on_clues"]) for r in stats["by_form"]] == [
        ("第一种形态", 1, 1),
        ("第二种形态", 1, 0),
        ("第三种形态", 0, 0),
        ("第四种形态", 1, 0),
    ]
    assert stats["decided"] == 2 and stats["first_form_on_clues"] == 1


def test_the_long_term_act_analyses_appraises_and_answers_the_organisation_department(
    demo_run: dict[str, Any],
) -> None:
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    lt = demo_run["story"]["long_term"]
    # The schedule issued the last ended quarter's analysis; the demo printed it.
    assert lt["analysis"]["number"].startswith("青纪析〔") and lt["analysis"]["reports"] >= 3
    assert (
        f"定期分析报告（调度自动生成，每期一次）：{lt['analysis']['label']}"
        in demo_run["result"].stdout
    )
    assert lt["appraisal"]["units"] >= 1 and lt["appraisal"]["interviews"] >= 1
    # The case's 严重警告 is inside its 影响期: the reply states it.
    assert lt["integrity_reply"] == {**lt["integrity_reply"], "conclusion": "in_effect"}
    assert lt["integrity_reply"]["statements"] >= 1


def test_a_second_round_on_the_same_platform_adds_a_new_round_without_duplicates(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    assert demo_run["result"].returncode == 0
    data_dir = Path(demo_run["data_dir"])
    again = subprocess.run(
        [sys.executable, "-m", "zhengfeng", "demo", "--data-dir", str(data_dir),
         "--seed", "7", "--run", "T2", "--summary-json", str(data_dir / "story2.json")],
        env={**platform.env, "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_WITHIN,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-6000:]
    first, second = demo_run["story"], json.loads((data_dir / "story2.json").read_text())
    leader = operator(platform, demo_run, "leader")

    # New references make new clues and a new case; the same feeds add no rows and no alerts.
    assert second["clues"]["audit"]["clue_number"] != first["clues"]["audit"]["clue_number"]
    assert second["case"]["case_id"] != first["case"]["case_id"]
    assert all(f["replayed"] for f in second["feeds"].values())
    assert not any(f["replayed"] for f in first["feeds"].values())
    assert second["alerts"]["total"] == first["alerts"]["total"]
    assert second["verified_alert"]["alert_id"] != first["verified_alert"]["alert_id"]
    assert second["inquiry"]["inquiry_id"] != first["inquiry"]["inquiry_id"]
    board = httpx.get(
        platform.url("analysis", "/v1/alerts"), params={"limit": 200}, headers=leader
    ).json()["items"]
    assert len(board) == first["alerts"]["total"]
    assert second["ratings"]["after_decision"]["inputs"]["case"] == 2


def test_the_services_logs_of_the_demo_hold_no_receipt_code_token_or_secret(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    secrets = [demo_run["story"]["receipt_code"]]
    secrets += [c["client_secret"] for c in demo_run["accounts"].values()]
    logs = {p.name: p.read_text(errors="replace") for p in platform.log_dir.glob("*.log")}
    assert logs, "the services wrote no logs"
    assert "/v1/reports/[redacted]" in "".join(logs.values()), "the demo's report was looked up"
    for name, text in logs.items():
        leaked = [s for s in secrets if s and s in text]
        assert leaked == [], f"{name} logs {len(leaked)} secret(s), e.g. a receipt code or key"


def _seeded_persons() -> set[str]:
    """Every person the demo's scenario names: reported persons, case subjects, reporters,
    leaders (a department's name is not a person)."""
    scenario = json.loads((ROOT / "zhengfeng" / "demo" / "scenario.json").read_text())
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            if isinstance(value.get("name"), str) and key != "partners":
                found.add(value["name"])
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    walk(scenario)
    return {n for n in found if 2 <= len(n) <= 4}


def test_no_topic_carries_a_demo_persons_name_in_clear(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    # What any subscriber of the platform's topics reads, with a plain Kafka client.
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    persons = _seeded_persons()
    assert {"王建国", "陈秀英", "刘卫东"} <= persons  # the scenario's own people

    async def read_all() -> dict[str, list[str]]:
        topics = {}
        for service in kafka.SERVICES:
            topic = f"{platform.prefix}.{service}.events"  # this platform's topics
            records = await kafka.read_whole_topic(platform.bootstrap, topic)
            topics[topic] = [
                (r.value or b"").decode(errors="replace")
                + "".join(v.decode(errors="replace") for _k, v in r.headers)
                for r in records
            ]
        return topics

    topics = asyncio.run(read_all())

    assert sum(len(records) for records in topics.values()) > 100
    leaks = {
        topic: sorted({name for text in records for name in persons if name in text})
        for topic, records in topics.items()
    }
    assert {t: names for t, names in leaks.items() if names} == {}


_TEXT_KEYS = frozenset(
    {"narrative", "content", "facts", "summary", "problem", "suggestion", "progress", "urge",
     "accountability", "relapse", "reason", "reasons", "note", "comment", "description",
     "place"}
)  # fmt: skip
"""Keys under which the demo writes free text about its matters (a clue's place included:
where can say who)."""


def _survey_words() -> set[str]:
    """The free answers the demo's respondents write (the questionnaire's ``text``
    questions): a respondent's words can name a person."""
    free = {
        q["code"]
        for questionnaire in load_questionnaires().values()
        for q in questionnaire["questions"]
        if q["kind"] == "text"
    }
    return {a[c] for a in ANSWERS for c in free if isinstance(a.get(c), str) and a[c]}


def _seeded_texts() -> set[str]:
    """Every narrative, reason, note, finding and free survey answer the demo writes: from
    its scenario and from the command bodies its acts send (read from the demo's own code,
    not listed here)."""
    found: set[str] = _survey_words()

    def keep(key: str, value: Any) -> None:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if key in _TEXT_KEYS and isinstance(v, str) and len(v) >= 6:
                found.add(v)

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                keep(k, v)
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    walk(json.loads((ROOT / "zhengfeng" / "demo" / "scenario.json").read_text()))
    for source in (ROOT / "zhengfeng" / "demo").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        if isinstance(v, ast.Constant):
                            keep(k.value, v.value)
                        elif isinstance(v, ast.List):
                            for item in v.elts:
                                if isinstance(item, ast.Constant):
                                    keep(k.value, item.value)
    return found


def _read_topics(platform: Platform) -> dict[str, list[str]]:
    async def read_all() -> dict[str, list[str]]:
        topics = {}
        for service in kafka.SERVICES:
            topic = f"{platform.prefix}.{service}.events"
            records = await kafka.read_whole_topic(platform.bootstrap, topic)
            topics[topic] = [
                (r.value or b"").decode(errors="replace")
                + "".join(v.decode(errors="replace") for _k, v in r.headers)
                for r in records
            ]
        return topics

    return asyncio.run(read_all())


def test_no_topic_carries_a_demo_narrative_reason_or_finding_in_clear(
    platform: Platform, demo_run: dict[str, Any]
) -> None:
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    texts = _seeded_texts()
    assert {"审计移送，证据较具体", "事实清楚，证据确凿，定性准确"} <= texts  # the acts' own words
    assert "窗口办事要一次说清" in texts  # a respondent's free answer to the 民主评议
    assert "青山县城关镇" in texts  # a clue's place
    assert any("王建国" in t for t in texts)  # the scenario's narratives

    topics = _read_topics(platform)

    assert sum(len(records) for records in topics.values()) > 100
    leaks = {
        topic: sorted({t for record in records for t in texts if t in record})
        for topic, records in topics.items()
    }
    assert {t: found for t, found in leaks.items() if found} == {}
    sealed = sum(record.count(pii.MATTER_TEXT_PREFIX) for rs in topics.values() for record in rs)
    assert sealed > 50  # they travel, sealed with their matters' keys


def test_shredding_the_case_subject_makes_the_cases_reasons_unreadable_and_verify_passes(
    platform: Platform, demo_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Last in this file: it destroys a demo person's key.
    assert demo_run["result"].returncode == 0, demo_run["result"].stdout[-4000:]
    scenario = json.loads((ROOT / "zhengfeng" / "demo" / "scenario.json").read_text())
    subject = scenario["case"]["subject"]
    case_id = demo_run["story"]["clues"]["audit"]["clue_id"]
    leader = operator(platform, demo_run, "leader")
    reason = "事实清楚，证据确凿，定性准确"

    def timeline() -> httpx.Response:
        answer = httpx.get(
            platform.url("casework", f"/v1/cases/{case_id}/timeline"), headers=leader
        )
        assert answer.status_code == 200, answer.text
        return answer

    for name, value in platform.env.items():
        monkeypatch.setenv(name, value)

    async def open_case_tokens(topics: dict[str, list[str]]) -> list[str | None]:
        engine = make_engine(platform.database_url, "public", pooled=False)
        try:
            vault = pii.Vault.from_env(engine)
            tokens = {
                found[0]
                for records in topics.values()
                for record in records
                for found in pii.MATTER_TEXT.finditer(record)
                if found["context"] == case_id
            }
            return [await vault.open_matter_text(t) for t in sorted(tokens)]
        finally:
            await engine.dispose()

    def clue() -> httpx.Response:
        return httpx.get(
            platform.url("intake", f"/v1/clues/{case_id}"),
            params={"reveal": "true", "purpose": "核查销毁"},
            headers=leader,
        )

    before = timeline()
    topics = _read_topics(platform)
    readable = asyncio.run(open_case_tokens(topics))
    # The partner sent an ID number, the case was filed by name and unit: both keys go.
    [reported] = clue().json()["reported_persons"]

    shred = platform.cli(
        "pii", "shred", "--name", subject["name"], "--unit", subject["unit"],
        "--id-number", reported["id_number"], "--reason", "依法删除", check=False,
    )  # fmt: skip
    after = timeline()
    read = clue()
    unreadable = asyncio.run(open_case_tokens(topics))
    verified = platform.cli("verify", check=False)

    assert reason in before.text  # the operator's timeline shows the reason as written
    assert readable and all(t is not None for t in readable)
    assert shred.returncode == 0, shred.stdout + shred.stderr
    assert reason not in after.text and subject["name"] not in after.text
    assert pii.SHREDDED in [e.get("reason") for e in after.json()["events"]]
    assert read.status_code == 200 and subject["name"] not in read.text
    assert reported["id_number"] not in read.text
    assert read.json()["narrative"] == pii.SHREDDED
    assert len(unreadable) == len(readable) and set(unreadable) == {None}  # in the topics too
    assert verified.returncode == 0, verified.stdout + verified.stderr
