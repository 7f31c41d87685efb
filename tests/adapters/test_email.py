"""The e-mail adapter, table-driven over hand-written .eml fixtures."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError, Ignored, RawInbound
from adapters.email import auto_generated_reason, parse, parse_form

FIXTURES = Path(__file__).parent / "fixtures" / "email"


def load(name: str) -> bytes:
    """Return a fixture's bytes."""
    return (FIXTURES / name).read_bytes()


def parsed(name: str):
    """Parse a fixture through the adapter."""
    return parse(RawInbound(channel="email", body=load(name)))


# fixture -> the fields it must produce; "text_has"/"text_lacks" are substrings
CASES: list[tuple[str, dict[str, Any]]] = [
    ("gb2312_subject.eml", {
        "title": "光谷大道路灯不亮", "name": "王小明", "email": "wangxm@example.cn",
        "text_has": ["路灯已经三天不亮了"], "external_id": "gb2312-subject-1@mail.example.cn",
        "received_at": datetime(2026, 11, 20, 1, 15, tzinfo=UTC),
    }),
    ("gbk_raw_header.eml", {
        "title": "小区垃圾堆积无人清理", "name": "李四", "text_has": ["镕堃喆"], "defects_has": ["RawEightBitHeader"],
    }),
    ("big5_qp.eml", {"title": "噪音擾民投訴", "name": "陳大文", "text_has": ["凌晨兩點"]}),
    ("utf8_qp.eml", {"title": "井盖缺失", "name": "赵六", "text_has": ["井盖缺失，已经有电动车掉进去了"]}),
    ("base64_broken_padding.eml", {"title": "公交站台损坏", "text_has": ["顶棚被风吹坏了"]}),
    ("html_only.eml", {
        "title": "违章停车", "name": "Zhou Qi",
        "text_has": ["消防通道被私家车占用", "地址：和平路88号\n时间：每天晚上"], "text_lacks": ["alert", "color"],
    }),
    ("alternative.eml", {"text_has": ["纯文本"], "text_lacks": ["网页版"]}),
    ("attachment_rfc2231.eml", {
        "name": "孙八", "text_has": ["照片见附件"],
        "attachments": [("道路照片.jpg", "image/jpeg"), ("说明.pdf", "application/pdf")], "defects_lack": ["RawEightBitHeader"],
    }),
    ("forwarded_rfc822.eml", {
        "text_has": ["转给你们处理", "转发的邮件", "resident@example.com", "广场舞音响还开得很大"],
        "extra": {"forwarded": [{"from": "resident@example.com", "name": "居民", "subject": "广场舞噪音"}]},
    }),
    ("outlook_reply.eml", {
        "name": "钱九", "text": "路灯还是不亮，请再派人看看。",
        "in_reply_to": ["ack-123@city.example.cn", "orig-1@example.com"],
        "extra": {"reply_to": ["qian.home@example.com"]},
    }),
    ("quoted_reply_signature.eml", {
        "text": "补充：灯杆上的编号是 GD-117。", "case_ref": "WH20261128-0042", "in_reply_to": ["ack-0042@city.example.cn"],
    }),
    ("signature.eml", {"text": "The street light at Hongshan Road 5 is out.", "name": "Tom"}),
    ("auto_reply.eml", {"extra": {"auto_generated": "Auto-Submitted: auto-replied"}, "text_has": ["休假"]}),
    ("bounce.eml", {"email": "mailer-daemon@mx.city.example.cn", "auto_generated": True}),
    ("no_message_id_bad_date.eml", {
        "message_id": None, "received_at": None, "defects_has": ["InvalidDate"], "case_ref": "WH20261201-12345",
        "external_id": "sha256:" + hashlib.sha256(load("no_message_id_bad_date.eml")).hexdigest(),
    }),
    ("unknown_charset.eml", {"text_has": ["河道里有死鱼"], "defects_has": ["UnknownCharset:x-unknown-cn"]}),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_fixture_becomes_the_expected_report(name: str, expected: dict[str, Any]) -> None:
    report = parsed(name)
    assert report.channel == "email"
    for key, value in expected.items():
        if key == "text_has":
            for fragment in value:
                assert fragment in report.text
        elif key == "text_lacks":
            for fragment in value:
                assert fragment not in report.text
        elif key == "defects_has":
            assert set(value) <= set(report.defects)
        elif key == "defects_lack":
            assert not set(value) & set(report.defects)
        elif key == "attachments":
            assert [(a.filename, a.content_type) for a in report.attachments] == value
        elif key == "extra":
            for extra_key, extra_value in value.items():
                assert report.extra[extra_key] == extra_value
        elif key == "auto_generated":
            assert bool(report.extra.get("auto_generated")) is value
        else:
            assert getattr(report, key) == value, key


def test_every_report_is_json_serializable_in_extra() -> None:
    for name, _ in CASES:
        json.dumps(parsed(name).extra)


def test_attachments_carry_their_decoded_bytes() -> None:
    photo = parsed("attachment_rfc2231.eml").attachments[0]
    assert photo.data is not None and photo.data.startswith(b"\xff\xd8") and photo.size == len(photo.data)


def test_a_message_without_text_or_subject_is_rejected_naming_the_body() -> None:
    with pytest.raises(AdapterError) as caught:
        parsed("empty.eml")
    assert caught.value.field == "body"


def test_a_message_over_the_size_limit_is_rejected_as_too_large() -> None:
    with pytest.raises(AdapterError, match="too large") as caught:
        parse(RawInbound(channel="email", body=load("utf8_qp.eml")), max_bytes=100)
    assert caught.value.field == "body"


def test_the_same_bytes_without_message_id_give_the_same_external_id() -> None:
    assert parsed("no_message_id_bad_date.eml").external_id == parsed("no_message_id_bad_date.eml").external_id


def test_a_plain_citizen_mail_needs_no_auto_reply_guard() -> None:
    assert "auto_generated" not in parsed("gb2312_subject.eml").extra


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
    ({"Auto-Submitted": "no"}, None),
    ({"Precedence": "bulk"}, "Precedence: bulk"),
    ({"Precedence": "junk"}, "Precedence: junk"),
    ({"List-Id": "<news.example.com>"}, "List-Id present"),
    ({"Return-Path": "<>"}, "empty Return-Path"),
    ({"From": "MAILER-DAEMON@example.com"}, "From mailer-daemon"),
    ({"From": "postmaster@example.com"}, "From postmaster"),
    ({"X-Autoreply": "yes"}, "X-Autoreply present"),
    ({"X-Autorespond": "yes"}, "X-Autorespond present"),
    ({"Content-Type": "multipart/report; report-type=delivery-status"}, "multipart/report (delivery report)"),
    ({"From": "市民 <citizen@example.com>", "Subject": "路灯不亮"}, None),
])
def test_auto_generated_reason_names_why_a_mail_gets_no_auto_reply(headers: dict[str, str], reason: str | None) -> None:
    assert auto_generated_reason(headers) == reason


