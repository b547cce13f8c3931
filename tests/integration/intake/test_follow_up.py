"""A partner follows up its transfers: intake learns the outcome from casework's events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from libs.events.contracts.casework import CaseFiled, ClueDisposed, DisposalMethod, Subject
from libs.events.store import ANY, EventStore, Metadata
from services.intake.handlers import make_handler
from tests.conftest import Schemas
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import transfer

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def _send(
    intake: Intake, auth: dict[str, str], reference: str = "SJ-1", **overrides: Any
) -> str:
    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(reference, **overrides), headers=auth
    )
    assert response.status_code == 201, response.text
    return str(response.json()["clue_id"])


async def _deliver(intake: Intake, schemas: Schemas, *events: Any) -> None:
    """Casework records the events in its own store; intake's handler receives them."""
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    handle = make_handler(intake.app.state.runtime.store)
    for event in events:
        # Handed over as appended: read_all is commit-safe and may hold back events while
        # any transaction of the database (intake's scheduler, its projections) is open.
        for recorded in await casework.append(
            f"casework-{uuid4()}", [event], expected_version=ANY, meta=Metadata(actor="t")
        ):
            async with intake.engine.begin() as conn:
                await handle(conn, recorded.envelope)


def _disposed(clue_id: str) -> ClueDisposed:
    return ClueDisposed(
        clue_id=UUID(clue_id),
        clue_number="XS-2026-000001",
        method=DisposalMethod.PRELIMINARY_VERIFICATION,
        outcome="verification_started",
        outcome_for_source="已进行初步核实",
        decided_by="operator:leader",
        disposed_at=AT,
    )


async def test_a_partner_reads_the_outcome_casework_meant_for_it(
    intake: Intake, schemas: Schemas
) -> None:
    auth = await intake.bearer(await intake.partner("audit"))
    clue_id = await _send(intake, auth)

    await _deliver(intake, schemas, _disposed(clue_id))

    got = (await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=auth)).json()
    assert (got["status"], got["status_label"], got["outcome"]) == (
        "disposed",
        "已处置",
        "已进行初步核实",
    )


async def test_the_list_shows_progress_once_the_read_model_catches_up(
    intake: Intake, schemas: Schemas
) -> None:
    auth = await intake.bearer(await intake.partner("audit"))
    clue_id = await _send(intake, auth)
    other = await _send(intake, auth, "SJ-2", categories=["violation_dining"])  # another matter
    filed = CaseFiled(
        case_id=uuid4(),
        case_number="AJ-2026-001",
        clue_ids=[UUID(clue_id)],
        subject=Subject(name="王*", unit="某县财政局"),
        categories=["violation_gifts"],
        filed_by="operator:leader",
        filed_at=AT,
    )

    await _deliver(intake, schemas, filed)

    async def listed() -> dict[str, str] | None:
        page = (await intake.http.get("/v1/clue-transfers", headers=auth)).json()
        statuses = {i["clue_id"]: i["status"] for i in page["items"]}
        return statuses if statuses.get(clue_id) == "case_filed" else None

    for _ in range(200):
        if statuses := await listed():
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the list never showed the filed case")
    assert statuses[other] == "received"
    filtered = (
        await intake.http.get("/v1/clue-transfers", params={"status": "case_filed"}, headers=auth)
    ).json()
    assert [i["clue_id"] for i in filtered["items"]] == [clue_id]


async def test_casework_events_about_clues_intake_never_received_are_ignored(
    intake: Intake, schemas: Schemas
) -> None:
    stranger = str(uuid4())

    await _deliver(intake, schemas, _disposed(stranger))

    assert [e for e in await intake.events() if e.stream_id == f"clue-{stranger}"] == []


async def test_another_departments_clue_stays_not_found_after_progress(
    intake: Intake, schemas: Schemas
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    clue_id = await _send(intake, audit)
    await _deliver(intake, schemas, _disposed(clue_id))

    response = await intake.http.get(f"/v1/clue-transfers/{clue_id}", headers=tax)

    assert response.status_code == 404
    assert "outcome" not in response.json()
