"""The catalogue of measures (处分处置措施目录): kept as data, versioned, one per deployment.

Each measure has a code, the Chinese label a document prints, its kind (党纪处分, 政务处分,
组织处理, 批评教育类措施 of 形态一, 移送司法), the 四种形态 it belongs to, who decides it, and
its 影响期 (``effect_months``: how long it bars promotion; ``permanent`` when it has no end).
The shipped file ``libs/events/data/measures.json`` is the national default; a deployment
points ``ZF_MEASURES_FILE`` at its own file of the same shape. Casework checks decisions
against it; the 廉政档案 reads the 影响期 from it; old events whose measures were free text
are lifted to codes through its aliases (:meth:`Catalogue.normalise`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from libs.kit.workdays import add_months

DEFAULT_FILE = Path(__file__).with_name("data") / "measures.json"


@dataclass(frozen=True)
class Kind:
    """A kind of measure, e.g. ``party`` / 党纪处分."""

    code: str
    label: str
    authority: str
    """Who decides it: ``commission`` (纪委监委), ``organisation_department``, …"""
    one_per_decision: bool = False
    """At most one measure of this kind in one decision (e.g. one 党纪处分)."""


@dataclass(frozen=True)
class Measure:
    """One measure, e.g. ``serious_warning`` / 严重警告 (党纪处分, 第二种形态, 18 个月)."""

    code: str
    label: str
    kind: Kind
    forms: frozenset[int]
    effect_months: int | None = None
    """影响期 in months, from the decision's date; None when it has none or is permanent."""
    permanent: bool = False
    probation_months: int | None = None
    """察看期 of 留党察看."""
    basis: str = ""
    """The rule the 影响期 comes from, as a clerk cites it."""
    aliases: tuple[str, ...] = ()

    @property
    def authority(self) -> str:
        """Who decides this measure (its kind's authority)."""
        return self.kind.authority

    def in_effect_on(self, decided_on: date, day: date) -> bool:
        """Whether a measure decided on ``decided_on`` still has effect on ``day``."""
        if day < decided_on:
            return False
        if self.permanent:
            return True
        if self.effect_months is None:
            return False
        return day < add_months(decided_on, self.effect_months)


@dataclass(frozen=True)
class Normalised:
    """Measures as codes, and the texts no code matched (kept, never dropped)."""

    codes: list[str] = field(default_factory=list)
    legacy: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Catalogue:
    """The deployment's measures by code, their kinds, form and authority labels."""

    version: str
    measures: dict[str, Measure]
    kinds: dict[str, Kind]
    forms: dict[int, str]
    authorities: dict[str, str]

    def __contains__(self, code: object) -> bool:
        return code in self.measures

    def get(self, code: str) -> Measure | None:
        """The measure with this code, if the catalogue has it."""
        return self.measures.get(code)

    def label(self, code: str) -> str:
        """The Chinese label; an unknown code (a legacy text) reads as itself."""
        measure = self.measures.get(code)
        return measure.label if measure else code

    def labels(self, codes: Iterable[str]) -> str:
        """Labels joined with 、, as a document lists them."""
        return "、".join(self.label(c) for c in codes)

    def of_kind(self, kind: str) -> list[Measure]:
        """The measures of one kind, in the file's order."""
        return [m for m in self.measures.values() if m.kind.code == kind]

    def of_form(self, form: int) -> list[Measure]:
        """The measures that belong to one of the 四种形态."""
        return [m for m in self.measures.values() if form in m.forms]

    def form_label(self, form: int) -> str:
        """第一种形态 … 第四种形态."""
        return self.forms.get(form, str(form))

    def refusal(self, form: int, codes: Iterable[str]) -> str | None:
        """Why these measures cannot be decided under ``form`` (Chinese), or None."""
        codes = list(codes)
        unknown = [c for c in codes if c not in self.measures]
        if unknown:
            return f"以下不是处分处置措施目录中的措施：{'、'.join(unknown)}"
        if len(set(codes)) != len(codes):
            return "同一措施不能重复填写"
        wrong = [self.measures[c] for c in codes if form not in self.measures[c].forms]
        if wrong:
            names = "、".join(f"「{m.kind.label}·{m.label}」" for m in wrong)
            allowed = "、".join(m.label for m in self.of_form(form))
            return f"{names}不属于{self.form_label(form)}；{self.form_label(form)}可选：{allowed}"
        for kind in self.kinds.values():
            same = [self.measures[c].label for c in codes if self.measures[c].kind is kind]
            if kind.one_per_decision and len(same) > 1:
                return f"一项决定只能给予一种{kind.label}，现有：{'、'.join(same)}"
        return None

    def normalise(self, texts: Iterable[str]) -> Normalised:
        """Free-text measures (codes, Chinese or English words) as codes; unmatched texts
        are returned as legacy text, in their order."""
        index = self._index()
        out = Normalised()
        for text in texts:
            code = index.get(_key(text))
            if code is None:
                out.legacy.append(text)
            elif code not in out.codes:
                out.codes.append(code)
        return out

    def _index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for m in self.measures.values():
            for name in (m.code, *m.aliases):
                index.setdefault(_key(name), m.code)
        return index


