"""Every text a clerk reads is Chinese; English stays in machine fields (codes, types).

Scans what needs no server: the validation-reason catalogue, every label catalogue of the
four services and the kit (Python and data files), and every refusal a service can give
(its detail, title and reason as written in the code).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from libs.kit import reasons
from tests.chinese import english_prose, english_words

ROOT = Path(__file__).resolve().parents[3]
CODE = [ROOT / "services", ROOT / "libs"]
CJK = re.compile(r"[\u4e00-\u9fff]")
SAMPLE_CTX = {
    "min_length": 2, "max_length": 50, "pattern": "^[0-9]+$", "gt": 0, "ge": 1, "lt": 9,
    "le": 9, "multiple_of": 5, "max_digits": 4, "decimal_places": 2,
    "expected": "'letter', 'visit' or 'phone'", "error": "must be positive",
}  # fmt: skip


@cache
def _parsed() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for root in CODE
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    yield from _parsed()


@pytest.mark.parametrize("kind", sorted({*reasons._FIXED, *reasons._FORMATTED, "no_such_type"}))
def test_every_validation_reason_is_chinese(kind: str) -> None:
    said = reasons.reason({"type": kind, "ctx": SAMPLE_CTX}, "served_on")
    assert CJK.search(said), said
    # The field, the pattern and the allowed values are what the caller must send: codes.
    for code in ("served_on", "^[0-9]+$", "letter", "visit", "phone"):
        said = said.replace(code, "")
    assert english_words(said) == [], said


_CATALOGUE = re.compile(r"(LABELS?|TITLES?|HEADER|ACTIONS|_STATES|^SOURCE_KINDS)$")


def _literal_values(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Dict):
        for v in node.values:
            yield from _literal_values(v)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for v in node.elts:
            yield from _literal_values(v)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value


def _python_catalogues() -> Iterator[tuple[str, str]]:
    for path, tree in _sources():
        for node in tree.body:
            target = (
                node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            )
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and _CATALOGUE.search(target.id) and value is not None:
                for text in _literal_values(value):
                    yield f"{path.relative_to(ROOT)}:{target.id}", text


_LABEL_KEYS = re.compile(
    r"^(label|title|labels|.*_labels|responsibilities|authorities|offices|body|addressee)$"
)


def _data_labels(doc: Any, where: str, inside: bool = False) -> Iterator[tuple[str, str]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _data_labels(v, f"{where}.{k}", inside or bool(_LABEL_KEYS.match(str(k))))
    elif isinstance(doc, list):
        for v in doc:
            yield from _data_labels(v, where, inside)
    elif isinstance(doc, str) and inside:
        yield where, doc


def _json_catalogues() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "services").glob("*/data/**/*.json")):
        yield from _data_labels(
            json.loads(path.read_text(encoding="utf-8")), str(path.relative_to(ROOT))
        )
    yield from _data_labels(
        json.loads((ROOT / "libs/events/data/taxonomy.json").read_text(encoding="utf-8"))
        if (ROOT / "libs/events/data/taxonomy.json").exists() else {}, "taxonomy",
    )  # fmt: skip


def test_every_label_catalogue_speaks_chinese() -> None:
    found = [*_python_catalogues(), *_json_catalogues()]
    assert len(found) > 100  # the scan sees the catalogues
    english = [(where, text) for where, text in found if english_words(text)]
    assert english == []


# Calls whose arguments are what a clerk reads, and where the human ones start.
_HUMAN_ARGS = {"Refused": 1, "Problem": 2, "invalid_field": 1, "ParamError": 1}
_HUMAN_KEYWORDS = {"detail", "title", "reason", "why"}


def _texts(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value if isinstance(v, ast.Constant) else "〇" for v in node.values)
    elif isinstance(node, ast.BinOp):
        yield from _texts(node.left)
        yield from _texts(node.right)


def _refusals() -> Iterator[tuple[str, str]]:
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name not in _HUMAN_ARGS:
                continue
            args = [*node.args[_HUMAN_ARGS[name] :]]
            args += [k.value for k in node.keywords if k.arg in _HUMAN_KEYWORDS]
            for arg in args:
                for text in _texts(arg):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", text


def test_every_refusal_a_clerk_reads_is_chinese() -> None:
    found = list(_refusals())
    assert len(found) > 200  # the scan sees the services' refusals
    english = [(where, text) for where, text in found if english_prose(text)]
    assert english == []
    untranslated = [
        (where, text) for where, text in found if len(text) > 12 and not CJK.search(text)
    ]
    assert untranslated == []