def test_auto_generated_reason_reads_raw_bytes_too() -> None:
    assert auto_generated_reason(load("auto_reply.eml")) == "Auto-Submitted: auto-replied"


def test_sendgrid_raw_mime_goes_through_the_mime_parser() -> None:
    report = parse_form({"email": [load("gb2312_subject.eml").decode("latin-1")], "to": ["12345@city.example.cn"]})
    assert report.extra["provider"] == "sendgrid" and report.message_id == "gb2312-subject-1@mail.example.cn"


def test_sendgrid_parsed_fields_become_a_report_with_attachment_names() -> None:
    form = {
        "from": ["=?utf-8?B?5p2O5Zub?= <LiSi@Example.com>"],
        "to": ["12345@city.example.cn"],
        "subject": ["回复：[WH20261128-0042] 井盖"],
        "text": ["井盖已经补上了，谢谢。\n\n-----原始邮件-----\n您的诉求已受理"],
        "headers": ["Message-ID: <sg-1@example.com>\nDate: Tue, 01 Dec 2026 10:00:00 +0800\nIn-Reply-To: <ack-9@city.example.cn>\n"],
        "attachment-info": ['{"attachment1": {"filename": "照片.jpg", "type": "image/jpeg"}}'],
    }
    report = parse_form(form, {"attachment1": b"\xff\xd8jpeg"})
    assert (report.name, report.email, report.case_ref) == ("李四", "lisi@example.com", "WH20261128-0042")
    assert report.text == "井盖已经补上了，谢谢。"
    assert report.message_id == "sg-1@example.com" and report.in_reply_to == ["ack-9@city.example.cn"]
    assert [(a.filename, a.content_type, a.size) for a in report.attachments] == [("照片.jpg", "image/jpeg", 6)]


