"""Public message board posts (JSON or HTML form) -> InboundReport."""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import parse_qs, urlencode

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from adapters.base import AdapterError, InboundReport, RawInbound
from adapters.values import (
    MAX_BODY_BYTES,
    MAX_SHORT,
    MAX_TEXT,
    bool_value,
    datetime_value,
    form_value,
    load_json,
    normalize_whitespace,
    text_value,
    type_name,
)

FIELDS = (
    "post_id", "unit", "topic", "title", "text", "address", "name", "phone",
    "email", "user", "anonymous", "public", "time",
)

# Tags whose content is never citizen text.
_DROPPED = {
    "script": "script removed",
    "style": "style removed",
    "head": "head removed",
    "title": "head removed",
    "meta": "head removed",
    "link": "head removed",
    "noscript": "script removed",
    "template": "script removed",
    "iframe": "embedded object removed",
    "object": "embedded object removed",
    "embed": "embedded object removed",
    "svg": "embedded object removed",
    "xml": "office markup removed",
}
_BLOCKS = {
    "p", "div", "li", "ul", "ol", "tr", "table", "tbody", "thead", "tfoot", "h1", "h2", "h3",
    "h4", "h5", "h6", "blockquote", "pre", "section", "article", "header", "footer", "aside",
    "nav", "dl", "dt", "dd", "hr", "address", "center", "form", "fieldset", "figure", "main",
    "body", "html",
}
_CELLS = {"td", "th"}
_HTML_HINT = re.compile(
    r"<!--|<!\[|</?(?:p|br|div|span|li|ul|ol|font|b|i|u|s|strong|em|table|tbody|thead|tr|td|th|"
    r"h[1-6]|a|img|script|style|head|html|body|meta|link|title|section|article|blockquote|pre|"
    r"hr|sub|sup|center|label|small|big|code|iframe|noscript|xml|o:p|w:[a-z]+|st1:[a-z]+|v:[a-z]+)"
    r"(?:\s[^<>]*)?/?>|&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,10});",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^<>]*>")
_BLOCK_BREAK = object()


def looks_like_html(text: str) -> bool:
    """Tell whether text carries HTML tags, comments or entities rather than plain prose."""
    return _HTML_HINT.search(text) is not None


def clean_html(text: str, defects: list[str] | None = None) -> str:
    """Turn pasted rich-editor HTML into plain text with its paragraphs; note what was stripped."""
    notes: list[str] = [] if defects is None else defects
    if not looks_like_html(text):
        return normalize_whitespace(text)
    try:
        soup = BeautifulSoup(text, "html.parser")
    except Exception:  # bs4 raises its own errors on some malformed markup; fall back to a crude strip
        _note(notes, "unparseable html stripped")
        return normalize_whitespace(_TAG.sub(" ", text))
    return normalize_whitespace(_render(soup, notes))


def _note(defects: list[str], note: str) -> None:
    if note not in defects:
        defects.append(note)


