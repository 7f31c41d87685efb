"""Generic web post (JSON API) -> InboundReport."""

from __future__ import annotations

import json
from typing import Any

from adapters.base import AdapterError, InboundReport

OPTIONAL_STRINGS = ("title", "name", "phone", "email", "address", "category", "external_id", "district")
MAX_TEXT = 20_000


def parse_json(data: Any, raw: bytes = b"") -> InboundReport:
    """Check a JSON object's fields and build the report; every problem names its field."""
    if not isinstance(data, dict):
        raise AdapterError("body", "expected a JSON object")
    text = data.get("text")
    if text is None:
        raise AdapterError("text", "is required")
    if not isinstance(text, str):
        raise AdapterError("text", f"must be a string, not {type(text).__name__}")
    if not text.strip():
        raise AdapterError("text", "must not be empty")
    if len(text) > MAX_TEXT:
        raise AdapterError("text", f"is longer than {MAX_TEXT} characters")
    values: dict[str, str | None] = {}
    for key in OPTIONAL_STRINGS:
        value = data.get(key)
        if value is not None and not isinstance(value, (str, int)) or isinstance(value, bool):
            raise AdapterError(key, f"must be a string, not {type(value).__name__}")
        values[key] = str(value).strip() or None if value is not None else None
    public = data.get("public")  # private unless the citizen chose the public board
    if public is not None and not isinstance(public, bool):
        raise AdapterError("public", "must be true or false")
    return InboundReport(
        channel="web",
        text=text.strip(),
        external_id=values["external_id"],
        title=values["title"],
        name=values["name"],
        phone=values["phone"],
        email=values["email"],
        address=values["address"],
        district=values["district"],
        category_hint=values["category"],
        public=public,
        raw=raw or json.dumps(data, ensure_ascii=False).encode("utf-8"),
    )
