"""E-mail adapter: a raw RFC 5322 message (or a SendGrid/Mailgun inbound form) -> InboundReport."""

from __future__ import annotations

import binascii
import codecs
import hashlib
import json
import quopri
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.errors import MessageError
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from adapters.base import AdapterError, Attachment, InboundReport, RawInbound
from adapters.case_number import find_case_ref
from adapters.mailtext import html_to_text, strip_quoted, tidy

MAX_BYTES = 10 * 1024 * 1024
FORWARD_MARK = "---------- 转发的邮件 / Forwarded message ----------"

_GB_FAMILY = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "euc-cn", "euccn", "cp936", "csgb2312", "x-gb2312", "hz-gb-2312"}
_BIG5_FAMILY = {"big5", "big-5", "x-big5", "cn-big5", "csbig5", "cp950"}
_FALLBACKS = ("utf-8", "gb18030", "big5")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_ONLY_SPACE = re.compile(r"^[ \t\r\n]*$")
_MSGID = re.compile(r"<([^<>\s]+)>")
# What the stdlib e-mail package (and codecs, base64, bs4) raise on malformed input.
_PARSE_ERRORS = (
    LookupError, ValueError, TypeError, AttributeError, UnicodeError, AssertionError, OverflowError,
    RecursionError, MessageError,
)
_SURROGATES = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n[ \t]*")
_ADDRESS = re.compile(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
_BULK = {"bulk", "junk", "list"}
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


# --- bytes and charsets ----------------------------------------------------------------------


def _codec(charset: str | None) -> str | None:
    """Return a usable text codec name for a declared charset, or None when Python has none."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    if name.startswith("charset="):
        name = name[len("charset="):].strip("\"'")
    if name in _GB_FAMILY:
        return "gb18030"
    if name in _BIG5_FAMILY:
        return "big5hkscs"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


_LATIN_ISOLATED = re.compile(rb"[\x80-\xff]{2}")


def _looks_latin(data: bytes) -> bool:
    """Tell whether 8-bit bytes read as accented Latin letters (isolated high bytes), not CJK pairs."""
    high = [b for b in data if b >= 0x80]
    return bool(high) and not _LATIN_ISOLATED.search(data) and all(b >= 0xC0 and b not in (0xD7, 0xF7) for b in high)


def _guess(data: bytes, hints: Iterable[str] = ()) -> tuple[str, str]:
    """Decode undeclared bytes: utf-8, the message's own charsets, gb18030, big5, then latin-1; return (text, codec)."""
    candidates = ["utf-8", *[c for c in (_codec(h) for h in hints) if c], "gb18030", "big5hkscs"]
    for i, codec in enumerate(dict.fromkeys(candidates)):
        if codec == "gb18030" and _looks_latin(data):
            return data.decode("latin-1"), "latin-1"
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError, ValueError, TypeError):
            continue
    mostly_utf8 = data.decode("utf-8", errors="replace")
    if mostly_utf8.count("\ufffd") <= max(1, len(mostly_utf8) // 50):
        return mostly_utf8, "utf-8/replace"
    return data.decode("latin-1"), "latin-1"


def decode_bytes(
    data: bytes, charset: str | None, defects: list[str] | None = None, hints: Iterable[str] = ()
) -> str:
    """Decode text bytes: the declared charset, then utf-8, gb18030, big5, then latin-1; note fallbacks."""
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError, TypeError):
            pass
    elif charset and defects is not None:
        defects.append(f"UnknownCharset:{charset.strip()[:40]}")
    if data.isascii():
        return data.decode("ascii")
    text, used = _guess(data, hints)
    if defects is not None and (charset or used in ("latin-1", "utf-8/replace")):
        defects.append(f"CharsetFallback:{(charset or 'none').strip()[:40]}->{used}")
    return text


def _raw_bytes(value: str) -> bytes:
    """Return the original bytes behind a header string that the parser surrogate-escaped."""
    return value.encode("utf-8", "surrogateescape")


