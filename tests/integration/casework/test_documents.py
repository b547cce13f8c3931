"""文书: a decision issues its numbered document, which opens, names the person, is served,
and rendered again from the events has the hash it was issued with."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import docx
import pytest
from sqlalchemy import text

from libs.events import pii
from libs.kit import documents, files
from services.casework.documents import rerender
from tests.conftest import Schemas
from tests.integration.casework.conftest import LEADER, OFFICER, REVIEWER, Casework, running
from tests.integration.fixtures import sealed_clue

YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year


@pytest.fixture
async def cw(database_url: str, schemas: Schemas, tmp_path: Path) -> AsyncIterator[Casework]:
    async with running(database_url, schemas, documents_dir=tmp_path / "documents") as c:
        yield c


async def _sealed_clue(cw: Casework, name: str, unit: str = "某县林业局") -> UUID:
    """A clue whose reported person's name is sealed in the vault, assigned to the officer."""
    received = await sealed_clue(cw.engine, name, unit)
    clue_id = received.clue_id
    await cw.deliver(received, f"clue-{clue_id}")
    assigned = await cw.command(
        clue_id, "assign", LEADER, department="第一审查调查室", officer="duty-officer-1"
    )
    assert assigned.status_code == 200, assigned.text
    return clue_id


async def _documents(cw: Casework, case_id: UUID) -> list[dict]:
    listed = await cw.http.get(f"/v1/cases/{case_id}/documents", headers=LEADER)
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def test_inquiry_letter_is_numbered_opens_and_names_the_person(cw: Casework) -> None:
    case_id = await _sealed_clue(cw, "欧阳明")

    disposed = await cw.decided(case_id, "dispose", OFFICER, method="talk_or_inquiry")
    [listed] = await _documents(cw, case_id)
    download = await cw.http.get(listed["href"], headers=LEADER)

    assert disposed.status_code == 200, disposed.text
    assert disposed.json()["documents"][0]["number"] == f"青纪函〔{YEAR}〕1号"
    assert (listed["number"], listed["title"]) == (f"青纪函〔{YEAR}〕1号", "谈话函询通知书")
    assert download.status_code == 200
    assert download.headers["content-type"] == documents.MEDIA_TYPE
    assert hashlib.sha256(download.content).hexdigest() == listed["sha256"]
    lines = [p.text for p in docx.Document(io.BytesIO(download.content)).paragraphs]
    assert "中共青山市纪律检查委员会" in lines
    assert f"青纪函〔{YEAR}〕1号" in lines and "谈话函询通知书" in lines
    assert "欧阳明同志：" in lines
    stream = await cw.store.read_stream(f"clue-{case_id}")
    assert "欧阳明" not in json.dumps([r.envelope.data for r in stream], ensure_ascii=False)


async def test_a_document_is_sealed_at_rest_and_unreadable_once_its_person_is_shredded(
    cw: Casework,
) -> None:
    case_id = await _sealed_clue(cw, "欧阳明")
    await cw.decided(case_id, "dispose", OFFICER, method="talk_or_inquiry")
    [listed] = await _documents(cw, case_id)
    at_rest = files.path_of(cw.app.state.deps.documents.directory, listed["sha256"]).read_bytes()

    before = await cw.http.get(listed["href"], headers=LEADER)
    [person] = (await cw.http.get(f"/v1/cases/{case_id}", headers=LEADER)).json()[
        "reported_persons"
    ]
    await pii.Vault.from_env(cw.engine).shred(
        UUID(person["person_ref"]), by="test", reason="测试", now=pii.now()
    )
    after = await cw.http.get(listed["href"], headers=LEADER)

    assert pii.is_sealed_file(at_rest) and not at_rest.startswith(b"PK")
    assert hashlib.sha256(before.content).hexdigest() == listed["sha256"]  # plain bytes' hash
    assert after.status_code == 410 and "欧阳明" not in after.text


async def test_rendering_again_from_the_events_gives_the_issued_bytes(cw: Casework) -> None:
    case_id = await _sealed_clue(cw, "欧阳明")
    await cw.decided(case_id, "dispose", OFFICER, method="talk_or_inquiry")
    [listed] = await _documents(cw, case_id)
    deps = cw.app.state.deps

    records = await cw.store.read_stream(f"clue-{case_id}")
    again = await rerender(
        deps.documents, deps.rules, deps.vault, records, UUID(listed["document_id"])
    )

    assert hashlib.sha256(again).hexdigest() == listed["sha256"]
    # A file lost from the store is rendered again, checked and served all the same.
    os.remove(files.path_of(deps.documents.directory, listed["sha256"]))
    download = await cw.http.get(listed["href"], headers=LEADER)
    assert hashlib.sha256(download.content).hexdigest() == listed["sha256"]


