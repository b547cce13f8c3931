"""Sealed reported persons (ClueReceived v3): masked in answers, revealed to allowed roles."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import text

from libs.events import pii
from libs.events.contracts.intake import ClueReceived, ReportedPerson
from tests.integration.casework.conftest import LEADER, OTHER_OFFICER, Casework


async def _sealed_clue(cw: Casework, name: str, unit: str) -> tuple:
    vault = pii.Vault.from_env(cw.engine)
    await vault.ensure()
    clue_id = uuid4()
    now = datetime.now(UTC)
    async with cw.engine.begin() as conn:
        ref = await vault.person_for(conn, vault.blind_index("name_unit", name, unit), now)
        token = await vault.seal(conn, ref, name, context=str(clue_id), field="name")
    person = ReportedPerson(
        name=pii.mask_name(name), unit=unit, person_ref=ref, sealed={"name": token}
    )
    received = ClueReceived(
        clue_id=clue_id,
        clue_number=f"XS-{clue_id.hex[:6]}",
        source_kind="hotline",
        reported_persons=[person],
        categories=["violation_gifts"],
        narrative="收受购物卡",
        received_at=now,
    )
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