def _decode_encoded_word(charset: str, kind: str, payload: str) -> bytes:
    """Return the bytes of one RFC 2047 encoded word, tolerating broken padding."""
    if kind.upper() == "B":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return binascii.a2b_base64(cleaned)
        except (binascii.Error, ValueError):
            return b""
    raw = payload.replace("_", " ").encode("ascii", "replace")
    return quopri.decodestring(raw)


def decode_header_value(value: Any, defects: list[str] | None = None, hints: Iterable[str] = ()) -> str:
    """Decode a raw header value: unfold, raw 8-bit bytes, RFC 2047 words (also split across lines)."""
    if value is None:
        return ""
    text = str(value)
    if _SURROGATES.search(text):  # raw 8-bit bytes the parser kept as surrogate escapes
        text, _ = _guess(_raw_bytes(text), hints)
        if defects is not None:
            defects.append("RawEightBitHeader")
    text = _FOLD.sub(" ", text)
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            out.append(decode_bytes(bytes(pending[1]), pending[0].split("*", 1)[0], defects))
            pending = None

    for match in _ENCODED_WORD.finditer(text):
        between = text[pos : match.start()]
        if not (pending is not None and _ONLY_SPACE.match(between)):
            flush()
            out.append(between)
        charset = match.group(1)
        word = _decode_encoded_word(charset, match.group(2), match.group(3))
        # adjacent words in one charset are joined as bytes: clients split multibyte characters
        if pending is not None and pending[0].lower() == charset.lower():
            pending[1].extend(word)
        else:
            flush()
            pending = (charset, bytearray(word))
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out).strip()


# --- headers ---------------------------------------------------------------------------------


def _raw_header(msg: Message, name: str) -> str | None:
    """Return the first raw (undecoded) value of a header, never raising on malformed headers."""
    lname = name.lower()
    try:
        items = msg.raw_items() if hasattr(msg, "raw_items") else msg.items()
        for key, value in items:
            if str(key).lower() == lname:
                return value if isinstance(value, str) else str(value)
    except _PARSE_ERRORS:  # compat32 fallback below
        pass
    try:
        fallback = Message.get(msg, name)
    except _PARSE_ERRORS:
        return None
    return None if fallback is None else str(fallback)


def _raw_items(msg: Message) -> list[tuple[str, str]]:
    """Return a message's raw header pairs, never raising."""
    try:
        items = msg.raw_items() if hasattr(msg, "raw_items") else msg.items()
        return [(str(k), str(v)) for k, v in items]
    except _PARSE_ERRORS:
        return []


def _raw_headers(msg: Message, name: str) -> list[str]:
    """Return every raw value of a header."""
    lname = name.lower()
    try:
        items = msg.raw_items() if hasattr(msg, "raw_items") else msg.items()
        return [str(v) for k, v in items if str(k).lower() == lname]
    except _PARSE_ERRORS:
        return []


def _message_ids(*values: str | None) -> list[str]:
    """Return the message ids in In-Reply-To/References values, in order, without duplicates."""
    ids: list[str] = []
    for value in values:
        if not value:
            continue
        text = _FOLD.sub(" ", decode_header_value(value))
        found = _MSGID.findall(text) or [t.strip("<>,;") for t in text.split() if "@" in t]
        for item in found:
            if item and item not in ids:
                ids.append(item)
    return ids


def _normalize_message_id(value: str | None) -> str | None:
    """Return a Message-ID without angle brackets and whitespace, or None."""
    ids = _message_ids(value)
    if ids:
        return ids[0][:998]
    text = decode_header_value(value).strip().strip("<>").strip() if value else ""
    return text[:998] or None


