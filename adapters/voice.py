"""Voice adapter: Twilio's callbacks about a recorded voice message (no menu: the caller speaks at once).

- `parse(raw)`: the `<Record action=...>` request after the message was recorded -> an InboundReport on channel
  `voice` whose text is empty until a transcript comes (a person listens, or Twilio transcribes); the call's id
  (CallSid, the report's external id: one report per call) and the recording's address travel with it.
- `parse_transcription(raw)`: Twilio's transcription callback -> a `Transcription`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import AdapterError, Ignored, InboundReport, RawInbound

_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
MAX_TRANSCRIPT = 20000


def _value(form: Mapping[str, Any], name: str, normalize: bool = True) -> str:
    """A form field's first value; NFKC-normalized unless it is a citizen's words (full-width punctuation stays)."""
    value = form.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    text = str(value or "")
    return (unicodedata.normalize("NFKC", text) if normalize else text).strip()


def call_sid(form: Mapping[str, Any]) -> str:
    sid = _value(form, "CallSid")
    if not sid:
        raise AdapterError("CallSid", "missing")
    if not _CALL_SID.match(sid):
        raise AdapterError("CallSid", "not a Twilio call SID (CA + 32 hex digits)")
    return sid


def recording_sid(form: Mapping[str, Any], url: str) -> str | None:
    """RecordingSid when Twilio sends it, else the one the recording's URL ends with."""
    sid = _value(form, "RecordingSid")
    if sid and _RECORDING_SID.fullmatch(sid):
        return sid
    found = _RECORDING_SID.findall(url)
    return found[-1] if found else None


def parse(raw: RawInbound) -> InboundReport:
    """The recording of one call -> a report waiting for its words; Ignored when nothing was recorded."""
    form = raw.form
    sid = call_sid(form)
    url = _value(form, "RecordingUrl")
    if not url:
        raise AdapterError("RecordingUrl", "missing")
    if not url.startswith("https://"):
        raise AdapterError("RecordingUrl", "not an https URL")
    duration_text = _value(form, "RecordingDuration") or "0"
    if not (duration_text.isascii() and duration_text.isdigit()):
        raise AdapterError("RecordingDuration", "not a whole number of seconds")
    duration = int(duration_text)
    if duration == 0:
        raise Ignored("the caller hung up before saying anything")
    caller = _value(form, "From")
    phone = caller if _PHONE.match(caller) else None  # "anonymous", "restricted": no number to call back
    return InboundReport(
        channel="voice",
        text="",
        external_id=sid,
        title=f"语音留言（{duration}秒）",
        received_at=raw.received_at,
        phone=phone,
        call_id=sid,
        recording_url=url,
        extra={"recording_sid": recording_sid(form, url),
               "recording_seconds": duration, "to": _value(form, "To") or None,
               "caller_unknown": phone is None},
        raw=raw.body,
    )


@dataclass(frozen=True)
class Transcription:
    call_sid: str
    recording_sid: str | None
    text: str  # empty when Twilio failed to transcribe
    status: str  # completed | failed


def parse_transcription(raw: RawInbound) -> Transcription:
    form = raw.form
    sid = call_sid(form)
    status = _value(form, "TranscriptionStatus").lower() or "completed"
    if status not in ("completed", "failed"):
        raise AdapterError("TranscriptionStatus", "expected completed or failed")
    text = _value(form, "TranscriptionText", normalize=False)
    if len(text) > MAX_TRANSCRIPT:
        text = text[:MAX_TRANSCRIPT]
    return Transcription(call_sid=sid, recording_sid=recording_sid(form, _value(form, "RecordingUrl")),
                         text=text if status == "completed" else "", status=status)
