"""信息汇集: partner systems send feed batches; bad rows are reported, good rows kept."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Schemas
from tests.integration.analysis.support import Analysis, running


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


VEHICLES = [
    {
        "plate": "鄂K00001",
        "unit_code": "U001",
        "fuel_type": "gasoline_92",
        "tank_capacity_l": 60,
        "norm_l_per_100km": 9.5,
        "fuel_card": "FC1",
    },
    {
        "plate": "鄂K00002",
        "unit_code": "U001",
        "fuel_type": "diesel_0",
        "tank_capacity_l": 70,
        "norm_l_per_100km": 11,
    },
]


def txn(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "txn_id": f"T{n:04d}",
        "card_no": "FC1",
        "plate": "鄂K00001",
        "ts": f"2026-03-02T09:{n % 60:02d}:00+08:00",
        "station_id": "ST01",
        "station_name": "城南加油站",
        "lat": 29.85,
        "lon": 114.25,
        "product": "gasoline_92",
        "volume_l": 30.5,
        "amount": 231.8,
    }
    row.update(overrides)
    return row


@pytest.fixture
async def analysis(database_url: str, schemas: Schemas) -> AsyncIterator[Analysis]:
    async with running(database_url, schemas) as a:
        await a.send("vehicles", ndjson(VEHICLES), batch_id="vehicles-1")
        yield a


async def test_bad_rows_are_reported_by_row_field_and_reason_and_good_rows_are_kept(
    analysis: Analysis,
) -> None:
    rows = [
        txn(1),
        txn(2, volume_l="thirty"),  # wrong type
        txn(3, lat=95.0),  # impossible coordinates
        txn(4, volume_l=-5),  # negative volume
        txn(5, plate="鄂A99999"),  # unknown plate
        txn(6, ts="2026-03-02 09:06"),  # no UTC offset
        txn(7),
    ]
    body = ndjson(rows) + b"{not json\n"

    report = await analysis.send("fuel_transactions", body, batch_id="fuel-1")

    assert report["received"] == 8
    assert report["accepted"] == 2
    assert report["rejected"] == 6
    errors = {(e["row"], e["field"]) for e in report["errors"]}
    assert errors == {
        (2, "volume_l"),
        (3, "lat"),
        (4, "volume_l"),
        (5, "plate"),
        (6, "ts"),
        (8, "-"),
    }
    reasons = {e["row"]: e["reason"] for e in report["errors"]}
    assert "不在公务车辆登记表中" in reasons[5]
    assert "负数" in reasons[4]
    assert "纬度" in reasons[3]
    kept = await analysis.scalar(
        "SELECT string_agg(txn_id, ',' ORDER BY txn_id) FROM fuel_transactions"
    )
    assert kept == "T0001,T0007"


async def test_the_same_batch_sent_again_returns_the_first_report_and_adds_nothing(
    analysis: Analysis,
) -> None:
    body = ndjson([txn(1), txn(2)])
    first = await analysis.send("fuel_transactions", body, batch_id="fuel-7")

    again = await analysis.http.post(
        "/v1/feeds/fuel_transactions/batches/fuel-7",
        content=ndjson([txn(1), txn(2), txn(3)]),
        headers={**analysis.partner, "Content-Type": "application/x-ndjson"},
    )

    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["accepted"] == first["accepted"] == 2
    assert await analysis.scalar("SELECT count(*) FROM fuel_transactions") == 2
    assert (
        await analysis.scalar(
            "SELECT count(*) FROM events WHERE type = 'zhengfeng.analysis.feed_batch_ingested'"
            " AND data->>'kind' = 'fuel_transactions'"
        )
        == 1
    )


async def test_rows_already_held_count_as_duplicates_in_a_new_batch(analysis: Analysis) -> None:
    await analysis.send("fuel_transactions", ndjson([txn(1), txn(2)]))

    report = await analysis.send("fuel_transactions", ndjson([txn(2), txn(3)]))

    assert (report["accepted"], report["duplicates"], report["rejected"]) == (1, 1, 0)


async def test_csv_and_gzip_are_accepted(analysis: Analysis) -> None:
    header = "txn_id,card_no,plate,ts,station_id,station_name,lat,lon,product,volume_l,amount\n"
    lines = [
        'T0100,FC1,鄂K00001,2026-03-03T10:00:00+08:00,ST01,"城南,加油站",29.85,114.25,gasoline_92,20,152\n',
        "T0101,FC1,鄂K00001,2026-03-03T15:00:00+08:00,ST01,城南,29.85,114.25,gasoline_92,-1,152\n",
    ]
    body = gzip.compress((header + "".join(lines)).encode())

    report = await analysis.send(
        "fuel_transactions",
        body,
        content_type="text/csv",
        headers={"Content-Encoding": "gzip"},
    )

    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["errors"] == [{"row": 2, "field": "volume_l", "reason": "不得为负数（-1.0）"}]
    name = await analysis.scalar("SELECT station_name FROM fuel_transactions")
    assert name == "城南,加油站"


async def test_a_batch_of_more_than_100000_rows_streams_through(analysis: Analysis) -> None:
    def rows() -> bytes:
        out = []
        for i in range(120_000):
            out.append(
                f'{{"plate":"鄂K00002","ts":"2026-03-0{1 + i // 40000}T{(i // 3600) % 10 + 8:02d}:{(i // 60) % 60:02d}:{i % 60:02d}+08:00",'
                f'"lat":29.8,"lon":114.2,"speed_kmh":30,"odometer_km":{1000 + i / 100}}}\n'
            )
        return "".join(out).encode()

    report = await analysis.send(
        "gps_points", gzip.compress(rows()), headers={"Content-Encoding": "gzip"}
    )

    assert report["received"] == 120_000
    assert report["accepted"] + report["duplicates"] == 120_000
    assert report["rejected"] == 0


async def test_a_partner_without_the_feeds_scope_is_refused(analysis: Analysis) -> None:
    token = analysis.mint.bearer(kind="system", scopes=("feeds:invoices",))

    response = await analysis.http.post(
        "/v1/feeds/gps_points/batches/b1",
        content=b"",
        headers={**token, "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "feeds:gps_points" in response.json()["detail"]


async def test_an_unknown_feed_kind_is_404_naming_the_known_ones(analysis: Analysis) -> None:
    response = await analysis.http.post(
        "/v1/feeds/weather/batches/b1", content=b"", headers=analysis.partner
    )

    assert response.status_code == 404
    assert "gps_points" in response.json()["detail"]
