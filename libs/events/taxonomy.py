"""The problem-category taxonomy (问题类别): three levels, kept as data, one per deployment.

group (大类: 享乐主义、奢靡之风 …) → class (类别: 违规吃喝 …) → manifestation (具体表现:
公款吃喝 …). Clues, analysis rules and statistics name a class or a manifestation by its
code; a manifestation counts under its class (``class_of``).

Two files ship in ``libs/events/data``: ``categories.json`` (the national default: 9
classes of 享乐主义、奢靡之风, 15 of 形式主义、官僚主义, 群众身边不正之风和腐败问题 and
corruption, each with its manifestations) and ``categories-47.json`` (one city's 47
classes). A deployment chooses with ``ZF_CATEGORIES_FILE``: ``national``, ``local-47`` or
the path of its own file of the same shape (a file of two levels, ``categories`` instead of
``classes``, still reads). Every service reads the same file, so a code means the same
thing at intake, in analysis, in casework and in accountability.

Codes are kept across versions: a file's ``formerly`` maps the codes of earlier versions
to today's, and every lookup (``get``, ``label``, ``in``, ``unknown``) goes through it, so
stored clues and rules that name an old code keep working; ``canonical`` gives the code
new events carry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")
DEFAULT_FILE = DATA / "categories.json"
VARIANTS = {"national": DEFAULT_FILE, "local-47": DATA / "categories-47.json"}
"""The shipped taxonomies a deployment may name instead of a path."""


@dataclass(frozen=True)
class Category:
    """One problem category (a class or a manifestation), e.g. ``violation_dining`` / 违规吃喝."""

    code: str
    label: str
    group: str
    group_label: str
    dining: bool = False
    """Dining-related: casework's 七必问 checklist applies."""
    parent: str | None = None
    """For a manifestation (具体表现): the code of its class."""
    parent_label: str | None = None

    @property
    def level(self) -> str:
        """``class`` (类别) or ``manifestation`` (具体表现)."""
        return "manifestation" if self.parent else "class"


@dataclass(frozen=True)
class Taxonomy:
    """The categories of one deployment, by code, with the file's version."""

    version: str
    categories: dict[str, Category]
    formerly: dict[str, str] = field(default_factory=dict)
    """Codes of earlier versions -> today's."""

    def canonical(self, code: str) -> str:
        """Today's code for ``code`` (itself unless an earlier version used it)."""
        return self.formerly.get(code, code)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.canonical(code) in self.categories

    def get(self, code: str) -> Category | None:
        """The category with this code (or an earlier code of it), if the taxonomy has it."""
        return self.categories.get(self.canonical(code))

    def label(self, code: str) -> str:
        """The Chinese label a clerk reads; an unknown code reads as itself."""
        category = self.get(code)
        return category.label if category else code

    def class_of(self, code: str) -> Category | None:
        """The class a code counts under: itself for a class, the parent of a manifestation."""
        category = self.get(code)
        if category is None or category.parent is None:
            return category
        return self.categories[category.parent]

    def unknown(self, codes: list[str] | tuple[str, ...]) -> list[str]:
        """The codes among ``codes`` that this taxonomy does not have."""
        return [c for c in codes if c not in self]

    def codes(self) -> list[str]:
        """Every valid code of today, classes and manifestations, in the file's order."""
        return list(self.categories)

    def accepted(self) -> frozenset[str]:
        """Every code a rule or a clue may name: today's and the earlier ones they replaced."""
        return frozenset(self.categories) | frozenset(self.formerly)

    def by_class(self, counts: Iterable[tuple[str, int]]) -> list[tuple[str, str, int]]:
        """Counts per code summed per class (a manifestation under its class, a former code
        under today's), as (class code, label, count), largest first: what statistics show."""
        summed: dict[str, int] = {}
        for code, count in counts:
            found = self.class_of(code)
            key = found.code if found else code
            summed[key] = summed.get(key, 0) + count
        ordered = sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(code, self.label(code), count) for code, count in ordered]

    def classes(self) -> list[Category]:
        """The classes (second level), in the file's order."""
        return [c for c in self.categories.values() if c.parent is None]


def parse(document: dict[str, Any]) -> Taxonomy:
    """A taxonomy from the JSON shape of ``categories.json`` (or the older two-level one)."""
    categories: dict[str, Category] = {}

    def add(category: Category) -> None:
        if category.code in categories:
            raise ValueError(f"category {category.code!r} is listed twice")
        categories[category.code] = category

    for group in document["groups"]:
        for item in group.get("classes", group.get("categories", [])):
            dining = bool(item.get("dining", False))
            add(Category(item["code"], item["label"], group["code"], group["label"], dining))
            for sub in item.get("manifestations", []):
                add(
                    Category(
                        code=sub["code"],
                        label=sub["label"],
                        group=group["code"],
                        group_label=group["label"],
                        dining=bool(sub.get("dining", dining)),
                        parent=item["code"],
                        parent_label=item["label"],
                    )
                )
    formerly = dict(document.get("formerly", {}))
    for old, new in formerly.items():
        if new not in categories:
            raise ValueError(f"formerly maps {old!r} to {new!r}, which is not listed")
        if old in categories:
            raise ValueError(f"formerly maps {old!r}, which is still listed")
    return Taxonomy(str(document.get("version", "")), categories, formerly)


@cache
def load(path: str | None = None) -> Taxonomy:
    """The deployment's taxonomy: ``path``, else ``ZF_CATEGORIES_FILE``, else the national one.

    Either may name a shipped variant (``national``, ``local-47``) instead of a path.
    """
    chosen = path or os.environ.get("ZF_CATEGORIES_FILE") or "national"
    file = VARIANTS.get(chosen, Path(chosen))
    if not file.is_file():
        raise FileNotFoundError(
            f"problem categories {chosen!r}: no such file; the shipped ones are "
            f"{', '.join(VARIANTS)} (ZF_CATEGORIES_FILE)"
        )
    return parse(json.loads(file.read_text(encoding="utf-8")))


def canonical_codes(codes: list[str]) -> list[str]:
    """``codes`` as today's codes of the deployment's taxonomy (upcasting old events)."""
    tax = load()
    return list(dict.fromkeys(tax.canonical(c) for c in codes))
