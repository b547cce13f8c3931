"""The problem-category taxonomy is data: codes, labels, groups, and a deployment's own file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libs.events import taxonomy


def test_shipped_taxonomy_has_two_levels_with_chinese_labels() -> None:
    t = taxonomy.load()
    dining = t.get("violation_dining")
    assert dining is not None
    assert (dining.label, dining.group_label, dining.dining) == (
        "违规吃喝",
        "享乐主义、奢靡之风",
        True,
    )
    assert t.label("inaction_sloth") == "庸懒散拖"
    assert t.unknown(["violation_gifts", "made_up"]) == ["made_up"]


def test_a_deployment_file_replaces_the_shipped_taxonomy(tmp_path: Path) -> None:
    path = tmp_path / "cats.json"
    path.write_text(
        json.dumps(
            {
                "version": "local-3",
                "groups": [
                    {
                        "code": "g",
                        "label": "组",
                        "categories": [{"code": "local_one", "label": "本地一类"}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    t = taxonomy.load(str(path))
    assert t.version == "local-3"
    assert t.codes() == ["local_one"]
    assert "violation_dining" not in t


def test_a_code_listed_twice_is_refused() -> None:
    doc = {
        "groups": [
            {
                "code": "g",
                "label": "组",
                "categories": [{"code": "x", "label": "一"}, {"code": "x", "label": "二"}],
            }
        ]
    }
    with pytest.raises(ValueError, match="listed twice"):
        taxonomy.parse(doc)


def test_the_national_taxonomy_has_three_levels_with_9_and_15_classes_of_the_four_winds() -> None:
    t = taxonomy.load()
    by_group: dict[str, int] = {}
    for c in t.classes():
        by_group[c.group_label] = by_group.get(c.group_label, 0) + 1

    assert by_group["享乐主义、奢靡之风"] == 9
    assert by_group["形式主义、官僚主义"] == 15
    assert by_group["群众身边不正之风和腐败问题"] >= 5
    assert by_group["腐败问题"] >= 5
    assert all(any(m.parent == c.code for m in t.categories.values()) for c in t.classes())


def test_a_manifestation_counts_under_its_class_and_inherits_its_dining_mark() -> None:
    t = taxonomy.load()
    public_dining = t.get("public_funds_dining")

    assert public_dining is not None
    assert (public_dining.level, public_dining.label, public_dining.dining) == (
        "manifestation",
        "公款吃喝",
        True,
    )
    assert t.class_of("public_funds_dining") == t.get("violation_dining")
    assert t.class_of("violation_dining") == t.get("violation_dining")


def test_codes_of_the_two_level_taxonomy_keep_working_in_every_shipped_variant() -> None:
    old = [
        "violation_dining", "violation_gifts", "violation_public_travel",
        "official_vehicle_misuse", "violation_allowances", "lavish_weddings_funerals",
        "private_club_visits", "office_space_violation", "violation_entertainment",
        "drunk_driving", "vanity_projects", "ignoring_predecessor_debts",
        "excessive_meetings_documents", "inaction_sloth", "buck_passing",
        "burdening_grassroots", "embezzlement", "misappropriation", "false_claims",
        "extortion_petty", "benefit_transfer", "bribery",
    ]  # fmt: skip
    for variant in taxonomy.VARIANTS:
        assert taxonomy.load(variant).unknown(old) == [], variant
    t = taxonomy.load()
    assert t.canonical("lavish_weddings_funerals") == "violation_weddings_funerals"
    assert t.label("vanity_projects") == "搞数字政绩"


def test_a_stored_clue_naming_a_former_code_reads_with_todays_code() -> None:
    from libs.events.contracts import registry
    from libs.events.contracts.intake import ClueReceived

    stored = {
        "clue_id": "00000000-0000-4000-8000-000000000001",
        "clue_number": "XS-2026-000001",
        "source_kind": "public_report",
        "reported_persons": [{"name": "王*", "unit": "某县财政局"}],
        "categories": ["lavish_weddings_funerals", "violation_dining"],
        "narrative": "借婚礼收受礼金",
        "received_at": "2026-03-02T02:00:00+00:00",
    }

    clue = registry.decode(ClueReceived.type_name, 3, stored)

    assert clue.categories == ["violation_weddings_funerals", "violation_dining"]  # type: ignore[attr-defined]


def test_the_47_class_local_variant_is_chosen_by_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZF_CATEGORIES_FILE", "local-47")
    taxonomy.load.cache_clear()
    try:
        t = taxonomy.load()
        assert len(t.classes()) == 47
        assert t.version == "2027-1 某市47类"
        assert t.label("fuel_card_misuse") == "违规使用公务加油卡"
    finally:
        monkeypatch.delenv("ZF_CATEGORIES_FILE")
        taxonomy.load.cache_clear()


def test_a_former_code_that_is_still_listed_is_refused() -> None:
    doc = {
        "formerly": {"x": "y"},
        "groups": [
            {
                "code": "g",
                "label": "组",
                "classes": [{"code": "x", "label": "一"}, {"code": "y", "label": "二"}],
            }
        ],
    }
    with pytest.raises(ValueError, match="still listed"):
        taxonomy.parse(doc)


def _named_categories(node: object) -> set[str]:
    """Every value of a ``category`` / ``…categories`` key in a rules document."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "category" and isinstance(value, str):
                found.add(value)
            elif key.endswith("categories") and isinstance(value, list):
                found |= {v for v in value if isinstance(v, str)}
            else:
                found |= _named_categories(value)
    elif isinstance(node, list):
        for item in node:
            found |= _named_categories(item)
    return found


@pytest.mark.parametrize(
    "rules", ["services/analysis/data/rules.json", "services/accountability/data/rules.json"]
)
def test_analysis_and_accountability_rules_name_categories_every_variant_accepts(
    rules: str,
) -> None:
    root = Path(__file__).resolve().parents[2]
    named = _named_categories(json.loads((root / rules).read_text(encoding="utf-8")))

    assert named
    for variant in taxonomy.VARIANTS:
        t = taxonomy.load(variant)
        assert named <= t.accepted(), (variant, named - t.accepted())
        assert all(t.class_of(code) is not None for code in named)


def test_a_rule_naming_a_former_code_counts_under_todays_class() -> None:
    t = taxonomy.load()

    assert "vanity_projects" in t.accepted()
    found = t.class_of("vanity_projects")
    assert found is not None
    assert (found.code, found.group_label) == ("digital_achievements", "形式主义、官僚主义")


def test_statistics_count_a_manifestation_and_a_former_code_under_todays_class() -> None:
    t = taxonomy.load()

    rows = t.by_class(
        [("violation_dining", 2), ("public_funds_dining", 1), ("vanity_projects", 1), ("x", 1)]
    )

    assert rows == [
        ("violation_dining", "违规吃喝", 3),
        ("digital_achievements", "搞数字政绩", 1),
        ("x", "x", 1),
    ]


def test_a_taxonomy_that_is_neither_shipped_nor_a_file_names_the_shipped_ones() -> None:
    with pytest.raises(FileNotFoundError, match="national, local-47"):
        taxonomy.load("local-48")
