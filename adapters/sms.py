"""SMS adapter: a Twilio inbound webhook form (SMS, MMS, WhatsApp) -> InboundReport."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from adapters.base import AdapterError, Attachment, Ignored, InboundReport, RawInbound
from adapters.case_number import find_case_ref

MAX_MEDIA = 10  # Twilio sends at most 10 media items per message

_KEYWORDS = {
    "STOP": "STOP", "STOPALL": "STOP", "UNSUBSCRIBE": "STOP", "CANCEL": "STOP", "END": "STOP", "QUIT": "STOP",
    "START": "START", "YES": "START", "UNSTOP": "START",
    "HELP": "HELP", "INFO": "HELP",
    "退订": "STOP", "TD": "STOP", "订阅": "START", "帮助": "HELP",
}
_TRIM = re.compile(r"^[\s\W_]+|[\s\W_]+$")
_CHOICE = re.compile(r"^(?:选|选择|第|回复|choose|option|#)?\s*(\d{1,2})\s*(?:号|个|项)?$", re.IGNORECASE)
_SEGMENT = re.compile(r"^\s*(?:\((\d{1,2})/(\d{1,2})\)|\[(\d{1,2})/(\d{1,2})\]|(\d{1,2})/(\d{1,2})(?=\s))\s?")


def _value(form: Mapping[str, Any], name: str) -> str | None:
    """Return the first value of a form field as a string, or None when absent."""
    value = form.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def keyword(text: str | None) -> str | None:
    """Return "STOP", "START" or "HELP" when the whole message is an opt-out/opt-in/help keyword."""
    if not text:
        return None
    word = _TRIM.sub("", unicodedata.normalize("NFKC", text)).upper()
    return _KEYWORDS.get(word)


def choice_number(text: str | None) -> int | None:
    """Return the number a citizen picked ("2", "２", "选2", "第2个"), or None when the reply is not a pick."""
    if not text:
        return None
    normalized = _TRIM.sub("", unicodedata.normalize("NFKC", text))
    match = _CHOICE.match(normalized)
    if not match:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


def segments_join(parts: list[str]) -> str:
    """Join carrier-split parts of a long message, ordered by "(1/3)"-style prefixes when present."""
    numbered: list[tuple[int, int, str]] = []
    for position, part in enumerate(parts):
        match = _SEGMENT.match(part)
        if match:
            index = next(int(g) for g in match.groups()[::2] if g is not None)
            numbered.append((index, position, part[match.end():]))
        else:
            numbered.append((0, position, part))
    if all(index > 0 for index, _, _ in numbered):
        numbered.sort()
    return "".join(text for _, _, text in numbered)


def _is_status_callback(form: Mapping[str, Any]) -> bool:
    """Tell whether the form is a delivery status callback rather than an inbound message."""
    status = (_value(form, "MessageStatus") or _value(form, "SmsStatus") or "").strip().lower()
    if not status or "Body" in form:
        return False
    if status in ("received", "receiving") and _value(form, "NumMedia") not in (None, "", "0"):
        return False  # an MMS without text
    return status not in ("received", "receiving") or "MessageStatus" in form


def _media(form: Mapping[str, Any]) -> list[Attachment]:
    """Return the MMS media items announced by NumMedia."""
    raw = _value(form, "NumMedia")
    if raw is None or raw.strip() == "":
        count = 0
    else:
        try:
            count = int(raw.strip())
        except ValueError:
            raise AdapterError("NumMedia", f"not a number: {raw[:40]!r}") from None
    if count < 0 or count > MAX_MEDIA:
        raise AdapterError("NumMedia", f"out of range: {count}")
    media = []
    for i in range(count):
        url = _value(form, f"MediaUrl{i}")
        if not url:
            continue
        content_type = _value(form, f"MediaContentType{i}") or "application/octet-stream"
        name = url.rstrip("/").rsplit("/", 1)[-1] or f"media-{i}"
        media.append(Attachment(filename=name, content_type=content_type, url=url))
    return media


def parse(raw: RawInbound) -> InboundReport:
    """Parse a Twilio inbound SMS/MMS/WhatsApp webhook form into an SMS report."""
    form = raw.form
    if not isinstance(form, Mapping):
        raise AdapterError("form", "the form must be a mapping")
    try:
        return _parse(form, raw)
    except (AdapterError, Ignored):
        raise
    except Exception as exc:  # the contract: only AdapterError/Ignored leave; the cause names the bug
        raise AdapterError("form", f"unparseable form ({type(exc).__name__})") from exc


def _parse(form: Mapping[str, Any], raw: RawInbound) -> InboundReport:
    """Do the parsing for parse()."""
    if _is_status_callback(form):
        raise Ignored("status callback")
    sid = (_value(form, "MessageSid") or _value(form, "SmsSid") or _value(form, "SmsMessageSid") or "").strip()
    if not sid:
        raise AdapterError("MessageSid", "missing MessageSid")
    text = (_value(form, "Body") or "").replace("\r\n", "\n").strip()
    attachments = _media(form)
    if not text and not attachments:
        raise AdapterError("Body", "empty message without media")
    extra: dict[str, Any] = {}
    sender = (_value(form, "From") or "").strip()
    phone: str | None = sender or None
    if sender.lower().startswith("whatsapp:"):
        extra["whatsapp"] = True
        address = sender.split(":", 1)[1].strip()
        if re.fullmatch(r"\+?[\d\s\-()]{5,20}", address):
            phone = address
        else:  # a WhatsApp business-scoped user id, not a phone number
            phone = None
            extra["whatsapp_user"] = address
    to = _value(form, "To")
    if to:
        extra["to"] = to
    for field_name, key in (("ButtonText", "button_text"), ("ProfileName", "profile_name"), ("NumSegments", "segments")):
        value = _value(form, field_name)
        if value:
            extra[key] = value
    word = keyword(text)
    if word:
        extra["keyword"] = word
    choice = choice_number(text)
    if choice is not None:
        extra["choice"] = choice
    if not phone:
        defects = ["MissingFrom"]
    else:
        defects = []
    return InboundReport(
        channel="sms",
        text=text,
        external_id=sid,
        received_at=raw.received_at,
        name=_value(form, "ProfileName") or None,
        phone=phone,
        case_ref=find_case_ref(text),
        message_id=sid,
        attachments=attachments,
        defects=defects,
        extra=extra,
        raw=raw.body,
    )