def _address(
    value: str | None, defects: list[str], label: str, hints: tuple[str, ...] = ()
) -> tuple[str | None, str | None]:
    """Return (display name, lower-cased address) of an address header."""
    if value is None:
        defects.append(f"Missing{label}")
        return None, None
    unfolded = _FOLD.sub(" ", value)
    try:
        name, addr = parseaddr(unfolded)
    except _PARSE_ERRORS:
        name, addr = "", ""
    if "@" not in addr:
        decoded = decode_header_value(unfolded, None, hints)
        match = _ADDRESS.search(decoded)
        addr = match.group(0) if match else ""
        if not name:
            name = decoded.split("<", 1)[0].strip().strip('"') if "<" in decoded else ""
    name = decode_header_value(name, defects, hints).strip().strip('"').strip() if name else ""
    addr = decode_header_value(addr).strip().strip("<>").lower()
    if "@" not in addr:
        defects.append(f"Invalid{label}")
        addr = ""
    return (name or None), (addr or None)


def _addresses(value: str | None) -> list[str]:
    """Return the lower-cased addresses of a To/Cc/Reply-To header."""
    if not value:
        return []
    try:
        pairs = getaddresses([_FOLD.sub(" ", value)])
    except _PARSE_ERRORS:
        pairs = []
    found = [decode_header_value(a).lower() for _, a in pairs if "@" in a]
    return found or [a.lower() for a in _ADDRESS.findall(decode_header_value(value))]


def _date(value: str | None, defects: list[str]) -> datetime | None:
    """Return the Date header as an aware UTC datetime, or None with a defect."""
    if not value or not value.strip():
        defects.append("MissingDate")
        return None
    try:
        when = parsedate_to_datetime(decode_header_value(value))
    except _PARSE_ERRORS:
        when = None
    if when is None:
        defects.append("InvalidDate")
        return None
    if when.tzinfo is None:
        defects.append("DateWithoutTimezone")
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        defects.append("InvalidDate")
        return None


def _get(headers: Any, name: str) -> str | None:
    """Return one header from a Message, a Mapping or a list of pairs, case-insensitively."""
    if isinstance(headers, Message):
        return _raw_header(headers, name)
    lname = name.lower()
    items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if str(key).lower() == lname:
            if isinstance(value, (list, tuple)):
                value = value[0] if value else ""
            return str(value)
    return None


