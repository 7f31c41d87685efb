"""Shared value coercion for the web-facing adapters: text, booleans, times, bytes."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, time, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from adapters.base import AdapterError

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

MAX_BODY_BYTES = 2_000_000
MAX_TEXT = 20_000
MAX_SHORT = 500
MAX_INT_BITS = 64

# C0/C1 controls except tab and newline, lone surrogates, zero-width characters and BOMs.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_RUN_OF_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-]{2,40})""", re.I)

_TRUE = {"1", "true", "on", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "off", "no", "n", "否", "f", ""}

_CN_DATETIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*T?\s*(\d{1,2})\s*[:时點点]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2}(?:\.\d{1,6})?)\s*秒?)?\s*分?)?$"
)
_MIN_YEAR, _MAX_YEAR = 1970, 2100


def type_name(value: object) -> str:
    """Name a JSON-ish type for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def scrub(text: str) -> str:
    """Drop control characters, lone surrogates and zero-width marks; unify line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def normalize_whitespace(text: str) -> str:
    """Turn full-width and non-breaking spaces into spaces, trim lines, collapse blank-line runs."""
    text = _SPACES.sub(" ", scrub(text))
    lines = [_RUN_OF_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    """Collapse all whitespace, newlines included, to single spaces."""
    return " ".join(normalize_whitespace(text).split())


def text_value(
    value: Any,
    field: str,
    *,
    max_len: int = MAX_SHORT,
    numbers: bool = False,
    multiline: bool = False,
) -> str | None:
    """Return a stripped string for ``field`` or None when empty; reject other types."""
    if value is None:
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise AdapterError(field, "number is too large")
        value = str(value)
    if not isinstance(value, str):
        raise AdapterError(field, f"expected a string, got {type_name(value)}")
    if len(value) > max_len * 4:
        raise AdapterError(field, f"longer than {max_len} characters")
    value = normalize_whitespace(value) if multiline else one_line(value)
    if len(value) > max_len:
        raise AdapterError(field, f"longer than {max_len} characters")
    return value or None


def bool_value(value: Any, field: str, default: bool) -> bool:
    """Read a JSON boolean, 0/1, or a form word such as "on", "true", "1", "是"."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and len(value) <= 20:
        word = unicodedata.normalize("NFKC", value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return default if word == "" else False
    raise AdapterError(field, f"expected a boolean, got {type_name(value)} {str(value)[:20]!r}")


def _in_range(moment: datetime, field: str) -> datetime:
    if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
        raise AdapterError(field, f"year {moment.year} is out of range")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(timezone.utc)


def datetime_value(value: Any, field: str) -> datetime | None:
    """Parse ISO 8601 or Chinese-style local times; naive means Asia/Shanghai; return aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _in_range(value, field)
    if isinstance(value, date):
        return _in_range(datetime.combine(value, time()), field)
    if not isinstance(value, str):
        raise AdapterError(field, f"expected a date-time string, got {type_name(value)}")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    if len(text) > 64:
        raise AdapterError(field, "not a date-time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        match = _CN_DATETIME.match(text)
        if not match:
            raise AdapterError(field, f"not a date-time: {text[:40]!r}") from None
        year, month, day, hour, minute, second = match.groups()
        seconds = float(second or 0)
        try:
            moment = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                int(seconds), int(round((seconds % 1) * 1_000_000)) % 1_000_000,
            )
        except ValueError as exc:
            raise AdapterError(field, f"not a valid date-time: {exc}") from None
    return _in_range(moment, field)


def decode_text(data: bytes, field: str = "body", *, html: bool = False) -> str:
    """Decode UTF-8 (BOM or not), UTF-16 with a BOM, a declared <meta charset>, else GB18030."""
    if len(data) > MAX_BODY_BYTES:
        raise AdapterError(field, f"larger than {MAX_BODY_BYTES} bytes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    candidates = ["utf-8-sig"]
    if html:
        match = _META_CHARSET.search(data[:4096])
        if match:
            declared = match.group(1).decode("ascii").lower()
            if declared in ("gbk", "gb2312", "gb_2312-80", "x-gbk", "euc-cn"):
                declared = "gb18030"
            candidates.append(declared)
    candidates.append("gb18030")
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise AdapterError(field, "neither UTF-8 nor GB18030 text")


def form_value(form: Mapping[str, Any], key: str) -> str | None:
    """Return the first value of a form field (forms map names to lists of strings)."""
    value = form.get(key)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        value = value[0]
    if not isinstance(value, str):
        raise AdapterError(key, f"expected a string, got {type_name(value)}")
    return value


MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 100  # far above any id (a 64-bit integer has 19 digits; the adapter names a longer one); far below Python's 4,300


class _TooManyDigits(ValueError):
    pass


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise _TooManyDigits(digits)
    return int(digits)


def load_json(text: str) -> Any:
    """Parse JSON from a citizen or a system with bounds: nesting depth, integer digits, and valid Unicode.

    json.loads recurses per nesting level (100,000 levels raise RecursionError) and converts any number of
    digits (a 5,000-digit integer raises ValueError past Python's limit); a lone surrogate such as
    "\\ud800" decodes into a string no database accepts. Each is an AdapterError naming what is wrong.
    """
    depth = 0
    in_string = escaped = False
    deep_enough = text.count("[") + text.count("{") > MAX_JSON_DEPTH  # else no nesting can exceed the bound
    for char in text if deep_enough else "":  # one pass, no recursion: strings are skipped, brackets counted
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise AdapterError("body", f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        elif char in "]}":
            depth -= 1
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except _TooManyDigits:
        raise AdapterError("body", f"a JSON number has more than {MAX_JSON_INT_DIGITS} digits") from None
    except (ValueError, RecursionError) as exc:
        raise AdapterError("body", f"not valid JSON: {exc}"[:200]) from None
    bad = _first_bad_string(data)
    if bad is not None:
        raise AdapterError(bad, "contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
    return data


def _first_bad_string(data: Any) -> str | None:
    """The top-level field (or "body") holding a string with a lone surrogate, walked without recursion."""
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in data.items()] if isinstance(data, dict) else [("body", data)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return field
        elif isinstance(value, dict):
            stack.extend((field, v) for v in value.values())
            stack.extend((field, k) for k in value)
        elif isinstance(value, list):
            stack.extend((field, v) for v in value)
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")
