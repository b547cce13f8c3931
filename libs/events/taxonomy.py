"""The problem-category taxonomy (问题类别): two levels, kept as data, one per deployment.

The shipped taxonomy is ``libs/events/data/categories.json``; a deployment points
``ZF_CATEGORIES_FILE`` at its own file of the same shape (one city lists 47 classes,
another 122 manifestations). Every service reads the same file, so a category code means
the same thing at intake, in analysis, in casework and in accountability.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("data") / "categories.json"


@dataclass(frozen=True)
class Category:
    """One concrete problem category, e.g. ``violation_dining`` / 违规吃喝."""

    code: str
    label: str
    group: str
    group_label: str
    dining: bool = False
    """Dining-related: casework's 七必问 checklist applies."""


@dataclass(frozen=True)
class Taxonomy:
    """The categories of one deployment, by code, with the file's version."""

    version: str
    categories: dict[str, Category]

    def __contains__(self, code: object) -> bool:
        return code in self.categories

    def get(self, code: str) -> Category | None:
        """The category with this code, if the taxonomy has it."""
        return self.categories.get(code)

    def label(self, code: str) -> str:
        """The Chinese label a clerk reads; an unknown code reads as itself."""
        category = self.categories.get(code)
        return category.label if category else code

    def unknown(self, codes: list[str] | tuple[str, ...]) -> list[str]:
        """The codes among ``codes`` that this taxonomy does not have."""
        return [c for c in codes if c not in self.categories]

    def codes(self) -> list[str]:
        """Every valid code, in the file's order."""
        return list(self.categories)


def parse(document: dict[str, object]) -> Taxonomy:
    """A taxonomy from the JSON shape of ``categories.json``."""
    categories: dict[str, Category] = {}
    for group in document["groups"]:  # type: ignore[attr-defined]
        for item in group["categories"]:
            if item["code"] in categories:
                raise ValueError(f"category {item['code']!r} is listed twice")
            categories[item["code"]] = Category(
                code=item["code"],
                label=item["label"],
                group=group["code"],
                group_label=group["label"],
                dining=bool(item.get("dining", False)),
            )
    return Taxonomy(version=str(document.get("version", "")), categories=categories)


@cache
def load(path: str | None = None) -> Taxonomy:
    """The deployment's taxonomy: ``path``, else ``ZF_CATEGORIES_FILE``, else the shipped one."""
    chosen = Path(path or os.environ.get("ZF_CATEGORIES_FILE") or DEFAULT_FILE)
    return parse(json.loads(chosen.read_text(encoding="utf-8")))
