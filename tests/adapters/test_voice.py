"""The voice adapter, table-driven over hand-written Twilio callback forms: a recorded message, its transcription."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError, Ignored, RawInbound
from adapters.voice import parse, parse_transcription

FIXTURES = Path(__file__).parent / "fixtures" / "voice"
RECORDING_URL = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Recordings/RE" + "2" * 32


def raw(name: str) -> RawInbound:
    body = (FIXTURES / f"{name}.form").read_bytes().strip()
    return RawInbound(channel="voice", body=body, form=parse_qs(body.decode("ascii"), keep_blank_values=True))


REPORTS: list[tuple[str, dict[str, Any]]] = [
    ("recorded", {"external_id": "CA" + "1" * 32, "phone": "+8613800138001", "text": "", "title": "语音留言（35秒）",
                  "call_id": "CA" + "1" * 32, "recording_url": RECORDING_URL,
                  "extra": {"recording_sid": "RE" + "2" * 32,
                            "recording_seconds": 35, "to": "+8610690000", "caller_unknown": False}}),
    ("landline_with_recording_sid", {"phone": "+862785551234", "extra_has": {"recording_sid": "RE" + "4" * 32}}),
    ("anonymous_caller", {"phone": None, "extra_has": {"caller_unknown": True}}),
]


@pytest.mark.parametrize(("name", "expected"), REPORTS, ids=[r[0] for r in REPORTS])
def test_each_recording_callback_becomes_the_expected_report(name: str, expected: dict[str, Any]) -> None:
    report = parse(raw(name))
    assert report.channel == "voice" and report.raw == raw(name).body
    for key, value in expected.items():
        if key == "extra_has":
            assert {k: report.extra.get(k) for k in value} == value
        else:
            assert getattr(report, key) == value, key


def test_a_call_with_nothing_said_is_ignored() -> None:
    with pytest.raises(Ignored):
        parse(raw("nothing_said"))


@pytest.mark.parametrize(("name", "field"), [("no_recording_url", "RecordingUrl"), ("bad_call_sid", "CallSid"),
                                             ("plain_http_url", "RecordingUrl")])
def test_unusable_callbacks_are_rejected_naming_the_field(name: str, field: str) -> None:
    with pytest.raises(AdapterError) as err:
        parse(raw(name))
    assert err.value.field == field


def test_a_transcription_keeps_the_citizens_words_as_written() -> None:
    found = parse_transcription(raw("transcription"))
    assert (found.call_sid, found.recording_sid, found.status) == ("CA" + "1" * 32, "RE" + "2" * 32, "completed")
    assert found.text == "江岸区路灯不亮，晚上很黑"  # full-width punctuation kept
    failed = parse_transcription(raw("transcription_failed"))
    assert (failed.status, failed.text) == ("failed", "")


_KEYS = st.one_of(st.sampled_from(["CallSid", "From", "To", "RecordingUrl", "RecordingSid", "RecordingDuration",
                                   "TranscriptionText", "TranscriptionStatus"]), st.text(max_size=8))
_VALUES = st.one_of(st.lists(st.text(max_size=40), max_size=2), st.text(max_size=40), st.integers(), st.none(),
                    st.binary(max_size=10), st.just("CA" + "a" * 32), st.just(RECORDING_URL))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8))
def test_arbitrary_forms_raise_only_adapter_errors_or_ignored(form: dict[str, Any]) -> None:
    for step in (parse, parse_transcription):
        try:
            step(RawInbound(channel="voice", form=form))
        except (AdapterError, Ignored) as exc:
            assert exc.__cause__ is None, exc.__cause__
