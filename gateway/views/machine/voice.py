"""Twilio voice, without a menu: a short Mandarin greeting (after hours and holidays from the calendar), then the
caller's message is recorded at once; Twilio's callbacks (signed, checked like the SMS webhook) store it."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session
from twilio.twiml.voice_response import VoiceResponse

from adapters.base import AdapterError, Ignored
from gateway.channels import voice_inbound
from gateway.errors import ApiError
from gateway.runtime import current
from gateway.views.common import raw_inbound
from gateway.views.machine.webhooks import unparsed, verify_twilio

bp = Blueprint("voice", __name__)

LANGUAGE = "zh-CN"  # Mandarin, as Twilio names it for <Say>


def _twiml(answer: VoiceResponse) -> Response:
    return Response(str(answer), 200, mimetype="application/xml")


def _say(answer: VoiceResponse, text: str) -> None:
    answer.say(text, language=LANGUAGE)


@bp.post("/webhooks/twilio/voice")
def incoming_call() -> ResponseReturnValue:
    """Answer a call: the greeting for this moment, then record the message at once (no menu, no key to press)."""
    verify_twilio()
    rt = current()
    with Session(rt.engine) as session:
        greeting = rt.profile.message(voice_inbound.greeting_key(session, rt))
    answer = VoiceResponse()
    _say(answer, greeting)
    record: dict[str, object] = {"action": url_for("voice.recorded"), "method": "POST", "play_beep": True,
                                 "max_length": rt.settings.voice_max_seconds, "timeout": 8, "finish_on_key": ""}
    if rt.settings.voice_transcription == "twilio":
        record.update(transcribe=True, transcribe_callback=url_for("voice.transcription"))
    answer.record(**record)
    _say(answer, rt.profile.message("voice_thanks"))  # reached when nothing was recorded
    answer.hangup()
    return _twiml(answer)


@bp.post("/webhooks/twilio/voice/recording")
def recorded() -> ResponseReturnValue:
    """The recorded message: a report on channel voice (one per CallSid) and a call-back on the call list."""
    verify_twilio()
    raw = raw_inbound("voice")
    rt = current()
    answer = VoiceResponse()
    try:
        voice_inbound.receive_recording(rt, raw)
    except Ignored:
        pass
    except AdapterError as exc:
        return unparsed("voice", exc, raw.body)
    _say(answer, rt.profile.message("voice_thanks"))
    answer.hangup()
    return _twiml(answer)


@bp.post("/webhooks/twilio/voice/transcription")
def transcription() -> ResponseReturnValue:
    """Twilio's transcription of a message: its words go on the report, and dedupe runs then."""
    verify_twilio()
    raw = raw_inbound("voice")
    try:
        return jsonify(voice_inbound.transcribed(current(), raw))
    except AdapterError as exc:
        return unparsed("voice", exc, raw.body)
    except LookupError as exc:
        raise ApiError(404, str(exc).strip("'"), field="CallSid") from None