def auto_generated_reason(source: Message | Mapping[str, Any] | bytes) -> str | None:
    """Return why a mail must never get an auto-reply (auto-submitted, bulk, list, bounce), or None."""
    headers: Any = source
    if isinstance(source, (bytes, bytearray)):
        try:
            headers = BytesHeaderParser().parsebytes(bytes(source))
        except _PARSE_ERRORS:
            return None
    try:
        auto = (_get(headers, "Auto-Submitted") or "").split(";", 1)[0].strip().lower()
        if auto and auto != "no":
            return f"Auto-Submitted: {auto}"
        precedence = (_get(headers, "Precedence") or "").strip().lower()
        if precedence in _BULK:
            return f"Precedence: {precedence}"
        if _get(headers, "List-Id") is not None:
            return "List-Id present"
        for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
            if _get(headers, name) is not None:
                return f"{name} present"
        suppress = (_get(headers, "X-Auto-Response-Suppress") or "").lower()
        if "all" in suppress or "autoreply" in suppress or "oof" in suppress:
            return "X-Auto-Response-Suppress"
        return_path = _get(headers, "Return-Path")
        if return_path is not None and _FOLD.sub("", return_path).strip() in ("<>", ""):
            return "empty Return-Path"
        _, sender = parseaddr(_FOLD.sub(" ", _get(headers, "From") or ""))
        if sender.split("@", 1)[0].lower() in _DAEMONS:
            return f"From {sender.split('@', 1)[0].lower()}"
        ctype = (_get(headers, "Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype == "multipart/report":
            return "multipart/report (delivery report)"
    except _PARSE_ERRORS:  # a reason check must never break parsing
        return None
    return None


# --- bodies ----------------------------------------------------------------------------------


class _Body:
    """What the walk over the MIME tree collects."""

    def __init__(self, hints: tuple[str, ...] = ()) -> None:
        self.hints = hints  # the message's declared charsets, for raw 8-bit headers and names
        self.texts: list[str] = []
        self.attachments: list[Attachment] = []
        self.forwarded: list[dict[str, str]] = []
        self.defects: list[str] = []


def _content_type(part: Message) -> str:
    """Return the part's content type, never raising."""
    try:
        return part.get_content_type().lower()
    except _PARSE_ERRORS:
        raw = _raw_header(part, "Content-Type") or "text/plain"
        return raw.split(";", 1)[0].strip().lower() or "text/plain"


def _is_attachment(part: Message) -> bool:
    """Tell whether a part is meant as an attachment rather than the body."""
    disposition = (_raw_header(part, "Content-Disposition") or "").split(";", 1)[0].strip().lower()
    return disposition == "attachment"


def _filename(part: Message, defects: list[str], hints: tuple[str, ...] = ()) -> str | None:
    """Return an attachment's file name, decoding RFC 2231 and RFC 2047 forms."""
    value: Any = None
    try:
        value = part.get_param("filename", None, "content-disposition")
        if value is None:
            value = part.get_param("name", None, "content-type")
    except _PARSE_ERRORS:
        value = None
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text)
        charset, _, text = value
        data = str(text).encode("raw-unicode-escape", "replace")
        name = decode_bytes(unquote_to_bytes(data), charset or "utf-8", defects)
    else:
        name = str(value)
    name = decode_header_value(name.strip().strip('"'), defects, hints)
    return name.replace("\x00", "").strip() or None


def _payload_bytes(part: Message, body: _Body) -> bytes:
    """Return a leaf part's decoded payload bytes (base64 and QP tolerated when broken)."""
    before = len(getattr(part, "defects", []))
    try:
        data = part.get_payload(decode=True)
    except _PARSE_ERRORS:
        body.defects.append("PayloadDecodeError")
        raw = part.get_payload()
        data = _raw_bytes(raw) if isinstance(raw, str) else b""
    for defect in getattr(part, "defects", [])[before:]:
        body.defects.append(type(defect).__name__)
    if isinstance(data, str):
        data = _raw_bytes(data)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message, body: _Body) -> str:
    """Return the decoded text of a text/* leaf part."""
    data = _payload_bytes(part, body)
    try:
        charset = part.get_content_charset()
    except _PARSE_ERRORS:
        charset = None
    text = decode_bytes(data, charset, body.defects)
    if _content_type(part) == "text/html":
        return html_to_text(text)
    return tidy(text)


def _children(part: Message) -> list[Message]:
    """Return a multipart's sub-parts (or a message/rfc822's message), never raising."""
    try:
        payload = part.get_payload()
    except _PARSE_ERRORS:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, Message):
        return [payload]
    return []


def _forwarded(part: Message, body: _Body, depth: int) -> None:
    """Add a forwarded message/rfc822 part's text to the body, marked as forwarded."""
    inner_list = _children(part)
    if not inner_list:
        raw = part.get_payload()
        if isinstance(raw, str) and raw.strip():
            inner_list = [message_from_bytes(_raw_bytes(raw), policy=policy.default)]
    for inner in inner_list:
        name, addr = _address(_raw_header(inner, "From"), [], "From", body.hints)
        subject = decode_header_value(_raw_header(inner, "Subject"), body.defects, body.hints)
        sub = _Body(body.hints)
        _walk(inner, sub, depth + 1)
        body.defects.extend(sub.defects)
        body.attachments.extend(sub.attachments)
        body.forwarded.append({"from": addr or "", "name": name or "", "subject": subject})
        text = "\n\n".join(t for t in sub.texts if t)
        header = [FORWARD_MARK]
        if name or addr:
            header.append(f"发件人 From: {name + ' ' if name else ''}<{addr or ''}>".strip())
        if subject:
            header.append(f"主题 Subject: {subject}")
        body.texts.append("\n".join(header) + ("\n" + text if text else ""))