async def test_numbers_are_gapless_per_kind_and_a_refused_decision_takes_none(
    cw: Casework,
) -> None:
    first, second, third = [await _sealed_clue(cw, n) for n in ("甲某", "乙某", "丙某")]
    await cw.decided(first, "dispose", OFFICER, method="talk_or_inquiry")
    refused = await cw.decided(second, "dispose", OFFICER, method="hold")  # no review date
    await cw.decided(second, "dispose", OFFICER, method="talk_or_inquiry")
    await cw.decided(third, "dispose", OFFICER, method="preliminary_verification")
    await cw.decided(third, "conclude_verification", OFFICER, outcome="propose_filing")

    assert refused.status_code == 422
    assert [d["number"] for d in await _documents(cw, second)] == [f"青纪函〔{YEAR}〕2号"]
    assert [d["number"] for d in await _documents(cw, third)] == [f"青纪核〔{YEAR}〕1号"]


async def test_a_number_taken_by_a_rolled_back_transaction_is_taken_again(cw: Casework) -> None:
    async with cw.engine.begin() as conn:
        assert await documents.allocate(conn, "filing_decision", 2030) == 1

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with cw.engine.begin() as conn:
            assert await documents.allocate(conn, "filing_decision", 2030) == 2
            raise Abandoned
    async with cw.engine.begin() as conn:
        assert await documents.allocate(conn, "filing_decision", 2030) == 2
        assert await documents.allocate(conn, "filing_decision", 2031) == 1
        assert await documents.allocate(conn, "inquiry_notice", 2030) == 1


async def test_downloading_a_document_is_a_recorded_read(cw: Casework) -> None:
    case_id = await _sealed_clue(cw, "欧阳明")
    await cw.decided(case_id, "dispose", OFFICER, method="talk_or_inquiry")
    [listed] = await _documents(cw, case_id)
    await cw.http.get(listed["href"], headers=LEADER)

    async with cw.engine.connect() as conn:
        views = (
            await conn.execute(
                text("SELECT actor, view FROM case_reads WHERE case_id = :c ORDER BY read_at"),
                {"c": case_id},
            )
        ).all()
    assert ("operator:leader-1", "documents") in views
    assert ("operator:leader-1", f"document:{listed['document_id']}") in views


async def test_serving_records_date_and_manner_once(cw: Casework) -> None:
    case_id = await _sealed_clue(cw, "欧阳明")
    await cw.decided(case_id, "dispose", OFFICER, method="talk_or_inquiry")
    [listed] = await _documents(cw, case_id)
    today = datetime.now(ZoneInfo("UTC")).date().isoformat()

    served = await cw.http.post(
        f"{listed['href']}/serve", json={"served_on": today, "manner": "direct"}, headers=OFFICER
    )
    again = await cw.http.post(
        f"{listed['href']}/serve", json={"served_on": today, "manner": "post"}, headers=OFFICER
    )
    [after] = await _documents(cw, case_id)
    timeline = (await cw.http.get(f"/v1/cases/{case_id}/timeline", headers=LEADER)).json()

    assert served.status_code == 200, served.text
    assert (after["served_on"], after["manner_label"]) == (today, "直接送达")
    assert again.status_code == 409 and again.json()["title"] == "送达不成立"
    assert "zhengfeng.documents.document_served" in [e["type"] for e in timeline["events"]]


OPINION = {
    "form": 2,
    "measures": ["serious_warning", "demerit"],
    "facts": "在工作日中午接受管理服务对象宴请。",
    "misconduct_date": "2026-01-10",
    "reason": "事实清楚，证据确凿，定性准确",
}


async def _to_review(cw: Casework, name: str) -> UUID:
    case_id = await _sealed_clue(cw, name)
    subject = {"name": name, "unit": "某县林业局", "post": "副局长"}
    for command, who, body in (
        ("dispose", OFFICER, {"method": "preliminary_verification"}),
        ("conclude_verification", OFFICER, {"outcome": "propose_filing"}),
        ("file_case", OFFICER, {"case_number": "林纪案-1", "subject": subject}),
        ("start_investigation", OFFICER, {}),
        ("transfer_for_review", OFFICER, {}),
    ):
        response = await cw.decided(case_id, command, who, **body)
        assert response.status_code == 200, response.text
    return case_id


async def _lines(cw: Casework, document: dict[str, Any]) -> list[str]:
    content = (await cw.http.get(document["href"], headers=LEADER)).content
    return [p.text for p in docx.Document(io.BytesIO(content)).paragraphs]


