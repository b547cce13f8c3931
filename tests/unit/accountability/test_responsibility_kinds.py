"""问责条例 第六条: 全面/主要/重要领导责任 and 集体/个人责任 on every 问责 measure."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from libs.events.contracts import registry
from libs.events.contracts.accountability import MeasureProposed, MeasureTookEffect
from services.accountability.domain.errors import Refused
from services.accountability.domain.inquiry import DecideMeasure, ProposeMeasure, RecordFinding
from services.accountability.domain.rules import load_kinds
from tests.unit.accountability.test_inquiry import RULES, opened, run


def test_each_measure_names_whose_responsibility_of_which_kind() -> None:
    committee, secretary, member = uuid4(), uuid4(), uuid4()
    state, events = run(
        opened(key_area=False),
        RecordFinding("party_committee", False, ("警示教育流于形式",)),
        RecordFinding("first_responsible", False, ("未履行第一责任人职责",)),
        RecordFinding("department_leader", False, ("对财务科疏于管理",)),
        ProposeMeasure(committee, "party_committee", "circulation"),
        ProposeMeasure(secretary, "first_responsible", "circulation"),
        ProposeMeasure(
            member, "department_leader", "admonition", "", "important_leadership", "collective"
        ),
        DecideMeasure(committee, "commission", True),
    )
    kinds = {
        m.proposed.party_id: (m.proposed.responsibility_kind, m.proposed.bearing)
        for m in state.measures.values()
    }
    assert kinds == {
        "party_committee": ("overall_leadership", "collective"),
        "first_responsible": ("main_leadership", "individual"),
        "department_leader": ("important_leadership", "collective"),
    }
    (took,) = [e for e in events if isinstance(e, MeasureTookEffect)]
    assert (took.party_id, took.responsibility_kind, took.bearing) == (
        "party_committee",
        "overall_leadership",
        "collective",
    )


def test_overall_leadership_responsibility_is_the_organisations_and_individual_is_a_leaders() -> (
    None
):
    state, _ = run(
        opened(key_area=False),
        RecordFinding("party_committee", False, ("警示教育流于形式",)),
        RecordFinding("first_responsible", False, ("未履行第一责任人职责",)),
    )
    with pytest.raises(Refused) as leader_overall:
        run(
            state,
            ProposeMeasure(uuid4(), "first_responsible", "circulation", "", "overall_leadership"),
        )
    assert leader_overall.value.field == "responsibility_kind"
    assert "全面领导责任只适用于党组织" in leader_overall.value.detail
    with pytest.raises(Refused) as organisation_individual:
        run(
            state, ProposeMeasure(uuid4(), "party_committee", "circulation", "", None, "individual")
        )
    assert organisation_individual.value.field == "bearing"
    with pytest.raises(Refused) as unknown:
        run(state, ProposeMeasure(uuid4(), "first_responsible", "circulation", "", "chief"))
    assert unknown.value.slug == "unknown-responsibility-kind"
    assert "主要领导责任" in unknown.value.detail


def test_measures_recorded_before_kinds_were_named_read_as_legacy_and_are_kept() -> None:
    stored = {
        "inquiry_id": str(uuid4()),
        "measure_id": str(uuid4()),
        "party_id": "first_responsible",
        "measure": "admonition",
        "authority": "commission",
        "review_required": False,
        "proposed_by": "operator:o",
        "proposed_at": datetime(2025, 5, 1, tzinfo=UTC).isoformat(),
    }
    old = registry.decode(MeasureProposed.type_name, 1, stored)
    assert isinstance(old, MeasureProposed)
    assert (old.responsibility_kind, old.bearing) == ("unknown", "unknown")
    took = registry.decode(
        MeasureTookEffect.type_name,
        1,
        {k: stored[k] for k in ("inquiry_id", "measure_id", "party_id", "measure")}
        | {"effective_at": stored["proposed_at"]},
    )
    assert isinstance(took, MeasureTookEffect) and took.responsibility_kind == "unknown"
    catalogue = RULES.responsibility_kinds
    assert (
        catalogue.kind_label("unknown") == catalogue.bearing_label("unknown") == "未区分（旧记录）"
    )


def test_the_responsibility_kinds_catalogue_is_data_with_chinese_labels() -> None:
    catalogue = load_kinds()
    assert {k: r.label for k, r in catalogue.kinds.items()} == {
        "overall_leadership": "全面领导责任",
        "main_leadership": "主要领导责任",
        "important_leadership": "重要领导责任",
    }
    assert {k: r.label for k, r in catalogue.bearings.items()} == {
        "collective": "集体责任",
        "individual": "个人责任",
    }
    for default in catalogue.defaults.values():
        assert default.kind in catalogue.kinds and default.bearing in catalogue.bearings
