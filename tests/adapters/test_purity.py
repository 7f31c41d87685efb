"""The web adapters stay pure: no Flask, database, queue or gateway imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FORBIDDEN = {"flask", "sqlmodel", "sqlalchemy", "rq", "redis", "gateway", "worker"}
MODULES = ["values", "board", "board_import", "hotline", "open311"]
ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"


@pytest.mark.parametrize("module", MODULES)
def test_adapter_module_imports_nothing_outside_the_pure_layer(module: str) -> None:
    tree = ast.parse((ADAPTERS / f"{module}.py").read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    }
    assert not imported & FORBIDDEN
