"""12345 work orders: published as events; those naming an official for misconduct become clues."""

from __future__ import annotations

from typing import Any

from libs.kit.issuer import create_client
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import resident_id


def order(number: str = "GD20260301001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_number": number,
        "unit": "某区住建局",
        "category": "城乡建设",
        "content": "反映小区违建问题，多次投诉无人处理。",
        "deadline": "2026-03-08T18:00:00+08:00",
        "status": "processing",
    }
    body.update(overrides)
    return body


async def _platform(intake: Intake) -> dict[str, str]:
    client = await create_client(
        intake.engine, kind="system", name="12345平台", scopes=["hotline:orders"]
    )
    return await intake.bearer(client)


async def _types(intake: Intake) -> list[str]:
    return [e.type.rsplit(".", 1)[-1] for e in await intake.events()]


async def test_an_order_is_published_and_its_updates_follow(intake: Intake) -> None:
    auth = await _platform(intake)

    first = await intake.http.post("/v1/hotline-orders", json=order(), headers=auth)
    update = await intake.http.post(
        "/v1/hotline-orders/GD20260301001/updates",
        json={"status": "completed", "reopened": True, "satisfaction": "不满意"},
        headers=auth,
    )

    assert first.status_code == 201, first.text
    assert first.json()["clue_id"] is None
    assert update.status_code == 201, update.text
    assert await _types(intake) == ["hotline_order_received", "hotline_order_updated"]


async def test_an_order_naming_an_official_for_misconduct_also_becomes_a_clue(
    intake: Intake,
) -> None:
    auth = await _platform(intake)
    body = order(
        named_officials=[{"name": "刘八", "id_number": resident_id(), "unit": "某县住建局"}],
        misconduct_categories=["extortion_petty"],
        content="办理施工许可时，刘八索要好处费。",
    )

    response = await intake.http.post("/v1/hotline-orders", json=body, headers=auth)

    assert response.status_code == 201, response.text
    assert response.json()["clue_number"].startswith("XS-")
    assert sorted(await _types(intake)) == ["clue_received", "hotline_order_received"]
    events = await intake.events()
    assert any(e.stream_id == f"clue-{response.json()['clue_id']}" for e in events)


async def test_a_resent_order_is_not_published_twice_and_a_changed_one_is_409(
    intake: Intake,
) -> None:
    auth = await _platform(intake)

    first = await intake.http.post("/v1/hotline-orders", json=order(), headers=auth)
    again = await intake.http.post("/v1/hotline-orders", json=order(), headers=auth)
    changed = await intake.http.post(
        "/v1/hotline-orders", json=order(content="另一件事"), headers=auth
    )

    assert again.status_code == 201
    assert again.json() == first.json()
    assert changed.status_code == 409
    assert changed.json()["errors"][0]["field"] == "order_number"
    assert await _types(intake) == ["hotline_order_received"]


async def test_orders_need_the_hotline_scope(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())

    response = await intake.http.post("/v1/hotline-orders", json=order(), headers=partner)

    assert response.status_code == 403


async def test_an_update_of_an_unknown_order_is_404(intake: Intake) -> None:
    auth = await _platform(intake)

    response = await intake.http.post(
        "/v1/hotline-orders/NOPE/updates", json={"status": "completed"}, headers=auth
    )

    assert response.status_code == 404
    assert await _types(intake) == []


async def test_unknown_misconduct_categories_are_named(intake: Intake) -> None:
    auth = await _platform(intake)

    response = await intake.http.post(
        "/v1/hotline-orders",
        json=order(
            misconduct_categories=["rudeness"],
            named_officials=[{"name": "刘八", "unit": "某区住建局"}],
        ),
        headers=auth,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "misconduct_categories[0]"
