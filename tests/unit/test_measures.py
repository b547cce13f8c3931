"""The measures catalogue is data: kinds, 形态, authority and 影响期, with a deployment's own file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from libs.events import measures


def test_party_and_administrative_sanctions_are_catalogued_with_their_form_and_effect() -> None:
    c = measures.load()
    party = {m.label: (sorted(m.forms), m.effect_months) for m in c.of_kind("party")}
    assert party == {
        "警告": ([2], 12),
        "严重警告": ([2], 18),
        "撤销党内职务": ([3], 24),
        "留党察看一年": ([3], 36),
        "留党察看二年": ([3], 48),
        "开除党籍": ([3, 4], 60),
    }
    administrative = {m.label: m.effect_months for m in c.of_kind("administrative")}
    assert administrative == {
        "警告": 6,
        "记过": 12,
        "记大过": 18,
        "降级": 24,
        "撤职": 24,
        "开除": None,
    }
    assert c.get("dismissal") is not None and c.get("dismissal").permanent  # type: ignore[union-attr]
    assert c.get("probation_two_years").probation_months == 24  # type: ignore[union-attr]
    assert {m.label for m in c.of_form(1)} >= {"谈话提醒", "批评教育", "责令检查", "诫勉"}
    assert {m.kind.label for m in c.of_kind("organisational")} == {"组织处理"}
    assert all(m.authority == "organisation_department" for m in c.of_kind("organisational"))
    assert c.get("serious_warning").authority == "commission"  # type: ignore[union-attr]


def test_a_sanction_is_in_effect_for_its_period_from_the_decision() -> None:
    warning = measures.load().get("admin_warning")
    assert warning is not None
    decided = date(2026, 1, 31)
    assert warning.in_effect_on(decided, date(2026, 7, 30))
    assert not warning.in_effect_on(decided, date(2026, 7, 31))
    assert not warning.in_effect_on(decided, date(2026, 1, 30))


def test_a_measure_outside_the_decided_form_is_refused_in_chinese() -> None:
    c = measures.load()
    why = c.refusal(1, ["expulsion"])
    assert why is not None and "开除党籍" in why and "第一种形态" in why
    assert c.refusal(2, ["serious_warning", "demerit"]) is None
    assert "不是处分处置措施目录" in (c.refusal(2, ["made_up"]) or "")
    assert "只能给予一种党纪处分" in (c.refusal(2, ["warning", "serious_warning"]) or "")


def test_free_text_measures_are_lifted_to_codes_and_unknown_ones_kept() -> None:
    found = measures.load().normalise(["talk", "严重警告", "Serious Warning", "记过", "另行处理"])
    assert found.codes == ["talk_reminder", "serious_warning", "demerit"]
    assert found.legacy == ["另行处理"]
    # 警告 alone could be a party or an administrative warning: kept as written.
    assert measures.load().normalise(["警告"]).legacy == ["警告"]


def test_a_deployment_file_replaces_the_shipped_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "measures.json"
    path.write_text(
        json.dumps(
            {
                "version": "local-1",
                "kinds": [{"code": "party", "label": "党纪处分", "authority": "commission"}],
                "measures": [{"code": "warning", "label": "警告", "kind": "party", "forms": [2]}],
            }
        ),
        encoding="utf-8",
    )
    local = measures.load(str(path))
    assert local.version == "local-1" and list(local.measures) == ["warning"]
