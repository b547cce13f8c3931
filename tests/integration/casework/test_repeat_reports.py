"""重复件 in casework: a repeat report raises the matter's count and priority (no second
ledger entry) and goes back to the leader who owns it; a split-off repeat is registered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from libs.events import kafka
from libs.events.contracts.casework import RepeatReportNoted
from libs.events.contracts.intake import ClueMerged, ClueReceived, ClueSplit, ReportedPerson
from services.casework.domain import clue_stream
from services.intake import app as intake_app
from tests.conftest import Schemas, unique
from tests.integration.casework.conftest import LEADER, Casework, running
from tests.integration.fixtures import Intake, eventually
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_personal_data import operator_auth


def _merged(clue_id: UUID, count: int, *, person: tuple[str, str] = ("钱七", "某镇政府")) -> Any:
    return ClueMerged(
        clue_id=clue_id,
        repeat_id=uuid4(),
        repeat_count=count,
        source_kind="public_report",
        merged_at=datetime.now(UTC),
        repeat_number=f"XS-2026-R{count}",
        priority="elevated" if count == 1 else "high",
        reported_persons=[ReportedPerson(name=person[0], unit=person[1])],
        categories=["violation_dining"],
        narrative="又有群众反映其在私人会所宴请。",
        received_at=datetime.now(UTC),
    )


# (``deliver`` records each event on a stream of its own in the intake-side store; the
# handler reads the clue id from the event, as it does whatever intake stream it came on.)


async def _ledger(cw: Casework, **params: Any) -> list[dict[str, Any]]:
    page = await cw.http.get("/v1/clues", params=params, headers=LEADER)
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


async def test_a_repeat_report_raises_the_count_and_goes_back_to_the_owning_leader(
    cw: Casework,
) -> None:
    first = await cw.receive(person=("钱七", "某镇政府"))
    owned = await cw.command(
        first,
        "assign",
        LEADER,
        department="第二审查调查室",
        officer="officer-7",
        leader="leader-1",
        reason="领导包案",
    )
    assert owned.status_code == 200, owned.text
    merged = _merged(first, 1)

    await cw.deliver(merged, f"repeats-{uuid4()}")
    await cw.deliver(merged.model_copy(update={"repeat_count": 1}), f"repeats-{uuid4()}")

    [entry] = await _ledger(cw)
    case = (await cw.http.get(f"/v1/cases/{first}", headers=LEADER)).json()
    [noted] = [
        r.event
        for r in await cw.store.read_stream(clue_stream(first))
        if isinstance(r.event, RepeatReportNoted)
    ]
    assert (entry["clue_id"], entry["repeat_count"], entry["priority"]) == (
        str(first),
        1,
        "elevated",
    )
    assert (case["repeat_count"], case["priority"]) == (1, "elevated")
    assert noted.returned_to == "leader-1" and noted.repeat_id == merged.repeat_id
    assert [c["clue_id"] for c in await _ledger(cw, min_repeat_count=1)] == [str(first)]


async def test_a_repeat_on_a_person_whose_other_matter_a_leader_owns_goes_to_that_leader(
    cw: Casework,
) -> None:
    earlier = await cw.receive(person=("孙八", "某县水利局"))  # nobody owns it
    owned = await cw.receive(person=("孙八", "某县水利局"), categories=["violation_gifts"])
    await cw.command(
        owned, "assign", LEADER, department="第二审查调查室", officer="o-2", leader="leader-2"
    )
    unowned = await cw.receive(person=("周九", "某县林业局"))

    await cw.deliver(_merged(earlier, 1, person=("孙八", "某县水利局")), f"repeats-{uuid4()}")
    await cw.deliver(_merged(unowned, 1, person=("周九", "某县林业局")), f"repeats-{uuid4()}")

    returned = [
        [
            r.event.returned_to
            for r in await cw.store.read_stream(clue_stream(case))
            if isinstance(r.event, RepeatReportNoted)
        ]
        for case in (earlier, unowned)
    ]
    assert returned == [["leader-2"], [None]]


async def test_a_split_lowers_the_count_and_the_split_clue_gets_its_own_entry(
    cw: Casework,
) -> None:
    first = await cw.receive(person=("钱七", "某镇政府"))
    merged = _merged(first, 1)
    await cw.deliver(merged, f"repeats-{uuid4()}")
    split = ClueSplit(
        clue_id=first,
        repeat_id=merged.repeat_id,
        new_clue_id=merged.repeat_id,
        new_clue_number=merged.repeat_number,
        repeat_count=0,
        reason="另一件事",
        split_by="operator:clerk",
        split_at=datetime.now(UTC),
    )
    await cw.deliver(split, f"repeats-{uuid4()}")
    await cw.deliver(
        ClueReceived(
            clue_id=merged.repeat_id,
            clue_number=merged.repeat_number,
            source_kind="public_report",
            reported_persons=merged.reported_persons,
            categories=merged.categories,
            narrative=merged.narrative,
            received_at=merged.received_at or merged.merged_at,
        ),
        f"clue-{merged.repeat_id}",
    )

    entries = {e["clue_id"]: e for e in await _ledger(cw)}
    assert set(entries) == {str(first), str(merged.repeat_id)}
    assert (entries[str(first)]["repeat_count"], entries[str(first)]["priority"]) == (0, "normal")
    assert entries[str(merged.repeat_id)]["clue_number"] == "XS-2026-R1"


# Through the real broker: intake's relay publishes, casework's consumer reacts.


@pytest.fixture
async def both(
    database_url: str,
    bootstrap: str,
    schemas: Schemas,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Intake, Casework]]:
    monkeypatch.setenv("ZF_TOPIC_PREFIX", unique("dupes"))
    await kafka.ensure_topics(bootstrap, kafka.all_topics())
    # One vault for both, as `zhengfeng up` gives them: casework opens the texts intake sealed.
    vault_schema = unique("t_pii")
    monkeypatch.setenv("ZF_PII_VAULT_SCHEMA", vault_schema)
    async with running(
        database_url, schemas, kafka_bootstrap_servers=bootstrap, consumer_session_timeout_ms=1000
    ) as cw:
        engine = await schemas.migrated("intake")
        settings = intake_app.Settings(
            database_url=database_url,
            db_schema=schemas.created[-1],
            pii_vault_schema=vault_schema,
            kafka_bootstrap_servers=bootstrap,
            consumer_session_timeout_ms=1000,
            attachments_dir=tmp_path / "attachments",
        )
        schemas.created.append(vault_schema)  # dropped with the others after the test
        app = intake_app.create(settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://intake") as http,
        ):
            yield Intake(app, http, engine), cw


async def test_merge_and_split_at_intake_reach_casework_through_the_broker(
    both: tuple[Intake, Casework],
) -> None:
    intake, cw = both
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    first = (
        await intake.http.post("/v1/clue-transfers", json=transfer("SJ-1"), headers=audit)
    ).json()
    repeat = (
        await intake.http.post("/v1/clue-transfers", json=transfer("SW-1"), headers=tax)
    ).json()
    assert (first["status"], repeat["status"]) == ("received", "merged")

    async def counted() -> dict[str, Any] | None:
        got = await cw.http.get(f"/v1/clues/{first['clue_id']}", headers=LEADER)
        return got.json() if got.status_code == 200 and got.json()["repeat_count"] == 1 else None

    entry = await eventually(counted, "the repeat counted on the clue in casework", timeout=60)
    assert entry["priority"] == "high"  # urgent, with one repeat report
    assert [e["clue_id"] for e in await _ledger(cw)] == [first["clue_id"]]  # one entry

    clerk = await operator_auth(intake, "clerk")
    split = await intake.http.post(
        f"/v1/clues/{first['clue_id']}/repeats/{repeat['clue_id']}/split",
        json={"reason": "反映的是另一件事"},
        headers=clerk,
    )
    assert split.status_code == 201, split.text

    async def registered() -> list[dict[str, Any]] | None:
        entries = await _ledger(cw)
        return entries if len(entries) == 2 and entries[0]["repeat_count"] == 0 else None

    entries = await eventually(registered, "the split clue registered in casework", timeout=60)
    assert [e["clue_id"] for e in entries] == [first["clue_id"], repeat["clue_id"]]
    assert entries[1]["clue_number"] == repeat["clue_number"]
    assert entries[1]["source_department"] == "tax"
    assert entries[0]["priority"] == "elevated"  # back to urgent alone
