"""Intake's free text (a clerk's reason, a clue's narrative) sealed with the clue's key: read
by the clerk as written, never by the partner that sent the clue nor by a subscriber."""

from __future__ import annotations

import json
from uuid import UUID

from libs.events import pii
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_jurisdiction import _event, _send
from tests.integration.intake.test_personal_data import operator_auth

KEPT = "zhengfeng.intake.clue_kept_in_jurisdiction"
REASON = "经核实王五系本县住建局副局长，由本委自办"


async def test_a_clerks_reason_is_sealed_read_as_written_by_the_clerk_and_withheld_from_the_partner(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-T1", "某区住建局")  # not in the registry
    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)

    kept = await intake.http.post(
        f"/v1/clues/{clue_id}/jurisdiction",
        json={"decision": "keep", "reason": REASON},
        headers={**clerk, "If-Match": seen.headers["etag"]},
    )
    stored = await _event(intake, clue_id, KEPT)
    read = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)
    clue = await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk)
    followed = await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=partner)

    assert kept.status_code in (200, 201), kept.text
    assert REASON not in json.dumps(stored, ensure_ascii=False)
    assert stored["reason"].startswith(f"{pii.MATTER_TEXT_PREFIX}{clue_id}.")
    assert REASON in read.text  # the clerk's own words, as written
    assert pii.MATTER_TEXT_PREFIX not in read.text + clue.text + followed.text
    assert clue.json()["narrative"] not in (pii.WITHHELD, pii.SHREDDED)  # the masked text
    assert followed.status_code == 200 and REASON not in followed.text


async def test_shredding_the_reported_person_shreds_the_clues_texts(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-T2", "某区住建局")
    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)
    await intake.http.post(
        f"/v1/clues/{clue_id}/jurisdiction",
        json={"decision": "keep", "reason": REASON},
        headers={**clerk, "If-Match": seen.headers["etag"]},
    )
    data = await _event(intake, clue_id, "zhengfeng.intake.clue_received")
    vault: pii.Vault = intake.app.state.deps.vault

    ref = UUID(data["reported_persons"][0]["person_ref"])
    await vault.shred(ref, by="test", reason="依法删除", now=pii.now())
    read = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)
    clue = await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk)

    assert REASON not in read.text and pii.SHREDDED in read.text
    assert clue.json()["narrative"] == pii.SHREDDED
    assert (await intake.app.state.runtime.store.verify()).ok


async def test_a_clues_place_is_stored_sealed_and_read_as_written_by_the_clerk_only(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    place = "某县财政局三楼欧阳明办公室"
    sent = await intake.http.post(
        "/v1/clue-transfers", json=transfer("SJ-T3", place=place), headers=partner
    )
    clue_id = sent.json()["clue_id"]

    stored = await _event(intake, clue_id, "zhengfeng.intake.clue_received")
    clue = await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk)
    followed = await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=partner)

    assert sent.status_code == 201, sent.text
    assert place not in json.dumps(stored, ensure_ascii=False) and "欧阳明" not in str(stored)
    assert stored["place"].startswith(f"{pii.MATTER_TEXT_PREFIX}{clue_id}.")
    assert clue.json()["place"] == place  # the clerk reads it as sent
    assert followed.status_code == 200 and place not in followed.text