def _walk(part: Message, body: _Body, depth: int = 0) -> None:
    """Collect body texts, attachments and forwarded messages from a MIME tree."""
    if depth > 30:
        body.defects.append("NestingTooDeep")
        return
    ctype = _content_type(part)
    if ctype in ("message/rfc822", "message/global"):
        _forwarded(part, body, depth)
        return
    if ctype in ("message/delivery-status", "message/disposition-notification") and _safe_is_multipart(part):
        blocks = ["\n".join(f"{k}: {decode_header_value(v)}" for k, v in _raw_items(b)) for b in _children(part)]
        text = tidy("\n\n".join(blocks))
        if text:
            body.texts.append(text)
        return
    if ctype.startswith("multipart/") and not _safe_is_multipart(part):
        resplit = _resplit(part, body)
        if resplit is not None:
            part = resplit
    if _safe_is_multipart(part):
        children = _children(part)
        if ctype == "multipart/alternative":
            _alternative(children, body, depth)
            return
        html_bodies: list[_Body] = []
        has_plain = False
        for child in children:
            sub = _Body(body.hints)
            _walk(child, sub, depth + 1)
            body.defects.extend(sub.defects)
            body.attachments.extend(sub.attachments)
            body.forwarded.extend(sub.forwarded)
            if _content_type(child) == "text/html" and not _is_attachment(child):
                html_bodies.append(sub)
                body.texts.extend(sub.texts)
                continue
            if _content_type(child) == "text/plain" and any(t.strip() for t in sub.texts):
                has_plain = True
            body.texts.extend(sub.texts)
        if has_plain:  # a sibling text/plain says what the HTML says
            dropped = {id(t) for b in html_bodies for t in b.texts}
            body.texts[:] = [t for t in body.texts if id(t) not in dropped]
        return
    filename = _filename(part, body.defects, body.hints)
    maintype = ctype.split("/", 1)[0]
    if (maintype == "text" or ctype in ("message/delivery-status", "message/rfc822-headers")) and not (
        _is_attachment(part) and filename
    ) and ctype not in ("text/calendar", "text/x-vcard", "text/vcard"):
        text = _part_text(part, body)
        if _looks_binary(text):
            body.defects.append("BinaryTextPart")
        else:
            if text:
                body.texts.append(text)
            return
    data = _payload_bytes(part, body)
    body.attachments.append(
        Attachment(filename=filename or f"part-{len(body.attachments) + 1}", content_type=ctype, size=len(data), data=data)
    )


_BOUNDARY = re.compile(r"boundary\s*=\s*(?:\"([^\"]+)\"|([^\s;]+))", re.IGNORECASE)
_DASH_LINE = re.compile(r"^--([^\s]{1,200}?)(?:--)?\s*$", re.MULTILINE)


def _looks_binary(text: str) -> bool:
    """Tell whether decoded "text" is really binary data (many control characters)."""
    if not text:
        return False
    sample = text[:4000]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or ord(ch) == 0x7F)
    return control / len(sample) > 0.05


def _resplit(part: Message, body: _Body) -> Message | None:
    """Re-split a multipart the stdlib left whole (unquoted "=" in the boundary, wrong boundary)."""
    payload = part.get_payload()
    if not isinstance(payload, str) or not payload.strip():
        return None
    match = _BOUNDARY.search(_FOLD.sub(" ", _raw_header(part, "Content-Type") or ""))
    boundary = (match.group(1) or match.group(2)).strip() if match else ""
    if not boundary or f"--{boundary}" not in payload:
        lines = _DASH_LINE.findall(payload)
        if not lines:
            return None
        boundary = lines[0]
    head = f'Content-Type: {_content_type(part)}; boundary="{boundary}"\n\n'
    try:
        resplit = message_from_bytes(_raw_bytes(head + payload), policy=policy.default)
    except _PARSE_ERRORS:
        return None
    if not _safe_is_multipart(resplit) or not _children(resplit):
        return None
    body.defects.append("BoundaryRepaired")
    return resplit


def _safe_is_multipart(part: Message) -> bool:
    """Tell whether a part is multipart, never raising."""
    try:
        return bool(part.is_multipart())
    except _PARSE_ERRORS:
        return False


