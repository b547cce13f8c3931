"""干部管理权限: jurisdiction follows who manages the cadre, not only the unit (rules as data)."""

from __future__ import annotations

import pytest

from libs.events.contracts.intake import ReportedPerson
from services.intake.domain.cadres import load_cadre_rules, parse_cadre_rules
from services.intake.domain.jurisdiction import RegistryError, assess, load_registry

REGISTRY = load_registry()
CADRES = load_cadre_rules()


def person(unit: str, rank: str | None = None, **markers: bool) -> ReportedPerson:
    return ReportedPerson(name="王*", unit=unit, rank=rank, **markers)


def test_a_city_managed_cadre_in_a_county_unit_goes_to_the_city_commission() -> None:
    verdict = assess([person("青山县交通运输局", "正处级", top_leader=True)], REGISTRY, CADRES)

    assert (verdict.outcome, verdict.authority) == ("forward", "市纪委监委")
    assert verdict.reason == "被反映人系市管干部（正处级），按干部管理权限由市纪委监委管辖"
    (finding,) = verdict.findings
    assert (finding.cadre, finding.cadre_label, finding.rank) == (
        "city_managed",
        "市管干部",
        "正处级",
    )
    assert finding.registered_as == "青山县交通运输局"


@pytest.mark.parametrize("rank", ["副县级", "县处级副职", "副处级"])
def test_deputy_county_level_leaders_are_city_managed_by_the_national_default(rank: str) -> None:
    assert assess([person("某县财政局", rank)], REGISTRY, CADRES).authority == "市纪委监委"


def test_a_county_managed_cadre_in_a_county_unit_stays_with_the_county() -> None:
    verdict = assess(
        [person("某县财政局", "正科级", top_leader=True, key_minority=True)], REGISTRY, CADRES
    )

    assert verdict.outcome == "ours"
    assert verdict.findings[0].cadre_label == "县管干部"


def test_higher_ranks_go_to_the_province_and_the_centre() -> None:
    assert assess([person("某县财政局", "副厅级")], REGISTRY, CADRES).authority == "省纪委监委"
    assert assess([person("某县财政局", "正部级")], REGISTRY, CADRES).authority == (
        "中央纪委国家监委"
    )


def test_without_a_stated_rank_the_unit_alone_decides() -> None:
    verdict = assess([person("某县财政局")], REGISTRY, CADRES)

    assert verdict.outcome == "ours"
    assert verdict.findings[0].cadre is None


def test_a_rank_the_ladder_does_not_know_waits_for_a_clerk() -> None:
    verdict = assess([person("某县财政局", "处长")], REGISTRY, CADRES)

    assert verdict.outcome == "undetermined"
    assert "处长" in verdict.reason


def test_a_city_managed_cadre_with_a_county_managed_one_needs_a_clerks_decision() -> None:
    verdict = assess(
        [person("某县财政局", "正处级"), person("某县财政局", "科员")], REGISTRY, CADRES
    )

    assert verdict.outcome == "undetermined"


def test_a_deployment_may_give_every_top_leader_to_the_city() -> None:
    rules = parse_cadre_rules(
        {
            "ranks": [{"code": "c", "label": "正科级"}],
            "rules": [
                {
                    "code": "head",
                    "label": "一把手备案",
                    "top_leader": True,
                    "authority": "市纪委监委",
                }
            ],
        }
    )

    assert assess([person("某县财政局", "正科级", top_leader=True)], REGISTRY, rules).authority == (
        "市纪委监委"
    )
    assert assess([person("某县财政局", "正科级")], REGISTRY, rules).outcome == "ours"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (
            {
                "ranks": [],
                "rules": [{"code": "x", "label": "x", "min_rank": "nope", "authority": "a"}],
            },
            "rules[0].min_rank",
        ),
        ({"ranks": [], "rules": [{"code": "x", "label": "x", "authority": "a"}]}, "rules[0]"),
        (
            {
                "ranks": [{"code": "c", "label": "正科级"}],
                "rules": [{"code": "x", "label": "x", "min_rank": "c"}],
            },
            "rules[0].authority",
        ),
    ],
)
def test_bad_cadre_rules_are_refused_naming_the_field(document: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(RegistryError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_cadre_rules(document)


def test_a_v1_forwarding_mark_judged_by_unit_alone_reads_as_v2_without_a_cadre_rule() -> None:
    from libs.events.contracts import registry
    from libs.events.contracts.intake import ClueMarkedForForwarding

    stored = {
        "clue_id": "00000000-0000-4000-8000-000000000001",
        "clue_number": "XS-2026-000001",
        "authority": "市纪委监委",
        "reason": "被反映人所在单位不属本委管辖（市纪委监委）",
        "findings": [{"unit": "市财政局", "finding": "other", "authority": "市纪委监委"}],
        "registry_version": "2026-03",
        "forward_by": "2026-03-09",
        "marked_by": "service:intake",
        "marked_at": "2026-03-02T02:00:00+00:00",
    }

    mark = registry.decode(ClueMarkedForForwarding.type_name, 1, stored)

    assert isinstance(mark, ClueMarkedForForwarding)
    assert mark.cadre_rules_version == ""
    assert (mark.findings[0].cadre, mark.findings[0].rank) == (None, None)