def _render(root: Tag, defects: list[str]) -> str:
    """Walk the tree iteratively (deeply nested markup must not hit the recursion limit)."""
    out: list[object] = []
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if node is _BLOCK_BREAK:
            out.append(_BLOCK_BREAK)
            continue
        if isinstance(node, str) and not isinstance(node, NavigableString):
            out.append(node)
            continue
        if isinstance(node, Comment):
            _note(defects, "comments removed")
            continue
        if isinstance(node, (Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(node, NavigableString):
            out.append(re.sub(r"[ \t\r\n\f]+", " ", str(node)))
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "").lower()
        if name in _DROPPED or ":" in name and name.split(":", 1)[0] in ("xml", "w", "m"):
            if name in _DROPPED:
                _note(defects, _DROPPED[name])
            continue
        if name == "br":
            out.append("\n")
            continue
        children = list(node.children)
        if name in _BLOCKS:
            stack.append(_BLOCK_BREAK)
        elif name in _CELLS:
            stack.append(" ")
        stack.extend(reversed(children))
        if name in _BLOCKS:
            stack.append(_BLOCK_BREAK)
    _note(defects, "html converted to text")
    pieces: list[str] = []
    for piece in out:
        if piece is _BLOCK_BREAK:
            if pieces and not pieces[-1].endswith("\n"):
                pieces.append("\n")
        else:
            pieces.append(str(piece))
    return "".join(pieces)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value.lower()
    return ""


def _load_fields(raw: RawInbound) -> tuple[dict[str, Any], str, bytes]:
    """Return the post's fields, how they came (json/form) and the raw bytes to keep."""
    if raw.form:
        fields = {key: form_value(raw.form, key) for key in raw.form if isinstance(key, str)}
        body = raw.body or urlencode(
            [(k, v) for k, vs in raw.form.items() for v in (vs if isinstance(vs, list) else [vs])
             if isinstance(k, str) and isinstance(v, str)]
        ).encode("utf-8", "surrogatepass")
        return fields, "form", body
    if len(raw.body) > MAX_BODY_BYTES:
        raise AdapterError("body", f"larger than {MAX_BODY_BYTES} bytes")
    if not raw.body.strip():
        raise AdapterError("body", "empty request")
    try:
        text = raw.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AdapterError("body", "not UTF-8") from None
    content_type = _header(raw.headers, "content-type")
    if "x-www-form-urlencoded" in content_type:
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=200)
        except ValueError as exc:
            raise AdapterError("body", f"bad form encoding: {exc}") from None
        return {key: values[0] for key, values in parsed.items()}, "form", raw.body
    data = load_json(text)
    if not isinstance(data, dict):
        raise AdapterError("body", f"expected a JSON object, got {type_name(data)}")
    return data, "json", raw.body


def parse(raw: RawInbound) -> InboundReport:
    """Translate one board post (JSON body or HTML form) into a report."""
    fields, source, body = _load_fields(raw)
    defects: list[str] = []
    raw_text = fields.get("text")
    if raw_text is not None and not isinstance(raw_text, str):
        raise AdapterError("text", f"expected a string, got {type_name(raw_text)}")
    if raw_text is None or not raw_text.strip():
        raise AdapterError("text", "required")
    if len(raw_text) > MAX_TEXT * 5:
        raise AdapterError("text", f"longer than {MAX_TEXT} characters")
    text = clean_html(raw_text, defects)
    if not text:
        raise AdapterError("text", "no readable text after removing markup")
    if len(text) > MAX_TEXT:
        raise AdapterError("text", f"longer than {MAX_TEXT} characters")
    title = fields.get("title")
    if isinstance(title, str) and looks_like_html(title):
        title = clean_html(title, defects)
    received_at = datetime_value(fields.get("time"), "time") or (
        datetime_value(raw.received_at, "received_at") if raw.received_at else None
    )
    unknown = sorted(key for key in fields if key not in FIELDS)[:20]
    extra: dict[str, Any] = {"source": source}
    if unknown:
        extra["unknown_fields"] = [key[:60] for key in unknown]
    return InboundReport(
        channel="board",
        text=text,
        external_id=text_value(fields.get("post_id"), "post_id", max_len=64, numbers=True),
        title=text_value(title, "title", max_len=200),
        received_at=received_at,
        name=text_value(fields.get("name"), "name", max_len=100),
        phone=text_value(fields.get("phone"), "phone", max_len=40, numbers=True),
        email=text_value(fields.get("email"), "email", max_len=254),
        board_user=text_value(fields.get("user"), "user", max_len=100, numbers=True),
        anonymous=bool_value(fields.get("anonymous"), "anonymous", False),
        address=text_value(fields.get("address"), "address", max_len=MAX_SHORT),
        category_hint=text_value(fields.get("topic"), "topic", max_len=100),
        addressed_unit=text_value(fields.get("unit"), "unit", max_len=200),
        public=None if fields.get("public") in (None, "") else bool_value(fields.get("public"), "public", False),
        defects=defects,
        extra=extra,
        raw=body,
    )