def _alternative(children: list[Message], body: _Body, depth: int) -> None:
    """Take the best alternative: text/plain with content, else HTML, else whatever has text."""
    ranked = sorted(
        children,
        key=lambda c: {"text/plain": 0, "text/html": 1}.get(_content_type(c), 2 if _safe_is_multipart(c) else 3),
    )
    for child in ranked:
        sub = _Body(body.hints)
        _walk(child, sub, depth + 1)
        body.defects.extend(sub.defects)
        if any(t.strip() for t in sub.texts):
            body.texts.extend(sub.texts)
            body.attachments.extend(sub.attachments)
            body.forwarded.extend(sub.forwarded)
            return
    for child in children:  # nothing readable: keep attachments of the first alternative that has any
        sub = _Body(body.hints)
        _walk(child, sub, depth + 1)
        if sub.attachments:
            body.attachments.extend(sub.attachments)
            return


# --- the report ------------------------------------------------------------------------------


def _all_defects(msg: Message) -> list[str]:
    """Return the stdlib parser's defect names over the whole MIME tree."""
    names: list[str] = []
    stack = [msg]
    seen = 0
    while stack and seen < 2000:
        seen += 1
        part = stack.pop()
        names.extend(type(d).__name__ for d in getattr(part, "defects", []))
        stack.extend(_children(part))
    return names


def _declared_charsets(msg: Message) -> tuple[str, ...]:
    """Return the non-ASCII, non-UTF-8 charsets the message declares for its text parts."""
    found: list[str] = []
    stack = [msg]
    seen = 0
    while stack and seen < 500:
        seen += 1
        part = stack.pop()
        try:
            charset = part.get_content_charset()
        except _PARSE_ERRORS:
            charset = None
        codec = _codec(charset)
        if codec and codec not in ("ascii", "utf-8") and codec not in found:
            found.append(codec)
        stack.extend(_children(part))
    for _, value in _raw_items(msg):  # charsets of encoded words elsewhere in the header block
        for match in _ENCODED_WORD.finditer(value):
            codec = _codec(match.group(1))
            if codec and codec not in ("ascii", "utf-8") and codec not in found:
                found.append(codec)
    return tuple(found)


def _unique(items: Iterable[str]) -> list[str]:
    """Return the items without duplicates, in first-seen order."""
    return list(dict.fromkeys(items))


def _report_text(texts: list[str], defects: list[str]) -> str:
    """Join body texts, cut quoted replies in the citizen's own part, keep forwarded parts marked."""
    own = [strip_quoted(t) if not t.startswith(FORWARD_MARK) else t for t in texts]
    text = "\n\n".join(t for t in own if t).strip()
    if not text and any(t.strip() for t in texts):
        defects.append("QuotedTextOnly")
        text = "\n\n".join(tidy(t) for t in texts if t.strip())
    return text


def _from_message(msg: Message, raw_bytes: bytes, provider: str | None = None) -> InboundReport:
    """Build the report from a parsed message."""
    defects = _all_defects(msg)
    mine: list[str] = []
    message_id = _normalize_message_id(_raw_header(msg, "Message-ID"))
    hints = _declared_charsets(msg)
    name, addr = _address(_raw_header(msg, "From"), mine, "From", hints)
    if addr is None:
        sender = _raw_header(msg, "Sender")
        if sender:
            name2, addr = _address(sender, [], "Sender", hints)
            name = name or name2
    subject = decode_header_value(_raw_header(msg, "Subject"), mine, hints) or None
    body = _Body(hints)
    _walk(msg, body)
    text = _report_text(body.texts, mine)
    if not text and not subject:
        raise AdapterError("body", "the message has neither readable text nor a subject")
    if not text and subject:
        mine.append("EmptyBody")
    extra: dict[str, Any] = {}
    reply_to = _addresses(_raw_header(msg, "Reply-To"))
    if reply_to:
        extra["reply_to"] = reply_to
    to = _addresses(_raw_header(msg, "To"))
    if to:
        extra["to"] = to
    reason = auto_generated_reason(msg)
    if reason:
        extra["auto_generated"] = reason
    if body.forwarded:
        extra["forwarded"] = body.forwarded
    if provider:
        extra["provider"] = provider
    return InboundReport(
        channel="email",
        text=text or (subject or ""),
        external_id=message_id or "sha256:" + hashlib.sha256(raw_bytes).hexdigest(),
        title=subject,
        received_at=_date(_raw_header(msg, "Date"), mine),
        name=name,
        email=addr,
        case_ref=find_case_ref(subject),
        in_reply_to=_message_ids(_raw_header(msg, "In-Reply-To"), *_raw_headers(msg, "References")),
        message_id=message_id,
        attachments=body.attachments,
        defects=_unique(defects + body.defects + mine),
        extra=extra,
        raw=raw_bytes,
    )