async def test_the_review_opinion_issues_the_review_report_and_the_decision_rests_on_it(
    cw: Casework,
) -> None:
    case_id = await _to_review(cw, "欧阳明")
    early = await cw.command(case_id, "decide", REVIEWER, form=2, measures=["warning"])
    by_officer = await cw.command(case_id, "review_opinion", OFFICER, **OPINION)

    proposed = await cw.command(case_id, "review_opinion", REVIEWER, **OPINION)
    chain = [s["label"] for s in proposed.json()["steps"]]
    given = await cw.approve_all(case_id, proposed.json()["proposal_id"])
    [report] = [d for d in await _documents(cw, case_id) if d["title"] == "审理报告"]
    lines = await _lines(cw, report)

    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "review_opinion"
    assert by_officer.status_code == 403
    assert chain == ["审理室主任审核", "分管领导审批"]
    assert given.json()["status"] == "review" and given.json()["review_opinion"]["form"] == 2
    assert (report["number"], report["command"]) == (f"青纪审〔{YEAR}〕1号", "review_opinion")
    assert "关于欧阳明问题的审理报告" in lines
    assert any("在工作日中午接受管理服务对象宴请" in line for line in lines)
    assert any("第二种形态处理，给予欧阳明严重警告、记过" in line for line in lines)
    decided = await cw.decided(case_id, "decide", REVIEWER, form=2, measures=["warning"])
    assert decided.status_code == 200 and decided.json()["status"] == "decided"


async def test_a_sanction_issues_its_review_report_and_decisions_and_service_starts_the_clock(
    cw: Casework,
) -> None:
    case_id = await _to_review(cw, "欧阳明")
    await cw.decided(case_id, "review_opinion", REVIEWER, **OPINION)

    decided = await cw.decided(
        case_id,
        "decide",
        REVIEWER,
        form=2,
        measures=["serious_warning", "demerit"],
        misconduct_date="2026-01-10",
    )
    documents_ = await _documents(cw, case_id)
    by_title = {d["title"]: d for d in documents_}
    party = by_title["党纪处分决定书"]
    lines = [
        p.text
        for p in docx.Document(
            io.BytesIO((await cw.http.get(party["href"], headers=LEADER)).content)
        ).paragraphs
    ]
    today = datetime.now(UTC).date().isoformat()
    served = await cw.http.post(
        f"{party['href']}/serve", json={"served_on": today, "manner": "post"}, headers=OFFICER
    )

    assert decided.status_code == 200, decided.text
    assert [d["number"] for d in documents_] == [
        f"青纪核〔{YEAR}〕1号",
        f"青纪立〔{YEAR}〕1号",
        f"青纪查〔{YEAR}〕1号",
        f"青纪审〔{YEAR}〕1号",
        f"青纪处〔{YEAR}〕1号",
        f"青监政处〔{YEAR}〕1号",
    ]
    assert "关于给予欧阳明严重警告处分的决定" in lines and "青山市监察委员会" not in lines
    assert "decision_service" in decided.json()["deadlines"]
    assert served.status_code == 200, served.text
    assert served.json()["decision_served_on"] == today
    assert "decision_service" not in served.json()["deadlines"]


async def test_the_reexamination_decision_is_issued_and_its_service_opens_the_recheck_window(
    cw: Casework,
) -> None:
    case_id = await _to_review(cw, "欧阳明")
    await cw.decided(case_id, "review_opinion", REVIEWER, **OPINION)
    await cw.decided(
        case_id,
        "decide",
        REVIEWER,
        form=2,
        measures=["serious_warning"],
        misconduct_date="2026-01-10",
    )
    appealed = await cw.command(case_id, "appeal", OFFICER, kind="reexamination")
    reexamined = await cw.command(case_id, "decide_appeal", LEADER, result="upheld")
    [decision] = [d for d in await _documents(cw, case_id) if d["title"] == "复审决定书"]
    lines = await _lines(cw, decision)
    today = datetime.now(UTC).date().isoformat()
    served = await cw.http.post(
        f"{decision['href']}/serve", json={"served_on": today, "manner": "direct"}, headers=OFFICER
    )

    assert appealed.status_code == 200, appealed.text
    assert reexamined.status_code == 200, reexamined.text
    assert decision["number"] == f"青纪复〔{YEAR}〕1号"
    assert "经复审，决定维持原处分决定。" in lines
    assert any("1个月内，向上一级纪检监察机关申请复核" in line for line in lines)
    assert served.status_code == 200, served.text
    assert served.json()["reexamination_served_on"] == today
    assert "appeal" in served.json()["allowed_commands"]  # 复核, from today for a month


async def test_clearing_a_name_issues_the_notice_that_names_the_person(cw: Casework) -> None:
    case_id = await _sealed_clue(cw, "欧阳明")
    for command, body in (
        ("dispose", {"method": "talk_or_inquiry"}),
        ("record_reply", {}),
        ("evaluate_reply", {"outcome": "clear"}),
        ("clear_name", {"false_accusation": True}),
    ):
        response = await cw.decided(case_id, command, OFFICER, **body)
        assert response.status_code == 200, response.text

    notice = (await _documents(cw, case_id))[-1]
    lines = [
        p.text
        for p in docx.Document(
            io.BytesIO((await cw.http.get(notice["href"], headers=LEADER)).content)
        ).paragraphs
    ]

    assert (notice["title"], notice["number"]) == ("澄清正名通知", f"青纪澄〔{YEAR}〕1号")
    assert "关于为欧阳明同志澄清正名的通知" in lines
    assert any("诬告陷害" in line for line in lines)
