"""Personal data: sealed in events, masked in answers, revealed only to roles allowed it
(and every such read recorded), shredded for good by one command."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from libs.events import pii
from libs.events.store import NO_STREAM, Metadata
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import resident_id, transfer
from zhengfeng.cli import app as cli

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

ID_NUMBER = resident_id()


async def _transfer(intake: Intake, reference: str = "SJ-2026-0042", **kw: Any) -> str:
    auth = await intake.bearer(await intake.partner())
    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(reference, **kw), headers=auth
    )
    assert response.status_code == 201, response.text
    return str(response.json()["clue_id"])


async def operator_auth(intake: Intake, *roles: str) -> dict[str, str]:
    """A bearer header of an operator with these roles (password grant)."""
    who = await intake.operator(*roles)
    response = await intake.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": who.client_id, "password": who.client_secret},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _open(intake: Intake, clue_id: str, role: str, **params: str) -> Any:
    auth = await operator_auth(intake, role)
    return await intake.http.get(f"/v1/clues/{clue_id}", params=params, headers=auth)


async def _event_data(intake: Intake, type_suffix: str) -> list[dict[str, Any]]:
    async with intake.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT data FROM events WHERE type LIKE :t ORDER BY global_position"),
            {"t": f"%{type_suffix}"},
        )
        return [r.data for r in rows]


def _vault(intake: Intake) -> pii.Vault:
    return intake.app.state.deps.vault  # type: ignore[no-any-return]


async def test_the_stored_clue_holds_no_name_or_id_number_in_plain_text(intake: Intake) -> None:
    await _transfer(intake)

    async with intake.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT data::text FROM events"))).scalar_one()
    assert "王五" not in json.loads(json.dumps(raw))
    assert ID_NUMBER not in raw
    [data] = await _event_data(intake, "clue_received")
    person = data["reported_persons"][0]
    assert person["name"] == "王*"
    assert person["id_number"] is None
    assert set(person["sealed"]) == {"name", "id_number"}


async def test_a_clerk_sees_the_clue_masked(intake: Intake) -> None:
    clue_id = await _transfer(intake)

    response = await _open(intake, clue_id, "clerk")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["personal_data"] == "masked"
    person = body["reported_persons"][0]
    assert person["name"] == "王*"
    assert ID_NUMBER not in json.dumps(body)
    assert person["unit"] == "某县财政局"


async def test_a_clerk_may_not_reveal_personal_data(intake: Intake) -> None:
    clue_id = await _transfer(intake)

    response = await _open(intake, clue_id, "clerk", reveal="true", purpose="初核")

    assert response.status_code == 403
    assert await _event_data(intake, "personal_data_accessed") == []


async def test_an_investigator_reveals_with_a_purpose_and_the_read_is_recorded(
    intake: Intake,
) -> None:
    clue_id = await _transfer(intake)

    response = await _open(intake, clue_id, "investigator", reveal="true", purpose="初步核实")

    assert response.status_code == 200, response.text
    person = response.json()["reported_persons"][0]
    assert (person["name"], person["id_number"]) == ("王五", ID_NUMBER)
    [access] = await _event_data(intake, "personal_data_accessed")
    assert access["clue_id"] == clue_id
    assert access["purpose"] == "初步核实"
    assert access["accessed_by"].startswith("operator:")
    assert access["person_refs"] == [person["person_ref"]]
    assert set(access["fields"]) == {"name", "id_number"}


async def test_revealing_without_a_purpose_is_refused_naming_the_field(intake: Intake) -> None:
    clue_id = await _transfer(intake)

    response = await _open(intake, clue_id, "investigator", reveal="true")

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "purpose", "reason": "reveal=true 时必填"}]
    assert await _event_data(intake, "personal_data_accessed") == []


async def test_the_same_id_number_is_the_same_person_across_clues(intake: Intake) -> None:
    await _transfer(intake, "SJ-1")
    await _transfer(intake, "SJ-2", categories=["violation_dining"])  # another matter

    first, second = [d["reported_persons"][0] for d in await _event_data(intake, "clue_received")]

    assert first["person_ref"] == second["person_ref"]
    assert first["blind_index"] == second["blind_index"]
    assert ID_NUMBER not in first["blind_index"]


async def test_a_sealed_field_does_not_open_for_another_clue_or_field(intake: Intake) -> None:
    clue_a = await _transfer(intake, "SJ-1")
    clue_b = await _transfer(intake, "SJ-2", categories=["violation_dining"])
    [a, _] = await _event_data(intake, "clue_received")
    token = a["reported_persons"][0]["sealed"]["name"]
    vault = _vault(intake)

    assert await vault.reveal(token, context=clue_a, field="name") == "王五"
    with pytest.raises(ValueError, match="does not open"):
        await vault.reveal(token, context=clue_b, field="name")
    with pytest.raises(ValueError, match="does not open"):
        await vault.reveal(token, context=clue_a, field="id_number")


async def test_shredding_a_person_makes_their_data_unreadable_and_verify_still_passes(
    intake: Intake, database_url: str
) -> None:
    clue_id = await _transfer(intake)
    [data] = await _event_data(intake, "clue_received")
    person_ref = data["reported_persons"][0]["person_ref"]
    settings = intake.app.state.runtime.settings
    env = {
        "DATABASE_URL": database_url,
        "ZF_INTAKE_DB_SCHEMA": settings.db_schema,
        "ZF_INTAKE_PII_VAULT_SCHEMA": settings.pii_vault_schema,
    }
    runner = CliRunner()

    shred = await asyncio.to_thread(
        runner.invoke, cli, ["pii", "shred", person_ref, "--reason", "依法删除"], env=env
    )
    verify = await asyncio.to_thread(runner.invoke, cli, ["verify", "intake"], env=env)
    again = await asyncio.to_thread(runner.invoke, cli, ["pii", "shred", person_ref], env=env)

    assert shred.exit_code == 0, shred.output
    assert verify.exit_code == 0, verify.output
    assert "intake: ok" in verify.output
    assert again.exit_code == 1
    revealed = await _open(intake, clue_id, "auditor", reveal="true", purpose="审计")
    person = revealed.json()["reported_persons"][0]
    assert (person["name"], person["id_number"]) == ("[已销毁]", "[已销毁]")
    token = data["reported_persons"][0]["sealed"]["name"]
    assert await _vault(intake).reveal(token, context=clue_id, field="name") is None
    [shredded] = await _event_data(intake, "personal_data_shredded")
    assert shredded["person_ref"] == person_ref
    # the reason, typed at the command line, is sealed like any reason and outlives the shred
    assert "依法删除" not in json.dumps(shredded, ensure_ascii=False)
    assert shredded["reason"].startswith(pii.MATTER_TEXT_PREFIX)
    assert await pii.open_texts(_vault(intake), shredded["reason"]) == "依法删除"


async def test_the_narrative_names_no_one_in_clear_and_opens_only_for_a_reveal(
    intake: Intake,
) -> None:
    number = resident_id()
    written = f"王五（身份证号 {number}）在春节期间收受购物卡，王五之妻代收。"
    clue_id = await _transfer(intake, narrative=written)
    [data] = await _event_data(intake, "clue_received")
    masked = await _open(intake, clue_id, "clerk")
    revealed = await _open(intake, clue_id, "auditor", reveal="true", purpose="审计")
    person_ref = data["reported_persons"][0]["person_ref"]
    await _vault(intake).shred(UUID(person_ref), by="operator:test", reason="依法删除", now=NOW)
    after_shred = await _open(intake, clue_id, "auditor", reveal="true", purpose="审计")

    stored = json.dumps(data, ensure_ascii=False)
    assert "王五" not in stored and number not in stored and "购物卡" not in stored
    # The event carries the masked text sealed with the clue's key, the text as written
    # sealed with the person's: a subscriber reads neither.
    assert data["narrative"].startswith(f"{pii.MATTER_TEXT_PREFIX}{clue_id}.")
    assert masked.json()["narrative"] == (
        f"王*（身份证号 {pii.mask_id_number(number)}）在春节期间收受购物卡，王*之妻代收。"
    )
    assert "sealed_narrative" not in masked.json()
    assert revealed.json()["narrative"] == written
    # The person's key destroyed: with it the clue's, so neither text is readable.
    assert after_shred.json()["narrative"] == pii.SHREDDED


async def test_a_person_copied_into_another_clue_refuses_the_reveal_with_a_409_not_a_500(
    intake: Intake,
) -> None:
    clue_id = await _transfer(intake)
    [record] = await intake.app.state.runtime.store.read_stream(f"clue-{clue_id}")
    copy_id = uuid4()  # the same tokens, passed off as another clue's own
    number = f"{record.event.clue_number}-C"
    copied = record.event.model_copy(update={"clue_id": copy_id, "clue_number": number})
    await intake.app.state.runtime.store.append(
        f"clue-{copy_id}", [copied], expected_version=NO_STREAM, meta=Metadata(actor="t")
    )

    masked = await _open(intake, str(copy_id), "investigator")
    revealed = await _open(intake, str(copy_id), "investigator", reveal="true", purpose="初核")
    original = await _open(intake, clue_id, "investigator", reveal="true", purpose="初核")

    assert masked.status_code == 200 and masked.json()["reported_persons"][0]["name"] == "王*"
    assert revealed.status_code == 409, revealed.text
    assert revealed.json()["type"] == "/problems/sealed-data-unopenable"
    assert revealed.json()["errors"][0]["field"] in {"name", "id_number", "narrative"}
    assert "王五" not in revealed.text and ID_NUMBER not in revealed.text
    assert original.status_code == 200 and "王五" in original.text
    # Only the reveal that showed the names is recorded as an access: the refused one
    # showed nothing.
    accesses = await _event_data(intake, "personal_data_accessed")
    assert [a["clue_id"] for a in accesses] == [clue_id]
