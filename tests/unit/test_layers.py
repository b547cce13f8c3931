"""The floors of the tree: ``libs/`` is a library, below the services and the command."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE_LIBS = ("services", "zhengfeng", "console")


def _imported(tree: ast.AST) -> list[str]:
    """Every module a file imports, by statement or by ``import_module("…")``."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
        ):
            first = node.args[0]
            if isinstance(first, ast.JoinedStr) and first.values:
                first = first.values[0]  # f"services.{name}.app": its literal start
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
    return names


def test_nothing_under_libs_imports_the_services_or_the_command() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "libs").rglob("*.py"))
        for name in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] in ABOVE_LIBS
    ]
    assert not offenders, offenders


def test_the_check_sees_every_way_of_importing() -> None:
    tree = ast.parse(
        "import services.intake\n"
        "from zhengfeng import cli\n"
        "importlib.import_module(f'services.{name}.app')\n"
        "import_module('services.casework')\n"
        "from . import sibling\n"
    )

    assert sorted(_imported(tree)) == [
        "services.",
        "services.casework",
        "services.intake",
        "zhengfeng",
    ]


def test_the_console_knows_the_services_only_by_their_http_apis() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "console").rglob("*.py"))
        for name in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] in ("services", "zhengfeng")
    ]
    assert not offenders, offenders
