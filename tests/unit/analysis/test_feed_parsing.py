"""Reading feed rows, pure: types, coordinates, volumes, plates; gzip and CSV streaming."""

from __future__ import annotations

import gzip

from services.analysis.feeds.parse import Decoder, RowError, RowReader, check_row
from services.analysis.feeds.spec import FEEDS

FUEL = FEEDS["fuel_transactions"]
PLATES = {"鄂K00001"}


def row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "txn_id": "T1",
        "card_no": "C",
        "plate": "鄂K00001",
        "ts": "2026-03-01T09:00:00+08:00",
        "lat": 29.9,
        "lon": 114.3,
        "product": "gasoline_92",
        "volume_l": 20,
        "amount": 150,
    }
    base.update(kw)
    return base


def test_a_good_row_becomes_typed_values() -> None:
    values = check_row(FUEL, 1, row(), PLATES)
    assert not isinstance(values, RowError)
    assert values[0] == "T1" and values[-2] == 20.0


def test_each_kind_of_bad_value_names_its_field() -> None:
    cases = {
        "volume_l": row(volume_l="lots"),
        "lat": row(lat=0.0),
        "amount": row(amount=-3),
        "plate": row(plate="沪A1"),
        "product": row(product="kerosene"),
        "ts": row(ts="yesterday"),
        "txn_id": row(txn_id=None),
    }
    for field, raw in cases.items():
        error = check_row(FUEL, 7, raw, PLATES)
        assert isinstance(error, RowError), field
        assert (error.row, error.field) == (7, field)


def test_gzip_split_anywhere_yields_the_same_lines() -> None:
    text = "".join(f'{{"n":{i}}}\n' for i in range(1000)).encode()
    packed = gzip.compress(text)
    decoder = Decoder()
    lines: list[str] = []
    for i in range(0, len(packed), 37):
        lines += decoder.feed(packed[i : i + 37])
    lines += decoder.finish()
    assert lines == [f'{{"n":{i}}}' for i in range(1000)]


def test_csv_rows_are_numbered_after_the_header_and_keep_quoted_commas() -> None:
    reader = RowReader("csv")
    rows = list(reader.rows(["a,b", '1,"x,y"', "2"]))
    assert rows[0] == (1, {"a": "1", "b": "x,y"})
    assert isinstance(rows[1][1], RowError) and rows[1][0] == 2
