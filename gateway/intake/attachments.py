"""Attachment files: written under DATA_DIR/attachments/<report id>/ with safe names, after the report commits.

Photos get a thumbnail, made with Pillow before the report's transaction begins (so no database lock waits on
it): turned upright by its EXIF orientation, bounded to THUMB_BOX, re-encoded as a JPEG that carries no
metadata (no camera, no place, no comment). An image whose header announces more than MAX_PIXELS (a
decompression bomb) or that Pillow cannot read gets no thumbnail: it stays an attachment, offered to staff as a
download and never rendered. Only the formats phones and mail programs send are opened.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass
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


THUMB_BOX = (480, 480)  # pixels: a card on the board, a phone's width
MAX_PIXELS = 50_000_000  # a 50-megapixel camera; a decompression bomb announces far more
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")  # what phones and mail programs send: no other decoder is ever run


@dataclass(frozen=True)
class Thumb:
    """A photo's thumbnail: a JPEG without metadata, and the original's size."""

    jpeg: bytes
    width: int
    height: int


def thumbnail(data: bytes) -> Thumb | None:
    """The thumbnail of an image, or None for anything that is not a readable photo of a sane size."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:  # reads the header only
                width, height = image.size
                if width * height > MAX_PIXELS:
                    log.warning("image of %dx%d pixels not rendered (over %d)", width, height, MAX_PIXELS)
                    return None
                image.draft("RGB", (THUMB_BOX[0] * 2, THUMB_BOX[1] * 2))  # JPEG: decode at a reduced scale
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail(THUMB_BOX)
                if upright.mode != "RGB":  # transparency on white, palettes and greys to colour
                    rgba = upright.convert("RGBA")
                    upright = Image.new("RGB", rgba.size, (255, 255, 255))
                    upright.paste(rgba, mask=rgba.getchannel("A"))
                out = io.BytesIO()
                upright.save(out, "JPEG", quality=82)  # no exif= and no info copied: the metadata is gone
                return Thumb(out.getvalue(), width, height)
    except Exception as exc:  # noqa: BLE001  a hostile file may make any decoder raise anything: never a photo
        log.info("attachment not rendered: %s: %s", type(exc).__name__, str(exc)[:200])
        return None


def thumbnails(items: list[Attachment], max_bytes: int) -> list[Thumb | None]:
    """The thumbnail of each attachment that will be kept (None for the rest); made outside any transaction."""
    return [thumbnail(item.data) if item.data is not None and len(item.data) <= max_bytes else None for item in items]


def plan(report_id: int, attachments: list[Attachment], max_bytes: int,
         thumbs: list[Thumb | None] | None = None) -> list[dict[str, Any]]:
    """The metadata stored on the report; `path` (relative to the data folder) for each file that will be kept,
    `thumb` and the original's `width` and `height` for each photo."""
    rows = []
    for index, item in enumerate(attachments, start=1):
        row: dict[str, Any] = {"filename": item.filename, "content_type": item.content_type, "size": item.size,
                               "url": item.url}
        if item.data is not None:
            if len(item.data) > max_bytes:
                row["not_kept"] = f"larger than {max_bytes} bytes (the raw message still has it)"
            else:
                row["path"] = f"attachments/{report_id}/{safe_name(item.filename, index)}"
                thumb = thumbs[index - 1] if thumbs and index <= len(thumbs) else None
                if thumb is not None:
                    row.update(thumb=f"attachments/{report_id}/thumbs/{index:02d}.jpg", width=thumb.width,
                               height=thumb.height)
        rows.append(row)
    return rows


def write(data_dir: str, rows: list[dict[str, Any]], attachments: list[Attachment],
          thumbs: list[Thumb | None] | None = None) -> None:
    """Write the planned files and thumbnails; one that cannot be written is logged (the raw message keeps it)."""
    root = Path(data_dir).resolve()
    for index, (row, item) in enumerate(zip(rows, attachments)):
        thumb = thumbs[index] if thumbs and index < len(thumbs) else None
        for key, data in (("path", item.data), ("thumb", thumb.jpeg if thumb else None)):
            if key not in row or data is None:
                continue
            target = (root / row[key]).resolve()
            if root / "attachments" not in target.parents:
                raise ValueError(f"attachment path {row[key]!r} leaves the attachment folder")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            except OSError as exc:
                log.error("attachment %s not written: %s", row[key], exc)


def stored_file(data_dir: str, row: dict[str, Any], key: str) -> Path | None:
    """The file a report's attachment row names under ``key`` (`path` or `thumb`), if it is there and inside
    the attachment folder."""
    relative = row.get(key)
    if not isinstance(relative, str) or not relative:
        return None
    root = Path(data_dir).resolve()
    target = (root / relative).resolve()
    if root / "attachments" not in target.parents or not target.is_file():
        return None
    return target
