"""转办 in the ledger: a clue intake marks for forwarding leaves the disposal queue, and no
disposal limit runs for it; forwarded it is closed as 已转办; kept, it is back as before.

Intake's events are recorded in an intake store and handed to casework's consumer handler
(as in the other casework tests); tests/integration/casework/test_forwarding_broker.py
runs the same path through the real broker.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import (
    ClueForwarded,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
)
from libs.events.store import ANY, Metadata
from services.casework import jobs
from services.casework.handlers import make_handler
from tests.integration.casework.conftest import LEADER, OFFICER, Casework

RECEIVED = datetime(2026, 9, 1, 2, tzinfo=UTC)  # disposal opinion due 2026-10-08


async def _from_intake(cw: Casework, clue_id: UUID, event: Event) -> None:
    [recorded] = await cw.intake.append(
        f"clue-{clue_id}", [event], expected_version=ANY, meta=Metadata(actor="operator:clerk-1")
    )
    handler = make_handler(cw.store, cw.app.state.deps.rules)
    async with cw.store.engine.begin() as conn:
        await handler(conn, recorded.envelope)
    await cw.settle()


def _marked(clue_id: UUID) -> ClueMarkedForForwarding:
    return ClueMarkedForForwarding(
        clue_id=clue_id,
        clue_number="XS-2026-000001",
        authority="市纪委监委",
        reason="被反映人所在单位不属本委管辖（市纪委监委）",
        forward_by=date(2026, 9, 8),
        marked_by="service:intake",
        marked_at=RECEIVED,
    )


async def _clue(cw: Casework, clue_id: UUID) -> dict:  # type: ignore[type-arg]
    response = await cw.http.get(f"/v1/clues/{clue_id}", headers=LEADER)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_clue_marked_for_forwarding_leaves_the_disposal_queue_without_a_limit(
    cw: Casework,
) -> None:
    clue_id = await cw.receive(received_at=RECEIVED, person=("赵六", "某市财政局"))

    await _from_intake(cw, clue_id, _marked(clue_id))

    clue = await _clue(cw, clue_id)
    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    pending = (
        await cw.http.get("/v1/clues", params={"status": "pending_disposal"}, headers=LEADER)
    ).json()
    assert (clue["status"], clue["status_label"]) == ("awaiting_forwarding", "待转办")
    assert case["deadlines"] == {}
    assert "dispose" not in case["allowed_commands"]
    assert clue_id not in [UUID(c["clue_id"]) for c in pending["items"]]
    # Long after the disposal limit would have passed, the scheduler has nothing to say.
    assert await jobs.run_once(cw.store, cw.app.state.deps.rules, date(2026, 12, 1)) == 0


async def test_a_disposal_on_a_clue_awaiting_forwarding_is_refused(cw: Casework) -> None:
    clue_id = await cw.receive(received_at=RECEIVED, person=("赵六", "某市财政局"))
    await _from_intake(cw, clue_id, _marked(clue_id))

    response = await cw.command(clue_id, "dispose", OFFICER, method="preliminary_verification")

    assert response.status_code == 409
    assert response.json()["status_label"] == "待转办"
    assert (await _clue(cw, clue_id))["status"] == "awaiting_forwarding"


async def test_a_forwarded_clue_is_closed_in_the_ledger_as_forwarded(cw: Casework) -> None:
    clue_id = await cw.receive(received_at=RECEIVED, person=("赵六", "某市财政局"))
    await _from_intake(cw, clue_id, _marked(clue_id))

    await _from_intake(
        cw,
        clue_id,
        ClueForwarded(
            clue_id=clue_id,
            clue_number="XS-2026-000001",
            authority="市纪委监委",
            method="official_letter",
            forward_by=date(2026, 9, 8),
            in_time=True,
            forwarded_by="operator:clerk-1",
            forwarded_at=datetime(2026, 9, 3, tzinfo=UTC),
        ),
    )

    clue = await _clue(cw, clue_id)
    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    assert (clue["status"], clue["status_label"]) == ("forwarded", "已转办")
    assert case["allowed_commands"] == []


async def test_a_clue_the_clerk_keeps_is_pending_disposal_again_with_the_limit_from_receipt(
    cw: Casework,
) -> None:
    clue_id = await cw.receive(received_at=RECEIVED, person=("赵六", "某市财政局"))
    await _from_intake(cw, clue_id, _marked(clue_id))

    await _from_intake(
        cw,
        clue_id,
        ClueKeptInJurisdiction(
            clue_id=clue_id,
            clue_number="XS-2026-000001",
            reason="被反映人已调任县财政局",
            decided_by="operator:clerk-1",
            decided_at=datetime(2026, 9, 4, tzinfo=UTC),
        ),
    )

    clue = await _clue(cw, clue_id)
    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    assert clue["status"] == "pending_disposal"
    assert case["deadlines"]["clue_disposal"]["due"] == "2026-10-08"
    assert await jobs.run_once(cw.store, cw.app.state.deps.rules, date(2026, 10, 12)) == 1


async def test_a_late_mark_does_not_undo_a_disposal(cw: Casework) -> None:
    clue_id = await cw.receive(received_at=RECEIVED)
    disposed = await cw.decided(clue_id, "dispose", OFFICER, method="preliminary_verification")
    assert disposed.status_code == 200, disposed.text

    await _from_intake(cw, clue_id, _marked(clue_id))

    assert (await _clue(cw, clue_id))["status"] == "preliminary_verification"


async def test_a_clue_taken_up_by_the_city_closes_as_forwarded_with_no_limit_left(
    cw: Casework,
) -> None:
    from libs.events.contracts.intake import ClueTakenUp

    clue_id = await cw.receive(received_at=RECEIVED, person=("赵六", "青山县交通运输局"))

    await _from_intake(
        cw,
        clue_id,
        ClueTakenUp(
            clue_id=clue_id,
            clue_number="XS-2026-000001",
            authority="市纪委监委",
            decision_number="市纪提〔2026〕2号",
            reason="涉及市管干部",
            recorded_by="operator:clerk-1",
            recorded_at=RECEIVED,
        ),
    )

    clue = await _clue(cw, clue_id)
    case = (await cw.http.get(f"/v1/cases/{clue_id}", headers=LEADER)).json()
    assert (clue["status"], clue["status_label"]) == ("forwarded", "已转办")
    assert case["deadlines"] == {}
    assert await jobs.run_once(cw.store, cw.app.state.deps.rules, date(2026, 12, 1)) == 0
