"""The synthetic county: deterministic, with a ground truth for every rule."""

from __future__ import annotations

import json
from pathlib import Path

from services.analysis.generator import FEED_ORDER, Size, generate

SMALL = Size(gps_interval_s=900, invoices_per_unit_month=3)


def test_same_seed_writes_the_same_county(tmp_path: Path) -> None:
    generate(5, tmp_path / "a", SMALL)
    generate(5, tmp_path / "b", SMALL)

    for kind in FEED_ORDER:
        name = f"{kind}.ndjson"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), kind
    assert (tmp_path / "a" / "ground_truth.json").read_text() == (
        tmp_path / "b" / "ground_truth.json"
    ).read_text()


def test_another_seed_writes_another_county(tmp_path: Path) -> None:
    generate(5, tmp_path / "a", SMALL)
    generate(6, tmp_path / "b", SMALL)

    a = (tmp_path / "a" / "gps_points.ndjson").read_bytes()
    assert a != (tmp_path / "b" / "gps_points.ndjson").read_bytes()


def test_every_feed_has_rows_and_the_ground_truth_names_rule_subject_and_evidence(
    tmp_path: Path,
) -> None:
    manifest = generate(5, tmp_path, SMALL)
    truth = json.loads((tmp_path / "ground_truth.json").read_text())

    assert all(manifest["feeds"][kind]["rows"] > 0 for kind in FEED_ORDER)
    rules = {v["rule_id"] for v in truth["violations"]}
    assert len(rules) >= 15
    for v in truth["violations"]:
        assert v["evidence_key"]
        assert (
            v["subject"].get("person_id") or v["subject"].get("plate") or v["subject"]["unit_code"]
        )
    assert truth["escalations"]


def test_more_vehicles_and_denser_tracks_make_more_gps_points(tmp_path: Path) -> None:
    small = generate(5, tmp_path / "a", SMALL)["feeds"]["gps_points"]["rows"]
    big = generate(5, tmp_path / "b", Size(vehicles=60, gps_interval_s=450))["feeds"]
    assert big["gps_points"]["rows"] > 2 * small
