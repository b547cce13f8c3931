"""Free text of a case (reasons, facts, notes) sealed with the case's key in every event:
read as written by the case's operators, unreadable once the case or its person is shredded."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text
from typer.testing import CliRunner

from libs.events import pii
from tests.conftest import Schemas
from tests.integration.casework.conftest import (
    DIRECTOR,
    LEADER,
    OFFICER,
    REVIEWER,
    SECRETARY,
    Casework,
)
from tests.integration.casework.test_personal_data import _sealed_clue
from zhengfeng.cli import app as cli

REASON = "欧阳明在春节期间收受承包商购物卡，拟予初核"
FACTS = "欧阳明收受购物卡二万元"


async def _stored(cw: Casework) -> str:
    async with cw.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
    return "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in rows)


async def _decided_with_words(cw: Casework, clue_id: object) -> None:
    for name, headers, body in (
        ("dispose", OFFICER, {"method": "preliminary_verification", "reason": REASON}),
        ("conclude_verification", OFFICER, {"outcome": "propose_filing"}),
        (
            "file_case",
            OFFICER,
            {"case_number": "AJ-T1", "subject": {"name": "欧阳明", "unit": "某县林业局"},
             "misconduct_date": "2026-01-10"},
        ),
        ("start_investigation", OFFICER, {}),
        ("transfer_for_review", OFFICER, {}),
        ("review_opinion", REVIEWER, {"form": 2, "measures": ["warning"], "facts": FACTS}),
    ):  # fmt: skip
        response = await cw.decided(clue_id, name, headers, **body)
        assert response.status_code == 200, response.text


async def test_reasons_and_facts_are_stored_sealed_and_read_as_written_by_the_cases_operators(
    cw: Casework,
) -> None:
    clue_id, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")
    await _decided_with_words(cw, clue_id)

    stored = await _stored(cw)
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    reasons = [e.get("reason") for e in timeline["events"]]

    assert REASON not in stored and FACTS not in stored
    assert f"{pii.MATTER_TEXT_PREFIX}{clue_id}." in stored  # the case's own key
    assert REASON in reasons  # the console's timeline reads e.reason as written
    assert pii.MATTER_TEXT_PREFIX not in json.dumps(timeline)
    verified = await cw.store.verify()
    assert verified.ok, verified


async def test_shredding_the_cases_person_makes_its_reasons_unreadable_and_verify_passes(
    cw: Casework,
) -> None:
    clue_id, ref = await _sealed_clue(cw, "欧阳明", "某县林业局")
    await _decided_with_words(cw, clue_id)
    vault = pii.Vault.from_env(cw.engine)
    assert str(clue_id) in await vault.matters_of(ref)

    await vault.shred(ref, by="test", reason="测试", now=pii.now())
    timeline = await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)
    case = await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)

    for answer in (timeline, case):
        assert answer.status_code == 200
        assert "欧阳明" not in answer.text and "购物卡" not in answer.text
    assert pii.SHREDDED in [e.get("reason") for e in timeline.json()["events"]]
    verified = await cw.store.verify()
    assert verified.ok, verified


async def test_a_shredded_case_key_alone_withholds_its_texts(cw: Casework) -> None:
    clue_id, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")
    await _decided_with_words(cw, clue_id)

    vault = pii.Vault.from_env(cw.engine)
    assert await vault.shred_matter(str(clue_id), by="test", reason="测试", now=pii.now())
    timeline = await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)

    assert REASON not in timeline.text and FACTS not in timeline.text
    assert pii.SHREDDED in timeline.text


async def test_the_cli_shreds_a_matters_texts_and_records_it(
    cw: Casework, database_url: str, schemas: Schemas
) -> None:
    clue_id, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")
    await _decided_with_words(cw, clue_id)
    intake_schema = next(s for s in schemas.created if s.startswith("t_intake"))
    env = {"DATABASE_URL": database_url, "ZF_INTAKE_DB_SCHEMA": intake_schema}
    order = ["pii", "shred", "--matter", str(clue_id), "--reason", "依法删除"]

    shred = await asyncio.to_thread(CliRunner().invoke, cli, order, env=env)
    again = await asyncio.to_thread(CliRunner().invoke, cli, order, env=env)
    timeline = await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)

    assert shred.exit_code == 0, shred.output
    assert again.exit_code == 1
    assert REASON not in timeline.text and pii.SHREDDED in timeline.text
    async with cw.engine.connect() as conn:
        recorded = (
            await conn.execute(
                text(
                    f'SELECT data FROM "{intake_schema}".events '
                    "WHERE type = 'zhengfeng.intake.personal_data_shredded'"
                )
            )
        ).scalar_one()
    assert recorded["matter"] == str(clue_id)
    assert "依法删除" not in json.dumps(recorded, ensure_ascii=False)  # sealed, and readable:
    vault = pii.Vault.from_env(cw.engine)
    assert await pii.open_texts(vault, recorded["reason"]) == "依法删除"  # not the case's key


async def test_a_meetings_attendees_are_stored_sealed_and_read_by_name_by_the_cases_operators(
    cw: Casework,
) -> None:
    clue_id = await cw.receive()
    await cw.decided(clue_id, "dispose", OFFICER, method="preliminary_verification")
    await cw.decided(clue_id, "conclude_verification", OFFICER, outcome="propose_filing")
    subject = {"name": "王五", "unit": "某县财政局"}
    proposed = await cw.command(
        clue_id, "file_case", OFFICER, case_number="青纪立〔2026〕9号", subject=subject, major=True
    )
    pid = proposed.json()["proposal_id"]
    for who in (DIRECTOR, LEADER):
        await cw.act(clue_id, pid, "approve", who)
    attendees = ["司马德胜", "诸葛文清", "operator:member-3"]
    minutes = {
        "session": "2026年第13次", "held_on": "2026-12-03", "attendees": attendees,
        "conclusion": "agree", "conclusion_text": "同意立案审查调查",
        "dissent": [{"attendee": "诸葛文清", "opinion": "建议先补充初核材料"}],
    }  # fmt: skip

    filed = await cw.act(clue_id, pid, "meeting", SECRETARY, **minutes)

    assert filed.status_code == 200, filed.text
    stored = await _stored(cw)
    assert "司马德胜" not in stored and "诸葛文清" not in stored
    assert "operator:member-3" not in stored  # an account id is sealed like a name
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    meeting = next(e for e in timeline["events"] if e["type"].endswith("meeting_recorded"))
    assert meeting["data"]["attendees"] == attendees
    assert meeting["data"]["dissent"][0]["attendee"] == "诸葛文清"
    verified = await cw.store.verify()
    assert verified.ok, verified
