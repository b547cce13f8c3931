"""Jurisdiction by 干部管理权限 over HTTP: a 市管干部 in a county unit goes to the city
commission, and a higher commission's 提级办理 and 指定管辖 are recorded on the clue.

The shipped example registry and the national-default cadre rules are the ones used:
青山县交通运输局 is the county's own unit; 正处级 is a 市管干部.
"""

from __future__ import annotations

from typing import Any

from tests.factories import namesake_id_number
from tests.integration.fixtures import Intake, eventually
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_jurisdiction import _event, _types
from tests.integration.intake.test_personal_data import operator_auth

MARKED = "zhengfeng.intake.clue_marked_for_forwarding"


def official(unit: str, rank: str | None = None, **markers: bool) -> dict[str, Any]:
    return {
        "name": "赵六",
        "id_number": namesake_id_number(),
        "unit": unit,
        "post": "局长",
        "rank": rank,
        **markers,
    }


async def _send(intake: Intake, auth: dict[str, str], reference: str, person: dict) -> str:  # type: ignore[type-arg]
    body = transfer(reference, reported_persons=[person])
    response = await intake.http.post("/v1/clue-transfers", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["clue_id"])


async def test_a_city_managed_cadre_in_a_county_unit_is_forwarded_to_the_city_commission(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(
        intake, partner, "SJ-1", official("青山县交通运输局", "正处级", top_leader=True)
    )

    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)
    forwarded = await intake.http.post(
        f"/v1/clues/{clue_id}/forwarding",
        json={"method": "confidential_delivery", "letter_number": "青纪转〔2026〕7号"},
        headers={**clerk, "If-Match": seen.headers["etag"]},
    )

    body = seen.json()
    assert (body["status_label"], body["authority"]) == ("待转办", "市纪委监委")
    assert body["reason"] == "被反映人系市管干部（正处级），按干部管理权限由市纪委监委管辖"
    (finding,) = body["findings"]
    assert (finding["cadre_label"], finding["rank"], finding["registered_as"]) == (
        "市管干部",
        "正处级",
        "青山县交通运输局",
    )
    assert "赵" not in str(await _event(intake, clue_id, MARKED))
    marked = await _event(intake, clue_id, MARKED)
    assert marked["cadre_rules_version"] == "2026-12 全国默认（县级纪委监委）"
    assert forwarded.status_code == 201, forwarded.text
    assert forwarded.json()["forwarded"]["authority"] == "市纪委监委"


async def test_a_county_managed_top_leader_stays_with_the_county(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(
        intake, partner, "SJ-1", official("青山县交通运输局", "正科级", top_leader=True)
    )

    seen = await intake.http.get(f"/v1/clues/{clue_id}/jurisdiction", headers=clerk)

    assert seen.json()["status"] == "in_jurisdiction"
    assert MARKED not in await _types(intake, clue_id)


async def test_a_higher_commission_takes_up_a_clue_and_it_cannot_be_sent_again(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    clue_id = await _send(intake, partner, "SJ-1", official("青山县交通运输局", "正科级"))
    decision = {
        "authority": "市纪委监委",
        "decision_number": "市纪提〔2026〕2号",
        "reason": "群众反映强烈",
    }

    taken = await intake.http.post(f"/v1/clues/{clue_id}/taking-up", json=decision, headers=clerk)
    again = await intake.http.post(f"/v1/clues/{clue_id}/taking-up", json=decision, headers=clerk)
    designated = await intake.http.post(
        f"/v1/clues/{clue_id}/designation",
        json={
            "designated_by": "市纪委监委",
            "designated_to": "邻县纪委监委",
            "decision_number": "市纪指〔2026〕1号",
            "reason": "回避",
        },
        headers=clerk,
    )

    assert taken.status_code == 201, taken.text
    body = taken.json()
    assert (body["status"], body["status_label"], body["authority"]) == (
        "taken_up",
        "已提级办理",
        "市纪委监委",
    )
    assert body["higher_decision"]["kind_label"] == "提级办理"
    assert body["higher_decision"]["decision_number"] == "市纪提〔2026〕2号"
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/already-taken-up"
    assert "已由市纪委监委提级办理" in again.json()["detail"]
    assert designated.status_code == 409

    async def on_desk() -> list[dict[str, Any]]:
        desk = await intake.http.get("/v1/clues?jurisdiction=taken_up", headers=clerk)
        return [c for c in desk.json()["items"] if c["clue_id"] == clue_id]

    (listed,) = await eventually(on_desk, "the desk to list the clue as taken up")
    assert listed["jurisdiction_label"] == "已提级办理"
    followed = await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=partner)
    assert (followed.json()["status_label"], followed.json()["outcome"]) == (
        "已转办",
        "已由市纪委监委提级办理",
    )


async def test_designation_is_to_this_or_another_commission_never_the_designator(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")
    city_unit = await _send(intake, partner, "SJ-1", official("市财政局"))
    ours = await _send(intake, partner, "SJ-2", official("青山县水利局"))
    base = {
        "designated_by": "市纪委监委",
        "decision_number": "市纪指〔2026〕4号",
        "reason": "异地管辖",
    }

    to_itself = await intake.http.post(
        f"/v1/clues/{ours}/designation",
        json={**base, "designated_to": "市纪委监委"},
        headers=clerk,
    )
    both = await intake.http.post(
        f"/v1/clues/{ours}/designation",
        json={**base, "designated_to": "邻县纪委监委", "here": True},
        headers=clerk,
    )
    here = await intake.http.post(
        f"/v1/clues/{city_unit}/designation", json={**base, "here": True}, headers=clerk
    )
    away = await intake.http.post(
        f"/v1/clues/{ours}/designation",
        json={**base, "designated_to": "邻县纪委监委"},
        headers=clerk,
    )

    assert to_itself.status_code == 422
    assert to_itself.json()["errors"][0]["field"] == "designated_to"
    assert "提级办理" in to_itself.json()["detail"]
    assert both.status_code == 422
    assert both.json()["errors"][0]["field"] == "designated_to"
    assert here.status_code == 201, here.text
    assert (here.json()["status_label"], here.json()["forward_by"]) == ("指定本委管辖", None)
    assert away.status_code == 201
    assert (away.json()["status"], away.json()["authority"]) == ("designated_away", "邻县纪委监委")
    marked_after = await intake.http.post(
        f"/v1/clues/{city_unit}/jurisdiction",
        json={"decision": "forward", "authority": "市纪委监委", "reason": "单位属市直"},
        headers=clerk,
    )
    assert marked_after.status_code == 409
    assert marked_after.json()["type"] == "/problems/designated-here"
