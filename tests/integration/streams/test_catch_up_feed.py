"""The catch-up feed and contract documents other government systems read.

Intake runs in this process on a real PostgreSQL (no broker needed: the feed reads the
store). A system client with the ``events:read`` scope pages through every event.
"""

from __future__ import annotations

import asyncio
from typing import Any

from libs.events.contracts import schema_uri
from libs.events.contracts.intake import ClueReceived
from libs.events.store import ANY, EventStore, Metadata
from libs.kit.issuer import create_client
from libs.kit.problems import PROBLEM_JSON
from tests.integration.fixtures import Intake, transfer


async def subscriber(intake: Intake) -> dict[str, str]:
    """A bearer header for a statistics system allowed to read the streams."""
    client = await create_client(
        intake.engine, kind="system", name="统计局数据平台", scopes=["events:read"]
    )
    return await intake.bearer(client)


async def send_transfers(intake: Intake, n: int) -> list[str]:
    partner = await intake.bearer(await intake.partner("audit"))
    ids = []
    for i in range(n):
        response = await intake.http.post(
            "/v1/clue-transfers",
            headers={**partner, "Idempotency-Key": f"feed-{i}"},
            json=transfer(
                reference=f"SJ-2026-F{i:03d}",
                # one person each: the same matter again would be merged (重复件)
                reported_persons=[{"name": f"王{i}", "unit": "某县财政局"}],
            ),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["clue_id"])
    return ids


async def read_feed(
    intake: Intake, headers: dict[str, str], *, after: int = 0, limit: int = 2, at_least: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Follow ``next_after`` until caught up with ``at_least`` events; returns the events
    and the last cursor. (Transactions of other tests on this database may hold the
    no-skip horizon back for a moment, so "caught up" can come before all are readable.)
    """
    events: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await intake.http.get(
            "/v1/events", params={"after": after, "limit": limit}, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["items"]
        after = page["next_after"]
        if page["caught_up"]:
            if len(events) >= at_least:
                return events, after
            assert asyncio.get_running_loop().time() < deadline, f"only {len(events)} events"
            await asyncio.sleep(0.05)


def store_of(intake: Intake) -> EventStore:
    store: EventStore = intake.app.state.runtime.store
    return store


async def test_a_subscriber_pages_through_every_event_once_in_store_order(
    intake: Intake,
) -> None:
    clue_ids = await send_transfers(intake, 5)
    headers = await subscriber(intake)

    events, last = await read_feed(intake, headers, limit=2, at_least=5)

    assert [e["data"]["clue_id"] for e in events] == clue_ids
    assert len({e["id"] for e in events}) == 5
    positions = [e["position"] for e in events]
    assert last == positions[-1]
    first = events[0]
    assert first["specversion"] == "1.0"
    assert first["type"] == ClueReceived.type_name
    assert first["source"] == "/zhengfeng/intake"
    assert first["subject"] == f"clue-{clue_ids[0]}"
    assert first["dataschema"] == schema_uri(ClueReceived.type_name, ClueReceived.version)
    assert first["typeversion"] == ClueReceived.version
    assert first["streamversion"] == 1
    assert first["actor"].startswith("partner:")
    assert len(first["eventhash"]) == 64
    # Nothing new: the same cursor answers an empty, caught-up page.
    again = await intake.http.get("/v1/events", params={"after": last}, headers=headers)
    assert again.json() == {"items": [], "next_after": last, "caught_up": True}


async def test_a_full_page_links_to_the_next_one(intake: Intake) -> None:
    await send_transfers(intake, 3)
    headers = await subscriber(intake)

    response = await intake.http.get("/v1/events", params={"limit": 2}, headers=headers)
    while response.json()["caught_up"]:  # the horizon may lag behind other tests a moment
        await asyncio.sleep(0.05)
        response = await intake.http.get("/v1/events", params={"limit": 2}, headers=headers)

    page = response.json()
    assert page["caught_up"] is False
    assert (
        response.headers["link"] == f'</v1/events?after={page["next_after"]}&limit=2>; rel="next"'
    )


async def test_the_feed_never_passes_an_event_still_being_committed(intake: Intake) -> None:
    store = store_of(intake)
    headers = await subscriber(intake)
    meta = Metadata(actor="system:test")
    event = ClueReceived.model_validate(
        {
            "clue_id": "00000000-0000-4000-8000-000000000001",
            "clue_number": "ZF-TEST-1",
            "source_kind": "partner",
            "reported_persons": [{"name": "王五", "unit": "某县财政局"}],
            "categories": ["violation_gifts"],
            "narrative": "慢提交",
            "received_at": "2026-11-23T08:00:00Z",
        }
    )
    async with intake.engine.connect() as slow:
        tx = await slow.begin()
        # Appended first (smaller transaction id), committed last.
        await store.append("clue-slow", [event], expected_version=ANY, meta=meta, conn=slow)
        fast = await send_transfers(intake, 2)

        seen, cursor = await read_feed(intake, headers)
        assert [e["data"]["clue_id"] for e in seen] == []  # stops below the open transaction
        await tx.commit()

    rest, _ = await read_feed(intake, headers, after=cursor, at_least=3)
    assert [e["subject"] for e in rest] == ["clue-slow", *(f"clue-{c}" for c in fast)]


async def test_the_feed_needs_a_token_with_the_events_read_scope(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner("audit"))

    anonymous = await intake.http.get("/v1/events")
    wrong_scope = await intake.http.get("/v1/events", headers=partner)

    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM_JSON
    assert wrong_scope.status_code == 403
    assert "events:read" in wrong_scope.json()["detail"]


async def test_a_cursor_that_is_no_position_of_this_store_is_a_400_naming_after(
    intake: Intake,
) -> None:
    headers = await subscriber(intake)

    unknown = await intake.http.get("/v1/events", params={"after": 999999}, headers=headers)
    negative = await intake.http.get("/v1/events", params={"after": -1}, headers=headers)
    too_big = await intake.http.get("/v1/events", params={"limit": 100000}, headers=headers)

    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [{"field": "after", "reason": "该位置没有事件"}]
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["field"] == "after"
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "limit"


async def test_a_position_beyond_a_bigint_is_a_422_naming_after_not_a_500(intake: Intake) -> None:
    # Found by Schemathesis: such a number reached PostgreSQL and failed there.
    headers = await subscriber(intake)

    response = await intake.http.get("/v1/events", params={"after": 2**73}, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "after"


async def test_every_dataschema_an_event_carries_is_served_and_describes_its_data(
    intake: Intake,
) -> None:
    await send_transfers(intake, 1)
    headers = await subscriber(intake)
    (event,), _ = await read_feed(intake, headers, at_least=1)

    response = await intake.http.get(event["dataschema"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["$id"] == event["dataschema"]
    assert set(schema["required"]) <= set(event["data"])
    assert set(event["data"]) <= set(schema["properties"])


async def test_asyncapi_is_served_at_the_root_and_under_v1(intake: Intake) -> None:
    root, v1 = await asyncio.gather(
        intake.http.get("/asyncapi.json"), intake.http.get("/v1/asyncapi.json")
    )

    assert root.status_code == v1.status_code == 200
    assert root.json() == v1.json()
    doc = root.json()
    assert doc["asyncapi"].startswith("3.")
    assert doc["x-catch-up-feed"]["path"] == "/v1/events"
    message = doc["components"]["messages"]["intake_clue_received"]
    headers = message["headers"]["properties"]
    assert headers["ce_type"]["const"] == ClueReceived.type_name
    assert headers["ce_dataschema"]["const"] == message["payload"]["$id"]
