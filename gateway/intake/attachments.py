"""Attachment files: written under DATA_DIR/attachments/<report id>/ with safe names, after the report commits."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from adapters.base import Attachment

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
MAX_NAME_BYTES = 200  # well under the usual 255-byte limit of a file name


def safe_name(filename: str | None, index: int) -> str:
    """A file name that stays inside its folder: no path parts, no leading dots, no control characters."""
    name = unicodedata.normalize("NFKC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).lstrip("._")
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    # File systems allow 255 bytes per name: 100 CJK characters are 300. Cut the stem at a character.
    stem = stem.encode("utf-8")[:MAX_NAME_BYTES - len(ext) - 4].decode("utf-8", "ignore").rstrip("._")
    name = f"{stem}.{ext}" if ext and stem else stem or ext
    return f"{index:02d}-{name or 'attachment'}"


def plan(report_id: int, attachments: list[Attachment], max_bytes: int) -> list[dict[str, Any]]:
    """The metadata stored on the report; `path` (relative to the data folder) for each file that will be kept."""
    rows = []
    for index, item in enumerate(attachments, start=1):
        row: dict[str, Any] = {"filename": item.filename, "content_type": item.content_type, "size": item.size,
                               "url": item.url}
        if item.data is not None:
            if len(item.data) > max_bytes:
                row["not_kept"] = f"larger than {max_bytes} bytes (the raw message still has it)"
            else:
                row["path"] = f"attachments/{report_id}/{safe_name(item.filename, index)}"
        rows.append(row)
    return rows


def write(data_dir: str, rows: list[dict[str, Any]], attachments: list[Attachment]) -> None:
    """Write the planned files; a file that cannot be written is logged (the raw message keeps the bytes)."""
    root = Path(data_dir).resolve()
    for row, item in zip(rows, attachments):
        if "path" not in row or item.data is None:
            continue
        target = (root / row["path"]).resolve()
        if root / "attachments" not in target.parents:
            raise ValueError(f"attachment path {row['path']!r} leaves the attachment folder")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.data)
        except OSError as exc:
            log.error("attachment %s not written: %s", row["path"], exc)
