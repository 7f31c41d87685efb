"""adapters/ and dedupe/ stay pure: every module of both packages (found by walking them, so a new module is
checked without being listed) imports only the standard library, the two packages themselves and the few
parsing libraries they are allowed; never Flask, a database, a queue, the network or the gateway.
The import contract in pyproject.toml (lint-imports, run by .ci/run) states the same for the whole graph."""

from __future__ import annotations

import ast
import pkgutil
import sys
from pathlib import Path

import pytest

import adapters
import dedupe

ALLOWED_THIRD_PARTY = {"phonenumbers", "bs4"}  # parsing only: phone numbers, board HTML
OWN = {"adapters", "dedupe"}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in (adapters, dedupe):
        root = Path(package.__file__).parent
        found.append((package.__name__, root / "__init__.py"))
        for info in pkgutil.walk_packages([str(root)], prefix=package.__name__ + "."):
            path = root.joinpath(*info.name.split(".")[1:])
            found.append((info.name, path / "__init__.py" if info.ispkg else path.with_suffix(".py")))
    return found


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_walk_finds_every_module_of_both_packages():
    names = {name for name, _ in modules()}
    assert {"adapters.sms", "adapters.email", "adapters.web", "dedupe.decide", "dedupe.place"} <= names
    assert len([n for n in names if n.startswith("adapters.")]) == len(list(Path(adapters.__file__).parent.glob("*.py"))) - 1


@pytest.mark.parametrize("name,path", modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_pure_module_imports_only_the_standard_library_and_its_parsers(name: str, path: Path) -> None:
    outside = imported_roots(path) - set(sys.stdlib_module_names) - OWN - ALLOWED_THIRD_PARTY - {"__future__"}
    assert not outside, f"{name} imports {sorted(outside)}"
