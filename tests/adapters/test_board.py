"""Board posts: table-driven over tests/adapters/fixtures/board_posts, plus property tests."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError, RawInbound
from adapters.board import clean_html, looks_like_html, parse
from tests.adapters.fixturefiles import as_comparable, cases, load

POSTS = cases("board_posts")


def _raw(case: dict[str, Any]) -> RawInbound:
    if "form" in case:
        return RawInbound(channel="board", form=case["form"])
    if "raw_body" in case:
        body = case["raw_body"].encode("utf-8")
    else:
        body = json.dumps(case["body"], ensure_ascii=False).encode("utf-8")
    return RawInbound(channel="board", body=body, headers={"Content-Type": case["content_type"]})


@pytest.mark.parametrize("path", [p for p in POSTS if "error" not in load(p)], ids=lambda p: p.stem)
def test_board_post_fixture_becomes_the_expected_report(path: Path) -> None:
    case = load(path)
    report = parse(_raw(case))
    assert report.channel == "board"
    for key, expected in case["expect"].items():
        assert as_comparable(getattr(report, key)) == expected, key
    assert report.raw


@pytest.mark.parametrize("path", [p for p in POSTS if "error" in load(p)], ids=lambda p: p.stem)
def test_bad_board_post_fixture_is_rejected_naming_the_field(path: Path) -> None:
    case = load(path)
    with pytest.raises(AdapterError) as caught:
        parse(_raw(case))
    assert caught.value.field == case["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"   ", "body"),
        ("{\"text\": \"路灯\"}".encode("gbk"), "body"),
        (b"\xff\xfe\x00garbage", "body"),
        (b"{\"text\": ", "body"),
        (b"[" * 100_000, "body"),
        (b"{\"text\": \"x\", \"post_id\": " + b"9" * 5000 + b"}", "body"),
        (b"{\"text\": \"x\", \"post_id\": 123456789012345678901234567890}", "post_id"),
        (b"{\"text\": \"" + "长".encode() * 120_000 + b"\"}", "text"),
        (b"{\"text\": \"x\", \"time\": \"0001-01-01T00:00:00+14:00\"}", "time"),
        (b"{\"text\": \"x\", \"phone\": true}", "phone"),
        (b"{\"text\": \"x\", \"public\": 2}", "public"),
    ],
    ids=[
        "empty", "blank", "gbk bytes", "binary", "truncated json", "deep nesting",
        "integer beyond the digit limit", "huge integer id", "huge text", "year one",
        "boolean phone", "public two",
    ],
)
def test_malformed_json_body_raises_adapter_error_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        parse(RawInbound(channel="board", body=body, headers={"content-type": "application/json"}))
    assert caught.value.field == field


def test_post_without_time_takes_the_transport_receipt_time() -> None:
    moment = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    report = parse(RawInbound(channel="board", body="{\"text\": \"井盖丢了\"}".encode(), received_at=moment))
    assert report.received_at == moment


def test_form_post_keeps_an_encoded_copy_as_raw_bytes() -> None:
    report = parse(RawInbound(channel="board", form={"text": ["井盖丢了"], "user": ["u1"]}))
    assert "井盖丢了".encode() in __import__("urllib.parse").parse.unquote_to_bytes(report.raw)
    assert report.extra["source"] == "form"


def test_unknown_fields_are_listed_in_extra_not_lost_silently() -> None:
    report = parse(RawInbound(channel="board", body="{\"text\": \"井盖\", \"likes\": 3}".encode()))
    assert report.extra["unknown_fields"] == ["likes"]


@pytest.mark.parametrize(
    ("html", "text", "defects"),
    [
        ("路灯不亮，请维修。", "路灯不亮，请维修。", []),
        ("温度<5度时 a<b 也算", "温度<5度时 a<b 也算", []),
        ("　　第一段\u00a0内容\r\n\r\n\r\n\r\n　　第二段", "第一段 内容\n\n第二段", []),
        ("<p>第一段</p><p>第二段</p>", "第一段\n第二段", ["html converted to text"]),
        ("一<br>二<br/>三", "一\n二\n三", ["html converted to text"]),
        ("<div>甲</div><div><div>乙</div></div>", "甲\n乙", ["html converted to text"]),
        ("<ul><li>一</li><li>二</li></ul>", "一\n二", ["html converted to text"]),
        ("A&amp;B &lt;c&gt; &#20013;&#x6587;", "A&B <c> 中文", ["html converted to text"]),
        ("<p>你好</p><!-- 编辑器注释 -->", "你好", ["comments removed", "html converted to text"]),
        (
            "<html><head><title>标题</title><style>p{}</style></head><body><p>正文</p></body></html>",
            "正文",
            ["head removed", "html converted to text"],
        ),
        ("<p>正文</p><script>steal()</script>", "正文", ["script removed", "html converted to text"]),
        ("<table><tr><td>地址</td><td>汉口</td></tr></table>", "地址 汉口", ["html converted to text"]),
        ("<p>  多个   空格\n 换行  </p>", "多个 空格 换行", ["html converted to text"]),
        ("<p>a</p>" + "<p>&nbsp;</p>" * 5 + "<p>b</p>", "a\n\nb", ["html converted to text"]),
        ("<div>" * 3000 + "深" + "</div>" * 3000, "深", ["html converted to text"]),
    ],
    ids=[
        "plain text", "plain text with angle brackets", "plain text whitespace", "paragraphs",
        "line breaks", "nested divs", "list items", "entities", "comment", "head and style",
        "script", "table cells", "source whitespace", "empty paragraphs", "deep nesting",
    ],
)
def test_clean_html_keeps_paragraphs_and_reports_what_it_stripped(
    html: str, text: str, defects: list[str]
) -> None:
    found: list[str] = []
    assert clean_html(html, found) == text
    assert found == defects


def test_plain_text_is_not_mistaken_for_html() -> None:
    assert not looks_like_html("价格<10元 & 数量>5")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_clean_html_never_raises_on_any_text(text: str) -> None:
    assert isinstance(clean_html(text), str)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=5,
)
_KEYS = st.sampled_from(["post_id", "unit", "topic", "title", "text", "address", "name", "phone",
                         "email", "user", "anonymous", "public", "time"]) | st.text(max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]))
def test_arbitrary_bytes_only_ever_raise_adapter_error(body: bytes, content_type: str) -> None:
    try:
        parse(RawInbound(channel="board", body=body, headers={"Content-Type": content_type}))
    except AdapterError:
        pass


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_arbitrary_json_objects_only_ever_raise_adapter_error(data: dict[str, Any]) -> None:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        report = parse(RawInbound(channel="board", body=body))
    except AdapterError:
        return
    assert report.text


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_KEYS, st.lists(st.text(max_size=40), max_size=2), max_size=8))
def test_arbitrary_forms_only_ever_raise_adapter_error(form: dict[str, list[str]]) -> None:
    try:
        parse(RawInbound(channel="board", form=form))
    except AdapterError:
        pass
