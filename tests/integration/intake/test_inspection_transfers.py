"""A 巡察组 is a partner client with a source kind of its own: the clues it transfers through
the transfer API are 巡察移送 on the desk, not 部门移送."""

from __future__ import annotations

from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_desk import _caught_up, _ids, _list
from tests.integration.intake.test_personal_data import operator_auth


async def test_a_clue_an_inspection_group_transfers_is_listed_as_inspection(intake: Intake) -> None:
    group = await intake.partner("inspection-group-2", ("clue:transfer", "source:inspection"))
    audit = await intake.partner("audit")
    sent = await intake.http.post(
        "/v1/clue-transfers", json=transfer("XC-2026-02-07"), headers=await intake.bearer(group)
    )
    other = await intake.http.post(
        "/v1/clue-transfers", json=transfer("SJ-2026-0042"), headers=await intake.bearer(audit)
    )
    assert sent.status_code == 201, sent.text
    assert other.status_code == 201, other.text
    await _caught_up(intake)
    clerk = await operator_auth(intake, "clerk")

    by_id = {i["clue_id"]: i for i in (await _list(intake, clerk))["items"]}

    mine = by_id[sent.json()["clue_id"]]
    assert (mine["source_kind"], mine["source_kind_label"]) == ("inspection", "巡察移送")
    assert by_id[other.json()["clue_id"]]["source_kind_label"] == "部门移送"
    assert await _ids(intake, clerk, source_kind="inspection") == [sent.json()["clue_id"]]
