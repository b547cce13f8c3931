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
