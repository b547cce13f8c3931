"""Sealed reported persons (ClueReceived v3): masked in answers, revealed to allowed roles."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID, uuid4

from sqlalchemy import text
from typer.testing import CliRunner

from libs.events import pii
from libs.events.contracts import registry
from libs.events.contracts.casework import CaseFiled
from tests.conftest import Schemas
from tests.integration.casework.conftest import (
    LEADER,
    OFFICER,
    OTHER_OFFICER,
    REVIEWER,
    Casework,
)
from tests.integration.fixtures import sealed_clue
from zhengfeng.cli import app as cli


async def _sealed_clue(cw: Casework, name: str, unit: str) -> tuple:
    received = await sealed_clue(cw.engine, name, unit)
    clue_id, ref = received.clue_id, received.reported_persons[0].person_ref
    await cw.deliver(received, f"clue-{clue_id}")
    return clue_id, ref


async def test_sealed_names_are_masked_unless_an_allowed_reader_reveals_them(cw: Casework) -> None:
    clue_id, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")

    masked = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    shown = (
        await cw.http.get(f"/v1/cases/{clue_id}", params={"reveal": "true"}, headers=LEADER)
    ).json()
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    refused = await cw.http.get(
        f"/v1/cases/{clue_id}", params={"reveal": "true"}, headers=OTHER_OFFICER
    )

    assert masked["reported_persons"][0]["name"] == pii.mask_name("欧阳明")
    assert "sealed" not in masked["reported_persons"][0]
    assert shown["reported_persons"][0]["name"] == "欧阳明"
    assert "欧阳明" not in str(timeline)
    assert refused.status_code == 403
    async with cw.engine.connect() as conn:
        accessed = (
            (
                await conn.execute(
                    text(
                        "SELECT actor FROM events WHERE type = 'zhengfeng.intake.personal_data_accessed'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert accessed == ["operator:leader-1"]


async def test_repeat_report_on_a_sealed_person_goes_back_to_the_owning_leader(
    cw: Casework,
) -> None:
    first, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")
    owned = await cw.command(
        first, "assign", LEADER, department="第二审查调查室", officer="officer-7", leader="leader-1"
    )
    assert owned.status_code == 200, owned.text
    other_person, _ = await _sealed_clue(cw, "欧阳亮", "某县林业局")  # same mask, other person
    repeat, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")

    again = (await cw.http.get(f"/v1/cases/{repeat}", headers=LEADER)).json()
    different = (await cw.http.get(f"/v1/cases/{other_person}", headers=LEADER)).json()

    assert (again["leader"], again["officer"]) == ("leader-1", "officer-7")
    assert different["leader"] is None


async def _stored_text(cw: Casework) -> str:
    """Every event casework stored, as readable text (names as they are, not escaped)."""
    async with cw.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
    return "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in rows)


async def _filed_and_decided(cw: Casework, clue_id: UUID, subject: dict[str, str]) -> None:
    for name, headers, body in (
        ("dispose", OFFICER, {"method": "preliminary_verification"}),
        ("conclude_verification", OFFICER, {"outcome": "propose_filing"}),
        (
            "file_case",
            OFFICER,
            {
                "case_number": f"AJ-{clue_id.hex[:6]}",
                "subject": subject,
                "misconduct_date": "2026-01-10",
            },
        ),
        ("start_investigation", OFFICER, {}),
        ("transfer_for_review", OFFICER, {}),
        ("review_opinion", REVIEWER, {"form": 2, "measures": ["warning"], "facts": "收受礼金"}),
        ("decide", REVIEWER, {"form": 2, "measures": ["warning"]}),
    ):
        response = await cw.decided(clue_id, name, headers, **body)
        assert response.status_code == 200, response.text


async def test_the_case_subject_is_sealed_from_filing_to_decision(cw: Casework) -> None:
    name, id_number = "欧阳明", "330102199001011234"
    clue_id, _ = await _sealed_clue(cw, name, "某县林业局")
    subject = {"name": name, "unit": "某县林业局", "id_number": id_number}

    await _filed_and_decided(cw, clue_id, subject)
    masked = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    shown = (
        await cw.http.get(f"/v1/cases/{clue_id}", params={"reveal": "true"}, headers=LEADER)
    ).json()
    timeline = (await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)).json()
    stored = await _stored_text(cw)

    assert name not in stored and id_number not in stored
    assert name not in str(timeline) and id_number not in str(timeline)
    assert masked["subject"]["name"] == "欧**" and "sealed" not in masked["subject"]
    assert masked["subject"]["id_number"] != id_number
    assert (shown["subject"]["name"], shown["subject"]["id_number"]) == (name, id_number)


async def test_a_shredded_subject_leaves_no_readable_trace_in_casework(cw: Casework) -> None:
    name = "欧阳明"
    clue_id, ref = await _sealed_clue(cw, name, "某县林业局")
    await _filed_and_decided(cw, clue_id, {"name": name, "unit": "某县林业局"})

    await pii.Vault.from_env(cw.engine).shred(ref, by="test", reason="测试", now=pii.now())
    shown = await cw.http.get(f"/v1/cases/{clue_id}", params={"reveal": "true"}, headers=LEADER)
    timeline = await cw.http.get(f"/v1/cases/{clue_id}/timeline", headers=LEADER)
    listed = await cw.http.get("/v1/cases", headers=LEADER)

    for answer in (shown, timeline, listed):
        assert answer.status_code == 200 and name not in answer.text
    # Named by name and unit, the subject is the reported person: one key shreds both.
    assert shown.json()["subject"]["name"] == pii.SHREDDED


async def test_a_case_filed_before_sealing_still_reads_with_its_subject_masked() -> None:
    old = {
        "case_id": str(uuid4()),
        "case_number": "青纪立〔2025〕9号",
        "clue_ids": [],
        "subject": {"name": "王五", "unit": "某县财政局"},
        "categories": ["violation_dining"],
        "filed_by": "operator:officer-1",
        "filed_at": "2025-06-01T08:00:00+00:00",
    }

    filed = registry.decode(CaseFiled.type_name, 1, old)

    assert isinstance(filed, CaseFiled) and filed.subject.name == "王五"
    assert filed.subject.sealed == {} and filed.subject.person_ref is None
    assert pii.scrubbed(filed.model_dump(mode="json"))["subject"]["name"] == "王*"


async def test_the_cli_shreds_a_person_found_by_name_and_unit(
    cw: Casework, database_url: str, schemas: Schemas
) -> None:
    name = "欧阳明"
    clue_id, ref = await _sealed_clue(cw, name, "某县林业局")
    await _filed_and_decided(cw, clue_id, {"name": name, "unit": "某县林业局"})
    intake_schema = next(s for s in schemas.created if s.startswith("t_intake"))
    env = {"DATABASE_URL": database_url, "ZF_INTAKE_DB_SCHEMA": intake_schema}
    order = ["pii", "shred", "--name", name, "--unit", "某县林业局", "--reason", "依法删除"]

    shred = await asyncio.to_thread(CliRunner().invoke, cli, order, env=env)
    again = await asyncio.to_thread(CliRunner().invoke, cli, order, env=env)
    shown = await cw.http.get(f"/v1/cases/{clue_id}", params={"reveal": "true"}, headers=LEADER)

    assert shred.exit_code == 0 and str(ref) in shred.output, shred.output
    assert again.exit_code == 1  # its blind indexes are forgotten with the key
    assert shown.json()["subject"]["name"] == pii.SHREDDED
    assert [p["name"] for p in shown.json()["reported_persons"]] == [pii.SHREDDED]


async def test_a_masked_name_copied_from_an_answer_is_refused_as_the_subject(
    cw: Casework,
) -> None:
    clue_id, _ = await _sealed_clue(cw, "欧阳明", "某县林业局")
    for name, body in (
        ("dispose", {"method": "preliminary_verification"}),
        ("conclude_verification", {"outcome": "propose_filing"}),
    ):
        assert (await cw.decided(clue_id, name, OFFICER, **body)).status_code == 200
    masked = {"name": "欧**", "unit": "某县林业局"}

    refused = await cw.command(clue_id, "file_case", OFFICER, case_number="AJ-1", subject=masked)

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "subject.name"
