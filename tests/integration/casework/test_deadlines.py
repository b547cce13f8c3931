"""The deadline scheduler: overdue limits are said once, escalated, and caught up after downtime."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text

from services.casework import jobs
from tests.conftest import Schemas
from tests.integration.casework.conftest import LEADER, running

OVERDUE = "zhengfeng.casework.deadline_overdue"
APPROACHING = "zhengfeng.casework.deadline_approaching"


async def _count(engine, case_id, type_name: str) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT count(*) FROM events WHERE stream_id = :s AND type = :t"),
                    {"s": f"clue-{case_id}", "t": type_name},
                )
            ).scalar_one()
        )


async def test_overdue_notice_appears_exactly_once_across_a_stop_and_restart(
    database_url: str, schemas: Schemas
) -> None:
    # Received 2026-09-01: the disposal opinion is due 2026-10-08 (after National Day).
    received = datetime(2026, 9, 1, 2, tzinfo=UTC)
    days = {"today": date(2026, 10, 5)}
    async with running(
        database_url,
        schemas,
        run_scheduler=True,
        scheduler_interval_seconds=0.05,
        today=lambda: days["today"],
    ) as first:
        case_id = await first.receive(received_at=received)
        schema, intake = first.schema, first.intake
        await jobs.run_once(first.store, first.app.state.deps.rules, days["today"])
        assert await _count(first.engine, case_id, APPROACHING) == 1
        assert await _count(first.engine, case_id, OVERDUE) == 0

    # The service is down while the limit passes; it comes back on 2026-10-12.
    days["today"] = date(2026, 10, 12)
    for _ in range(2):
        async with running(
            database_url,
            schemas,
            schema=schema,
            intake=intake,
            run_scheduler=True,
            scheduler_interval_seconds=0.05,
            today=lambda: days["today"],
        ) as again:
            for _ in range(3):  # several runs of the scheduler, one notice
                await jobs.run_once(again.store, again.app.state.deps.rules, days["today"])
            await again.settle()
            case = (await again.http.get(f"/v1/cases/{case_id}", headers=LEADER)).json()

        assert await _count(again.engine, case_id, OVERDUE) == 1
        assert await _count(again.engine, case_id, APPROACHING) == 1
    assert case["overdue"] is True
    assert case["deadlines"]["clue_disposal"]["overdue_noticed"] is True
    async with again.engine.connect() as conn:
        data = (
            await conn.execute(
                text("SELECT data FROM events WHERE stream_id = :s AND type = :t"),
                {"s": f"clue-{case_id}", "t": OVERDUE},
            )
        ).scalar_one()
    assert data["escalated_to"] == "supervisor-1"
    assert data["item_kind"] == "clue_disposal"
    assert data["due_at"].startswith("2026-10-08")


async def test_the_register_lists_overdue_cases(database_url: str, schemas: Schemas) -> None:
    async with running(database_url, schemas) as cw:
        late = await cw.receive(received_at=datetime(2026, 1, 5, tzinfo=UTC))
        await cw.receive(received_at=datetime.now(UTC))
        await jobs.run_once(cw.store, cw.app.state.deps.rules, date(2026, 3, 1))
        await cw.settle()

        overdue = await cw.http.get("/v1/cases", params={"overdue": "true"}, headers=LEADER)

    assert [i["case_id"] for i in overdue.json()["items"]] == [str(late)]


async def test_the_overdue_list_pages_oldest_first_and_leaves_out_cases_on_time(
    database_url: str, schemas: Schemas
) -> None:
    """工作台's 已超期 box: only the overdue, oldest first, a page at a time."""
    async with running(database_url, schemas) as cw:
        first = await cw.receive(received_at=datetime(2026, 1, 5, tzinfo=UTC))
        on_time = await cw.receive(received_at=datetime.now(UTC))
        second = await cw.receive(received_at=datetime(2026, 1, 6, tzinfo=UTC))
        await jobs.run_once(cw.store, cw.app.state.deps.rules, date(2026, 3, 1))
        await cw.settle()

        page = await cw.http.get(
            "/v1/cases", params={"overdue": "true", "limit": 1}, headers=LEADER
        )
        cursor = page.json()["next_cursor"]
        rest = await cw.http.get(
            "/v1/cases", params={"overdue": "true", "limit": 1, "cursor": cursor}, headers=LEADER
        )
        on_time_only = await cw.http.get("/v1/cases", params={"overdue": "false"}, headers=LEADER)

    listed = [i["case_id"] for i in page.json()["items"] + rest.json()["items"]]
    assert listed == [str(first), str(second)]
    assert rest.json()["next_cursor"] is None
    assert [i["case_id"] for i in on_time_only.json()["items"]] == [str(on_time)]