def test_mailgun_route_fields_prefer_its_stripped_text() -> None:
    form = {
        "sender": ["bounce+x@mg.example.com"],
        "from": ["周八 <zhou@example.com>"],
        "subject": ["树木倒伏"],
        "body-plain": ["大树倒在路中间。\n> 旧的引用"],
        "stripped-text": ["大树倒在路中间。"],
        "Message-Id": ["<mg-1@example.com>"],
        "References": ["<a@x> <b@x>"],
        "timestamp": ["1795000000"],
    }
    report = parse_form(form)
    assert (report.name, report.email, report.text) == ("周八", "zhou@example.com", "大树倒在路中间。")
    assert report.extra["provider"] == "mailgun" and report.in_reply_to == ["a@x", "b@x"]
    assert report.received_at == datetime.fromtimestamp(1795000000, tz=UTC)


def test_mailgun_body_mime_goes_through_the_mime_parser() -> None:
    report = parse_form({"body-mime": [load("big5_qp.eml").decode("latin-1")]})
    assert report.extra["provider"] == "mailgun" and report.message_id == "big5-1@example.hk"


def test_a_provider_form_without_text_or_subject_is_rejected_naming_the_body() -> None:
    with pytest.raises(AdapterError) as caught:
        parse_form({"from": ["a@example.com"]})
    assert caught.value.field == "body"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_raise_only_adapter_errors(data: bytes) -> None:
    try:
        parse(RawInbound(channel="email", body=data))
    except (AdapterError, Ignored) as exc:
        assert exc.__cause__ is None, exc.__cause__


_HEADER_NAMES = st.sampled_from(["From", "Subject", "Date", "Message-ID", "Content-Type", "References", "In-Reply-To",
                                 "Content-Transfer-Encoding", "Auto-Submitted", "Reply-To", "Content-Disposition"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_HEADER_NAMES, st.text(max_size=60)), max_size=8), st.binary(max_size=500))
def test_arbitrary_headers_and_bodies_raise_only_adapter_errors(headers: list[tuple[str, str]], body: bytes) -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8", "surrogatepass")
    try:
        parse(RawInbound(channel="email", body=head + b"\r\n" + body))
    except (AdapterError, Ignored) as exc:
        assert exc.__cause__ is None, exc.__cause__


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.lists(st.text(max_size=40), max_size=2), max_size=6))
def test_arbitrary_forms_raise_only_adapter_errors(form: dict[str, list[str]]) -> None:
    try:
        parse_form(form)
    except (AdapterError, Ignored) as exc:
        assert exc.__cause__ is None, exc.__cause__


def test_an_interleaved_reply_keeps_the_answers_and_drops_the_quotes() -> None:
    from adapters.mailtext import strip_quoted

    text = "Marc wrote:\n> 路灯修好了吗？\n还没有修好。\n> 具体位置？\n光谷大道12号。"
    assert strip_quoted(text) == "还没有修好。\n光谷大道12号。"
