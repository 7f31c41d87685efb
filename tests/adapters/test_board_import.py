"""Saved board pages: fixtures/board_pages, parsed by label, plus property tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError
from adapters.board_import import parse_detail_page, parse_list_page, to_report
from tests.adapters.fixturefiles import FIXTURES, as_comparable

PAGES = FIXTURES / "board_pages"

DETAILS: list[tuple[str, dict[str, Any]]] = [
    (
        "detail_with_reply.html",
        {
            "post_id": "20261120015",
            "title": "武昌区中北路人行道地砖松动多处",
            "time": "2026-11-20T01:30:00+00:00",
            "author": "江城网友8823",
            "unit": "武昌区人民政府",
            "body": "中北路东侧人行道（地铁站C出口往北约200米）地砖松动多处，下雨天一踩就溅一身泥水。\n\n"
            "已有老人在此滑倒，希望有关部门尽快修复。",
            "reply_unit": "武昌区城市管理执法局",
            "reply_time": "2026-11-22T08:05:00+00:00",
            "reply_text": "网友您好：\n\n收到留言后，我局已安排养护单位于11月21日对该路段松动地砖进行了更换。\n"
            "感谢您对城市管理工作的关注与支持！",
        },
    ),
    (
        "detail_no_reply_gbk.html",
        {
            "post_id": "XJ2026112100042",
            "title": "汉口火车站出租车拒载绕路问题",
            "time": "2026-11-21T12:15:00+00:00",
            "author": "匿名网友",
            "unit": "市交通运输局",
            "body": "晚上十点在汉口火车站打车，连续三辆出租车拒载，\n最后一辆还故意绕路，多收了三十多元。\n\n请交通部门加强监管！",
            "reply_unit": None,
            "reply_time": None,
            "reply_text": None,
        },
    ),
]


@pytest.mark.parametrize(("name", "expected"), DETAILS, ids=[name for name, _ in DETAILS])
def test_detail_page_fields_are_found_by_their_labels(name: str, expected: dict[str, Any]) -> None:
    post = parse_detail_page((PAGES / name).read_bytes(), source=name)
    assert {key: as_comparable(post[key]) for key in expected} == expected
    assert post["source"] == name and post["defects"] == []


def test_gbk_page_decodes_the_same_from_bytes_as_from_text() -> None:
    data = (PAGES / "detail_no_reply_gbk.html").read_bytes()
    assert parse_detail_page(data) == parse_detail_page(data.decode("gb18030"))


def test_detail_page_without_message_content_is_rejected_naming_the_body() -> None:
    with pytest.raises(AdapterError) as caught:
        parse_detail_page((PAGES / "detail_missing_body.html").read_bytes())
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("page", "field", "value"),
    [
        ("<dl><dt>留言标题</dt><dd>桥下积水</dd><dt>留言内容</dt><dd>雨后桥下积水过膝。</dd></dl>", "title", "桥下积水"),
        ("<p>留言标题：桥下积水</p><p>留言内容：雨后桥下积水过膝。</p>", "title", "桥下积水"),
        ("<div><span class='label'>标题</span><span>桥下积水</span></div><div class='msg-content'>积水</div>", "title", "桥下积水"),
        ("<h1>桥下积水</h1><div class='post-content'>雨后桥下积水过膝。</div>", "title", "桥下积水"),
        ("<table><tr><td>来信内容</td><td>雨后<br>积水</td></tr></table>", "body", "雨后\n积水"),
        ("<p>留言人：张三　留言时间：2026-11-20 08:00</p><p>内容如下</p><div class='msg-content'>积水</div>", "author", "张三"),
        ("<p>留言时间：前天</p><div class='msg-content'>积水</div>", "time", None),
        ("<div class='msg-content'>积水</div>", "post_id", "778899"),
    ],
    ids=["dl", "inline colon", "label span", "class names", "td label", "two labels on one line",
         "unreadable time", "id from source url"],
)
def test_detail_page_layouts_from_different_sites_are_understood(page: str, field: str, value: Any) -> None:
    post = parse_detail_page(page, source="https://example.gov.cn/liuyan/show.jsp?id=778899")
    assert post[field] == value


def test_unreadable_time_is_recorded_as_a_defect() -> None:
    post = parse_detail_page("<p>留言时间：前天</p><div class='msg-content'>积水</div>")
    assert post["defects"] == ["time not understood"]


def test_list_page_table_rows_become_entries_with_absolute_urls() -> None:
    entries = parse_list_page((PAGES / "list_page.html").read_bytes(), "https://liuyan.example.gov.cn/list/")
    got = [(e["post_id"], e["title"], e["author"], as_comparable(e["time"]), e["url"], e["status"]) for e in entries]
    assert got == [
        ("20261120015", "武昌区中北路人行道地砖松动多处", "江城网友8823", "2026-11-20T01:30:00+00:00",
         "https://liuyan.example.gov.cn/list/detail.html?id=20261120015", "已回复"),
        ("20261121042", "汉口火车站出租车拒载绕路问题", "匿名网友", "2026-11-21T12:15:00+00:00",
         "https://liuyan.example.gov.cn/list/detail.html?id=20261121042", "办理中"),
        ("20261123001", "小区电梯经常停运", "业主甲", "2026-11-22T23:45:00+00:00",
         "https://liuyan.example.gov.cn/liuyan/20261123001.html", "未回复"),
    ]


def test_list_page_items_without_a_table_are_read_from_their_classes() -> None:
    entries = parse_list_page((PAGES / "list_page_items.html").read_text(encoding="utf-8"))
    got = [(e["post_id"], e["title"], e["author"], as_comparable(e["time"]), e["url"], e["status"]) for e in entries]
    assert got == [
        ("A-778", "东湖绿道夜间照明不足", "跑步爱好者", "2026-11-19T13:02:11+00:00", "/show/A-778", "已办结"),
        ("A-779", "光谷广场公交站台无遮阳棚", "光谷上班族", "2026-11-19T16:00:00+00:00", "/show/A-779", "已受理"),
    ]


def test_imported_post_becomes_a_board_report_with_the_reply_in_extra() -> None:
    raw = (PAGES / "detail_with_reply.html").read_bytes()
    report = to_report(parse_detail_page(raw, source="detail_with_reply.html"), raw)
    assert report.channel == "board" and report.external_id == "20261120015"
    assert report.title == "武昌区中北路人行道地砖松动多处"
    assert report.received_at == datetime(2026, 11, 20, 1, 30, tzinfo=timezone.utc)
    assert report.board_user == "江城网友8823" and report.addressed_unit == "武昌区人民政府"
    assert report.extra["reply"] == {
        "text": report.extra["reply"]["text"], "time": "2026-11-22T08:05:00+00:00", "unit": "武昌区城市管理执法局",
    }
    assert report.extra["source"] == "detail_with_reply.html" and report.raw == raw


def test_imported_post_without_reply_has_no_reply_in_extra() -> None:
    raw = (PAGES / "detail_no_reply_gbk.html").read_bytes()
    report = to_report(parse_detail_page(raw), raw)
    assert "reply" not in report.extra and report.external_id == "XJ2026112100042"


@pytest.mark.parametrize(
    ("post", "field"),
    [
        ({"title": "无正文"}, "body"),
        ({"body": "正文", "post_id": ["1"]}, "post_id"),
        ({"body": "正文", "time": "不是时间"}, "time"),
        ({"body": "正文", "defects": "x"}, "defects"),
        ("not a dict", "post"),
    ],
    ids=["no body", "list post id", "bad time", "defects not a list", "not a dict"],
)
def test_to_report_rejects_a_malformed_post_naming_the_field(post: Any, field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        to_report(post, b"")
    assert caught.value.field == field


_HTMLISH = st.lists(
    st.sampled_from(["<p>", "</p>", "<td>", "<th>留言内容</th>", "<dt>留言标题：</dt>", "<dd>", "留言时间：",
                     "2026-11-20", "<a href='x?id=1'>", "<table><tr>", "<li class='item'>", "<!--", "&amp;",
                     "<![", "<span class='label'>", "内容"]) | st.text(max_size=10),
    max_size=25,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(_HTMLISH | st.text(max_size=200))
def test_arbitrary_markup_only_ever_raises_adapter_error(page: str) -> None:
    try:
        post = parse_detail_page(page, source=page[:50])
    except AdapterError:
        post = None
    if post is not None:
        to_report(post, b"")
    try:
        assert isinstance(parse_list_page(page, base_url="http://[bad"), list)
    except AdapterError:
        pass


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_adapter_error(data: bytes) -> None:
    for reader in (parse_detail_page, parse_list_page):
        try:
            reader(data)
        except AdapterError:
            pass


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(["post_id", "title", "time", "author", "body", "unit", "reply_text",
                                        "reply_time", "reply_unit", "source", "defects"]),
                       st.none() | st.integers() | st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=2)))
def test_to_report_on_arbitrary_dicts_only_ever_raises_adapter_error(post: dict[str, Any]) -> None:
    try:
        to_report(post, b"")
    except AdapterError:
        pass