def _parse_bytes(data: bytes, max_bytes: int, provider: str | None = None) -> InboundReport:
    """Parse raw RFC 5322 bytes into a report."""
    if len(data) > max_bytes:
        raise AdapterError("body", f"message too large ({len(data)} bytes, limit {max_bytes})")
    if not data.strip():
        raise AdapterError("body", "empty message")
    try:
        msg = message_from_bytes(data, policy=policy.default)
        return _from_message(msg, data, provider)
    except AdapterError:
        raise
    except Exception as exc:  # the contract: only AdapterError leaves; the cause names the bug
        raise AdapterError("body", f"unparseable message ({type(exc).__name__})") from exc


def parse(raw: RawInbound, max_bytes: int = MAX_BYTES) -> InboundReport:
    """Parse a raw RFC 5322 message (raw.body) into an e-mail report."""
    data = raw.body
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise AdapterError("body", "the message must be bytes")
    return _parse_bytes(bytes(data), max_bytes)


# --- provider forms ---------------------------------------------------------------------------


def _first(form: Mapping[str, Any], *names: str) -> str | None:
    """Return the first non-empty value of the first present form field."""
    for name in names:
        value = form.get(name)
        if isinstance(value, (list, tuple)):
            value = next((v for v in value if v not in (None, "")), None)
        if value is None:
            continue
        if isinstance(value, (bytes, bytearray)):
            value = decode_bytes(bytes(value), "utf-8")
        value = str(value)
        if value != "":
            return value
    return None


def _form_headers(form: Mapping[str, Any]) -> Message:
    """Return the original headers a provider passed along (SendGrid `headers`, Mailgun `message-headers`)."""
    block = _first(form, "headers")
    if block:
        try:
            return HeaderParser().parsestr(block.replace("\r\n", "\n").rstrip("\n") + "\n\n", headersonly=True)
        except _PARSE_ERRORS:
            pass
    msg = Message()
    pairs = _first(form, "message-headers")
    if pairs:
        try:
            for key, value in json.loads(pairs):
                msg[str(key)] = str(value)
        except _PARSE_ERRORS:
            pass
    return msg


def _form_attachments(form: Mapping[str, Any], files: Mapping[str, bytes] | None) -> list[Attachment]:
    """Return the uploaded attachments, named from SendGrid's attachment-info when given."""
    if not files:
        return []
    info: dict[str, Any] = {}
    try:
        loaded = json.loads(_first(form, "attachment-info") or "{}")
        info = loaded if isinstance(loaded, dict) else {}
    except _PARSE_ERRORS:
        info = {}
    attachments = []
    for key, data in files.items():
        found = info.get(key)
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        payload = bytes(data) if isinstance(data, (bytes, bytearray)) else str(data).encode("utf-8")
        attachments.append(
            Attachment(
                filename=str(meta.get("filename") or meta.get("name") or key),
                content_type=str(meta.get("type") or meta.get("content-type") or "application/octet-stream"),
                size=len(payload),
                data=payload,
            )
        )
    return attachments


def parse_form(
    form: Mapping[str, list[str]], files: Mapping[str, bytes] | None = None, max_bytes: int = MAX_BYTES
) -> InboundReport:
    """Parse a SendGrid Inbound Parse or Mailgun route form post into an e-mail report."""
    try:
        return _parse_form(form, files, max_bytes)
    except AdapterError:
        raise
    except Exception as exc:  # the contract: only AdapterError leaves; the cause names the bug
        raise AdapterError("form", f"unparseable form ({type(exc).__name__})") from exc