def _key(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").split())


def parse(document: dict[str, object]) -> Catalogue:
    """A catalogue from the JSON shape of ``measures.json``."""
    kinds = {
        k["code"]: Kind(
            code=k["code"],
            label=k["label"],
            authority=k["authority"],
            one_per_decision=bool(k.get("one_per_decision", False)),
        )
        for k in document["kinds"]  # type: ignore[attr-defined]
    }
    measures: dict[str, Measure] = {}
    for m in document["measures"]:  # type: ignore[attr-defined]
        if m["code"] in measures:
            raise ValueError(f"measure {m['code']!r} is listed twice")
        if m["kind"] not in kinds:
            raise ValueError(f"measure {m['code']!r} has an unknown kind {m['kind']!r}")
        measures[m["code"]] = Measure(
            code=m["code"],
            label=m["label"],
            kind=kinds[m["kind"]],
            forms=frozenset(int(f) for f in m["forms"]),
            effect_months=m.get("effect_months"),
            permanent=bool(m.get("permanent", False)),
            probation_months=m.get("probation_months"),
            basis=m.get("basis", ""),
            aliases=tuple(m.get("aliases", ())),
        )
    return Catalogue(
        version=str(document.get("version", "")),
        measures=measures,
        kinds=kinds,
        forms={int(k): v for k, v in document.get("forms", {}).items()},  # type: ignore[attr-defined]
        authorities=dict(document.get("authorities", {})),  # type: ignore[call-overload]
    )


@cache
def load(path: str | None = None) -> Catalogue:
    """The deployment's catalogue: ``path``, else ``ZF_MEASURES_FILE``, else the shipped one."""
    chosen = Path(path or os.environ.get("ZF_MEASURES_FILE") or DEFAULT_FILE)
    return parse(json.loads(chosen.read_text(encoding="utf-8")))


@cache
def shipped() -> Catalogue:
    """The shipped (national default) catalogue: upcasters read its aliases, so an old event
    reads the same in every deployment."""
    return load(str(DEFAULT_FILE))


MEASURE_COMMANDS = frozenset({"review_opinion", "decide", "decide_appeal"})
"""Casework commands whose transition details carry ``measures``."""


def lift(data: dict[str, Any], field: str, legacy_field: str) -> dict[str, Any]:
    """Upcaster step: free-text ``data[field]`` as codes of the shipped catalogue, the texts
    no code matched appended to ``data[legacy_field]`` (never dropped)."""
    found = shipped().normalise(data.get(field) or [])
    data[field] = found.codes
    data[legacy_field] = [*data.get(legacy_field, []), *found.legacy]
    return data
