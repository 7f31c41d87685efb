"""Load the adapters' payload fixture files for table-driven tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def cases(folder: str, suffix: str = ".json") -> list[Path]:
    """List the fixture files of one folder, sorted, for parametrize."""
    return sorted((FIXTURES / folder).glob(f"*{suffix}"))


def load(path: Path) -> dict[str, Any]:
    """Read one JSON fixture."""
    return json.loads(path.read_text(encoding="utf-8"))


def as_comparable(value: Any) -> Any:
    """Render datetimes as ISO strings so fixtures can state them."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