def _parse_form(form: Mapping[str, Any], files: Mapping[str, bytes] | None, max_bytes: int) -> InboundReport:
    """Parse a provider form; a full MIME field goes through the RFC 5322 parser."""
    if not isinstance(form, Mapping):
        raise AdapterError("form", "the form must be a mapping")
    for field_name, provider in (("email", "sendgrid"), ("body-mime", "mailgun")):
        mime = _first(form, field_name)
        if mime is not None:
            report = _parse_bytes(mime.encode("utf-8", "surrogateescape"), max_bytes, provider)
            report.attachments.extend(_form_attachments(form, files))
            return report
    provider = "mailgun" if any(k in form for k in ("body-plain", "stripped-text", "sender")) else "sendgrid"
    headers = _form_headers(form)
    size = sum(len(v) for vs in form.values() for v in (vs if isinstance(vs, (list, tuple)) else [vs]) if isinstance(v, (str, bytes)))
    if size > max_bytes:
        raise AdapterError("body", f"message too large ({size} bytes, limit {max_bytes})")
    defects: list[str] = []
    name, addr = _address(_first(form, "from", "From") or _raw_header(headers, "From"), defects, "From")
    if addr is None:
        _, addr = _address(_first(form, "sender"), [], "Sender")
    subject = decode_header_value(_first(form, "subject", "Subject") or _raw_header(headers, "Subject"), defects) or None
    stripped = _first(form, "stripped-text")
    plain = _first(form, "text", "body-plain")
    html = _first(form, "html", "body-html", "stripped-html")
    if stripped:
        text = tidy(stripped)
    elif plain:
        text = strip_quoted(plain) or tidy(plain)
    elif html:
        converted = html_to_text(html)
        text = strip_quoted(converted) or converted
    else:
        text = ""
    if not text and not subject:
        raise AdapterError("body", "the message has neither readable text nor a subject")
    message_id = _normalize_message_id(_first(form, "Message-Id", "message-id") or _raw_header(headers, "Message-ID"))
    date_value = _first(form, "Date", "date") or _raw_header(headers, "Date")
    received_at = None
    timestamp = _first(form, "timestamp")
    if date_value is None and timestamp and timestamp.strip().isdigit():
        received_at = datetime.fromtimestamp(int(timestamp.strip()), tz=UTC)
    else:
        received_at = _date(date_value, defects)
    extra: dict[str, Any] = {"provider": provider}
    reply_to = _addresses(_first(form, "Reply-To", "reply-to") or _raw_header(headers, "Reply-To"))
    if reply_to:
        extra["reply_to"] = reply_to
    to = _addresses(_first(form, "to", "To", "recipient") or _raw_header(headers, "To"))
    if to:
        extra["to"] = to
    reason = auto_generated_reason(headers)
    if reason:
        extra["auto_generated"] = reason
    envelope = _first(form, "envelope")
    if envelope:
        extra["envelope"] = envelope
    raw_form = json.dumps({k: v for k, v in form.items()}, ensure_ascii=False, default=str)
    return InboundReport(
        channel="email",
        text=text or (subject or ""),
        external_id=message_id or "sha256:" + hashlib.sha256(raw_form.encode("utf-8", "surrogateescape")).hexdigest(),
        title=subject,
        received_at=received_at,
        name=name,
        email=addr,
        case_ref=find_case_ref(subject),
        in_reply_to=_message_ids(
            _first(form, "In-Reply-To", "in-reply-to") or _raw_header(headers, "In-Reply-To"),
            _first(form, "References", "references") or _raw_header(headers, "References"),
        ),
        message_id=message_id,
        attachments=_form_attachments(form, files),
        defects=_unique(defects + ([] if text else ["EmptyBody"])),
        extra=extra,
        raw=raw_form.encode("utf-8", "surrogateescape"),
    )
