"""The SMS adapter, table-driven over hand-written Twilio form fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError, Ignored, RawInbound
from adapters.sms import choice_number, keyword, parse, segments_join

FIXTURES = Path(__file__).parent / "fixtures" / "sms"


def raw(name: str) -> RawInbound:
    """Return a fixture as the transport hands it over: the body and its parsed form."""
    body = (FIXTURES / f"{name}.form").read_bytes().strip()
    return RawInbound(channel="sms", body=body, form=parse_qs(body.decode("ascii"), keep_blank_values=True))


def media_url(sid: str, media: str) -> str:
    """Return the Twilio media URL used in the fixtures."""
    return f"https://api.twilio.com/2010-04-01/Accounts/AC/Messages/{sid}/Media/{media}"


REPORTS: list[tuple[str, dict[str, Any]]] = [
    ("chinese_sms", {"external_id": "SM1001", "phone": "+8613800138000", "text": "中山路与解放路路口红绿灯坏了，早高峰很堵。",
                     "case_ref": None, "extra_has": {"to": "+8612345000000"}}),
    ("case_number_reply", {"case_ref": "WH20261128-0042", "text": "关于工单 WH20261128-0042：问题还没解决"}),
    ("mms_with_text", {"text": "垃圾桶满了，见图", "media": [(media_url("MM1003", "ME1"), "image/jpeg"),
                                                          (media_url("MM1003", "ME2"), "image/png")]}),
    ("mms_without_text", {"text": "", "media": [(media_url("MM1004", "ME3"), "image/jpeg")]}),
    ("whatsapp", {"phone": "+8613600136000", "name": "张阿姨", "extra_has": {"whatsapp": True}}),
    ("stop_keyword", {"extra_has": {"keyword": "STOP"}}),
    ("choice_reply", {"extra_has": {"choice": 2}}),
]


@pytest.mark.parametrize(("name", "expected"), REPORTS, ids=[r[0] for r in REPORTS])
def test_each_inbound_form_becomes_the_expected_report(name: str, expected: dict[str, Any]) -> None:
    report = parse(raw(name))
    assert report.channel == "sms"
    for key, value in expected.items():
        if key == "media":
            assert [(a.url, a.content_type) for a in report.attachments] == value
        elif key == "extra_has":
            assert {k: report.extra.get(k) for k in value} == value
        else:
            assert getattr(report, key) == value, key


@pytest.mark.parametrize("name", ["status_delivered", "status_failed"])
def test_status_callbacks_are_ignored(name: str) -> None:
    with pytest.raises(Ignored, match="status callback"):
        parse(raw(name))


@pytest.mark.parametrize(("name", "field"), [
    ("empty_body", "Body"),
    ("bad_num_media", "NumMedia"),
    ("missing_sid", "MessageSid"),
])
def test_unusable_forms_are_rejected_naming_the_field(name: str, field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        parse(raw(name))
    assert caught.value.field == field


def test_the_raw_body_is_kept_on_the_report() -> None:
    assert parse(raw("chinese_sms")).raw.startswith(b"AccountSid=")


def test_a_whatsapp_user_id_that_is_no_phone_number_is_not_used_as_phone() -> None:
    form = {"MessageSid": ["SM9"], "Body": ["你好"], "From": ["whatsapp:US.1234"]}
    report = parse(RawInbound(channel="sms", form=form))
    assert report.phone is None and report.extra["whatsapp_user"] == "US.1234"


def test_sms_sid_is_accepted_when_message_sid_is_missing() -> None:
    report = parse(RawInbound(channel="sms", form={"SmsSid": ["SM77"], "Body": ["路灯不亮"], "From": ["+8613800138000"]}))
    assert report.external_id == "SM77"


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", "STOP"), ("stop", "STOP"), (" Stop. ", "STOP"), ("STOPALL", "STOP"), ("UNSUBSCRIBE", "STOP"),
    ("cancel", "STOP"), ("END", "STOP"), ("quit", "STOP"), ("退订", "STOP"), ("TD", "STOP"), ("ｔｄ", "STOP"),
    ("START", "START"), ("yes", "START"), ("UNSTOP", "START"), ("订阅", "START"),
    ("HELP", "HELP"), ("info", "HELP"), ("帮助", "HELP"),
    ("stop the noise please", None), ("请不要退订", None), ("", None), (None, None),
])
def test_keyword_recognizes_twilio_and_chinese_opt_words(text: str | None, expected: str | None) -> None:
    assert keyword(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2", 2), ("２", 2), ("选2", 2), ("选 2", 2), ("选择3", 3), ("第1个", 1), (" 10 ", 10), ("2。", 2),
    ("0", None), ("路灯2号不亮", None), ("WH20261128-0042", None), ("", None), (None, None), ("123", None),
])
def test_choice_number_reads_a_pick_among_open_cases(text: str | None, expected: int | None) -> None:
    assert choice_number(text) == expected


@pytest.mark.parametrize(("parts", "expected"), [
    (["(2/3)二段", "(1/3)一段", "(3/3)三段"], "一段二段三段"),
    (["[1/2]前半句，", "[2/2]后半句。"], "前半句，后半句。"),
    (["2/2 world", "1/2 hello "], "hello world"),
    (["没有编号的第一段", "第二段"], "没有编号的第一段第二段"),
    ([], ""),
])
def test_segments_join_orders_and_strips_carrier_part_prefixes(parts: list[str], expected: str) -> None:
    assert segments_join(parts) == expected


_KEYS = st.one_of(st.sampled_from(["MessageSid", "SmsSid", "Body", "From", "To", "NumMedia", "MediaUrl0",
                                   "MediaContentType0", "MessageStatus", "SmsStatus", "AccountSid"]), st.text(max_size=8))
_VALUES = st.one_of(st.lists(st.text(max_size=20), max_size=2), st.text(max_size=20), st.integers(), st.none(),
                    st.binary(max_size=10))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8))
def test_arbitrary_forms_raise_only_adapter_errors_or_ignored(form: dict[str, Any]) -> None:
    try:
        parse(RawInbound(channel="sms", form=form))
    except (AdapterError, Ignored) as exc:
        assert exc.__cause__ is None, exc.__cause__
