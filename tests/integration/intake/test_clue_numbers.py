"""Clue numbers stay gapless per year while transfers arrive together and one fails."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import text

from libs.kit.issuer import create_client
from libs.kit.problems import Problem
from services.intake.domain import format_clue_number
from services.intake.service import receive
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import resident_id, transfer
from tests.integration.intake.test_hotline import order
from tests.integration.intake.test_public_reports import report

FAILING = "SJ-2026-回滚"
CLUE_RECEIVED = "zhengfeng.intake.clue_received"


def numbered_transfer(n: int, reference: str | None = None) -> dict[str, Any]:
    """A transfer on a person of its own (the same person again would be a repeat report)."""
    body = transfer(reference or f"SJ-2026-{n:04d}")
    body["reported_persons"][0]["id_number"] = resident_id(f"32010219800101{n:03d}")
    return body


async def test_concurrent_transfers_and_a_rolled_back_one_leave_no_gap(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = await intake.bearer(await intake.partner())
    claim = receive.number_and_claim_reference

    async def fails_after_its_number(
        conn: Any, now: Any, source: str, reference: str, *rest: Any
    ) -> Any:
        # The transfer took its number (with its reference), then fails before its commit.
        number, answer = await claim(conn, now, source, reference, *rest)
        if reference == FAILING:
            assert answer["clue_number"] == number
            raise Problem(503, "unavailable", "暂时无法受理", "请稍后重试。")
        return number, answer

    monkeypatch.setattr(receive, "number_and_claim_reference", fails_after_its_number)

    sent = [numbered_transfer(n) for n in range(12)]
    sent[5] = numbered_transfer(5, FAILING)
    answers = await asyncio.gather(
        *(intake.http.post("/v1/clue-transfers", json=body, headers=auth) for body in sent)
    )

    assert [a.status_code for a in answers].count(201) == 11
    assert answers[5].status_code == 503
    year = answers[0].json()["received_at"][:4]
    numbers = sorted(a.json()["clue_number"] for a in answers if a.status_code == 201)
    assert numbers == [f"XS-{year}-{n:06d}" for n in range(1, 12)]
    async with intake.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT type, data::text AS data FROM events"))).all()
    received = [json.loads(r.data)["clue_number"] for r in rows if r.type == CLUE_RECEIVED]
    assert sorted(received) == numbers
    assert not [r for r in rows if "待编号" in r.data]  # every event carries its real number

    monkeypatch.setattr(receive, "number_and_claim_reference", claim)
    again = await intake.http.post("/v1/clue-transfers", json=sent[5], headers=auth)
    assert again.status_code == 201
    assert again.json()["clue_number"] == f"XS-{year}-000012"


async def test_every_way_in_numbers_from_one_gapless_run_and_no_event_keeps_a_placeholder(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    hotline = await intake.bearer(
        await create_client(
            intake.engine, kind="system", name="12345平台", scopes=["hotline:orders"]
        )
    )
    first = numbered_transfer(1)
    repeat = {**numbered_transfer(1, "SJ-2026-重复"), "reported_persons": first["reported_persons"]}
    answers = await asyncio.gather(
        intake.http.post("/v1/clue-transfers", json=first, headers=partner),
        intake.http.post("/v1/reports", json=report()),
        intake.http.post(
            "/v1/hotline-orders",
            json=order(
                named_officials=[
                    {"name": "刘八", "id_number": resident_id(), "unit": "某县住建局"}
                ],
                misconduct_categories=["extortion_petty"],
                content="办理施工许可时，刘八索要好处费。",
            ),
            headers=hotline,
        ),
    )
    merged = await intake.http.post("/v1/clue-transfers", json=repeat, headers=partner)

    assert [a.status_code for a in (*answers, merged)] == [201, 201, 201, 201]
    assert merged.json()["status"] == "merged"
    async with intake.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT type, data::text AS data FROM events"))).all()
    numbers = sorted(
        {n for r in rows for k, n in json.loads(r.data).items() if k.endswith("number") and n}
        - {a.json().get("order_number") for a in answers}
    )
    year = answers[0].json()["received_at"][:4]
    assert numbers == [f"XS-{year}-{n:06d}" for n in range(1, 5)]
    assert not [r for r in rows if "待编号" in r.data]


async def test_a_retry_runs_again_to_answer_as_the_first_and_leaves_no_gap(
    intake: Intake,
) -> None:
    """A retry's key and reference are found taken when it writes them, after it took a
    number: it is rolled back (its number too) and answered as the first was."""
    auth = {**await intake.bearer(await intake.partner()), "Idempotency-Key": "retry-1"}
    first = await intake.http.post("/v1/clue-transfers", json=numbered_transfer(1), headers=auth)
    by_key = await intake.http.post("/v1/clue-transfers", json=numbered_transfer(1), headers=auth)
    by_reference = await intake.http.post(
        "/v1/clue-transfers",
        json=numbered_transfer(1),
        headers={"Authorization": auth["Authorization"]},
    )
    after = await intake.http.post(
        "/v1/clue-transfers",
        json=numbered_transfer(2),
        headers={"Authorization": auth["Authorization"]},
    )

    assert first.status_code == by_key.status_code == by_reference.status_code == 201
    assert by_key.json() == by_reference.json() == first.json()
    assert by_key.headers["Idempotent-Replayed"] == "true"
    assert by_reference.headers["Idempotent-Replayed"] == "true"
    year = first.json()["received_at"][:4]
    assert after.json()["clue_number"] == f"XS-{year}-000002"
    async with intake.engine.connect() as conn:
        received = (
            await conn.execute(
                text("SELECT count(*) FROM events WHERE type = :t"), {"t": CLUE_RECEIVED}
            )
        ).scalar_one()
    assert received == 2


async def test_requests_arriving_together_under_one_key_or_reference_make_one_clue(
    intake: Intake,
) -> None:
    """Different persons, so nothing holds them apart before their last writes: one takes
    the key (the reference), the other finds it taken, runs again and is refused."""
    auth = await intake.bearer(await intake.partner())
    keyed = {**auth, "Idempotency-Key": "together-1"}
    by_key = await asyncio.gather(
        *(
            intake.http.post("/v1/clue-transfers", json=numbered_transfer(n), headers=keyed)
            for n in (1, 2)
        )
    )
    by_reference = await asyncio.gather(
        *(
            intake.http.post(
                "/v1/clue-transfers", json=numbered_transfer(n, "SJ-2026-同号"), headers=auth
            )
            for n in (3, 4)
        )
    )

    assert sorted(a.status_code for a in by_key) == [201, 422]
    assert next(a for a in by_key if a.status_code == 422).json()["type"] == (
        "/problems/idempotency-key-reused"
    )
    assert sorted(a.status_code for a in by_reference) == [201, 409]
    assert next(a for a in by_reference if a.status_code == 409).json()["type"] == (
        "/problems/reference-reused"
    )
    year = by_key[0].json().get("received_at", by_key[1].json().get("received_at", ""))[:4]
    numbers = sorted(
        a.json()["clue_number"] for a in (*by_key, *by_reference) if a.status_code == 201
    )
    assert numbers == [f"XS-{year}-000001", f"XS-{year}-000002"]


async def test_a_number_past_six_digits_is_answered_and_kept_for_a_retry_as_written(
    intake: Intake,
) -> None:
    """The number taken with the answer is written in the statement as the domain writes it."""
    auth = await intake.bearer(await intake.partner())
    year = intake.app.state.runtime.store.clock().year
    async with intake.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO clue_numbers (year, last) VALUES (:y, 999999)"), {"y": year}
        )
    first = await intake.http.post("/v1/clue-transfers", json=numbered_transfer(1), headers=auth)
    retry = await intake.http.post("/v1/clue-transfers", json=numbered_transfer(1), headers=auth)

    assert first.status_code == retry.status_code == 201
    assert first.json()["clue_number"] == format_clue_number(year, 1_000_000)
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
