"""12345 hotline tickets, batches and CSV exports: table-driven over fixtures/hotline."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError, InboundReport
from adapters.hotline import parse_batch, parse_ticket, read_csv, recording_url
from tests.adapters.fixturefiles import FIXTURES, as_comparable

HOTLINE = FIXTURES / "hotline"
TICKETS: list[dict[str, Any]] = json.loads((HOTLINE / "tickets.json").read_text(encoding="utf-8"))


def _csv(name: str) -> bytes:
    return (HOTLINE / name).read_bytes()


@pytest.mark.parametrize("case", [c for c in TICKETS if "expect" in c], ids=lambda c: c["about"])
def test_ticket_fixture_becomes_the_expected_report(case: dict[str, Any]) -> None:
    report = parse_ticket(case["ticket"], b"raw")
    for key, expected in case["expect"].items():
        assert as_comparable(getattr(report, key)) == expected, key
    assert report.raw == b"raw"


@pytest.mark.parametrize("case", [c for c in TICKETS if "error" in c], ids=lambda c: c["about"])
def test_bad_ticket_fixture_is_rejected_naming_the_field(case: dict[str, Any]) -> None:
    with pytest.raises(AdapterError) as caught:
        parse_ticket(case["ticket"])
    assert caught.value.field == case["error"]


def test_a_huge_integer_ticket_number_is_rejected_not_stringified() -> None:
    with pytest.raises(AdapterError) as caught:
        parse_ticket({"ticket_no": 10**5000, "content": "x"})
    assert caught.value.field == "ticket_no"


def test_a_single_ticket_body_is_a_batch_of_one_keeping_the_body_as_raw() -> None:
    body = json.dumps(TICKETS[0]["ticket"], ensure_ascii=False).encode()
    [report] = parse_batch(body)
    assert isinstance(report, InboundReport)
    assert report.raw == body


@pytest.mark.parametrize("wrap", [lambda items: items, lambda items: {"tickets": items}], ids=["array", "tickets object"])
def test_a_batch_returns_one_result_per_ticket_with_errors_in_place(wrap: Any) -> None:
    items = [case["ticket"] for case in TICKETS]
    results = parse_batch(json.dumps(wrap(items), ensure_ascii=False).encode())
    assert len(results) == len(TICKETS)
    for case, result in zip(TICKETS, results):
        if "error" in case:
            assert isinstance(result, AdapterError) and result.field == case["error"]
        else:
            assert isinstance(result, InboundReport)
            assert json.loads(result.raw) == case["ticket"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (b"\"a string\"", "body"),
        (b"{\"tickets\": {\"ticket_no\": 1}}", "tickets"),
        (b"\xff\xfe\xff", "body"),
        (json.dumps([{"ticket_no": i, "content": "x"} for i in range(1001)]).encode(), "tickets"),
    ],
    ids=["empty", "not json", "a string", "tickets not an array", "broken bytes", "too many"],
)
def test_an_unusable_batch_body_raises_adapter_error(body: bytes, field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        parse_batch(body)
    assert caught.value.field == field


def test_a_gbk_batch_body_is_decoded() -> None:
    body = json.dumps({"ticket_no": "G1", "content": "噪音扰民"}, ensure_ascii=False).encode("gbk")
    [report] = parse_batch(body)
    assert isinstance(report, InboundReport) and report.text == "噪音扰民"


UTF8_EXPECTED = [
    (2, "WH-0001", "13800138000", "投诉", "normal", "2026-11-20T01:05:00+00:00", "小区门口占道经营，早高峰堵车严重。"),
    (3, "WH-0002", "02788886666", "求助", "urgent", "2026-11-20T02:12:30+00:00", "家中老人走失，请协助寻找。\n老人穿蓝色外套。"),
    (5, "WH-0003", "13912345678", "建议", None, "2026-11-20T03:20:00+00:00", "建议在学校门口增设红绿灯。"),
]


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: text.encode("utf-8-sig"),
        lambda text: text.encode("gbk"),
        lambda text: text.encode("gb18030"),
        lambda text: text.replace("\n", "\r\n").encode("gbk"),
        lambda text: text.replace(",", "\t").encode("utf-16"),
    ],
    ids=["utf-8", "utf-8 with bom", "gbk", "gb18030", "gbk with crlf", "utf-16 tab separated"],
)
def test_csv_export_imports_whatever_excel_encoding_it_was_saved_in(encode: Any) -> None:
    data = encode(_csv("tickets_utf8.csv").decode("utf-8"))
    good, bad = read_csv(data)
    assert bad == []
    got = [
        (line, r.external_id, r.phone, r.appeal_type, r.urgency, as_comparable(r.received_at), r.text)
        for line, r in good
    ]
    assert got == UTF8_EXPECTED
    assert good[0][1].name == "张先生" and good[0][1].district == "洪山区"
    assert good[0][1].extra == {"operator_id": "A0101"} and good[0][1].title == "占道经营"


def test_csv_with_english_headers_imports() -> None:
    good, bad = read_csv(_csv("tickets_english_headers.csv"))
    assert bad == []
    assert [(r.external_id, r.appeal_type, r.urgency, r.district) for _, r in good] == [
        ("E-1", "投诉", "urgent", "青山区"),
        ("E-2", "表扬", "normal", "硚口区"),
    ]


def test_csv_broken_rows_are_reported_by_line_while_good_rows_still_import() -> None:
    good, bad = read_csv(_csv("tickets_broken_rows.csv"))
    assert [(line, r.external_id) for line, r in good] == [(2, "B-1"), (8, "B-6")]
    assert good[1][1].text == "举报某工地夜间\n偷排泥浆。"
    assert [(line, reason.split(":")[0]) for line, reason in bad] == [
        (3, "content"), (4, "appeal_type"), (6, "call_time"), (7, "ticket_no"),
    ]


def test_each_csv_row_keeps_its_own_line_as_raw() -> None:
    good, _ = read_csv(_csv("tickets_english_headers.csv"))
    assert good[0][1].raw.decode().startswith("E-1,13700000001,")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"", "body"),
        ("来电号码,诉求内容\n138,路灯\n".encode(), "header"),
        ("\n\n".encode(), "body"),
        (b"\x81", "body"),
    ],
    ids=["empty file", "no ticket number column", "only blank lines", "undecodable"],
)
def test_unusable_csv_file_raises_adapter_error(data: bytes, field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        read_csv(data)
    assert caught.value.field == field


def test_csv_row_with_an_oversized_field_stops_with_a_bad_row_not_a_crash() -> None:
    data = "工单编号,诉求内容\nA,好\nB,\"".encode() + b"x" * 200_000
    good, bad = read_csv(data)
    assert [r.external_id for _, r in good] == ["A"]
    assert bad and bad[0][1].startswith("csv:")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_KEYS = st.sampled_from(["ticket_no", "caller_number", "caller_name", "call_time", "appeal_type",
                         "content", "title", "urgency", "category", "public", "call_id",
                         "recording_url"]) | st.text(max_size=6)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_arbitrary_ticket_dicts_only_ever_raise_adapter_error(data: dict[str, Any]) -> None:
    try:
        parse_ticket(data, recording_hosts=("rec.example",))
    except AdapterError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_recording_addresses_only_ever_raise_adapter_error(url: str) -> None:
    for text in (url, f"https://rec.example/{url}", f"https://{url}/x.mp3", f"http://[{url}]/"):
        try:
            recording_url(text, ("rec.example",))
        except AdapterError:
            pass


BASE = {"ticket_no": "T-1", "content": "路灯不亮"}


@pytest.mark.parametrize("url, hosts, expected", [
    ("https://rec.example/a.mp3", ("rec.example",), "https://rec.example/a.mp3"),
    ("http://REC.example:8080/a.wav?id=7", ("rec.example",), "http://REC.example:8080/a.wav?id=7"),
    (None, (), None),
    ("", (), None),
])
def test_a_recording_on_an_allowed_host_is_kept_as_given(url: Any, hosts: tuple[str, ...], expected: Any) -> None:
    report = parse_ticket({**BASE, "recording_url": url, "call_id": 8841}, recording_hosts=hosts)
    assert report.recording_url == expected and report.call_id == "8841"


@pytest.mark.parametrize("url, hosts, says", [
    ("https://rec.example/a.mp3", (), "recordings from rec.example are not accepted; allowed hosts: none"),
    ("https://other.example/a.mp3", ("rec.example",), "allowed hosts: rec.example"),
    ("https://rec.example.evil.test/a.mp3", ("rec.example",), "recordings from rec.example.evil.test"),
    ("javascript:alert(1)", ("rec.example",), "expected an http:// or https:// address"),
    ("https://rec.example/a b.mp3", ("rec.example",), "expected an http:// or https:// address"),
    ("https://u:p@rec.example/a.mp3", ("rec.example",), "credentials"),
    ("http://[::1/a.mp3", ("rec.example",), "not a URL"),
    (["https://rec.example/a.mp3"], ("rec.example",), "expected a string"),
])
def test_a_recording_elsewhere_or_no_address_at_all_is_refused_naming_the_field(url: Any, hosts: tuple[str, ...],
                                                                               says: str) -> None:
    with pytest.raises(AdapterError) as caught:
        parse_ticket({**BASE, "recording_url": url}, recording_hosts=hosts)
    assert caught.value.field == "recording_url" and says in caught.value.message


def test_csv_call_columns_are_read_under_their_chinese_names() -> None:
    data = "工单编号,诉求内容,通话编号,录音链接\nT-9,路灯不亮,C-9,https://rec.example/9.mp3\n".encode()
    [(_, report)], bad = read_csv(data, recording_hosts=("rec.example",))
    assert bad == [] and (report.call_id, report.recording_url) == ("C-9", "https://rec.example/9.mp3")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_adapter_error_from_batch_and_csv(body: bytes) -> None:
    for reader in (parse_batch, read_csv):
        try:
            reader(body)
        except AdapterError:
            pass


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), max_size=6), max_size=5))
def test_arbitrary_csv_rows_under_a_good_header_only_ever_raise_adapter_error(rows: list[list[str]]) -> None:
    lines = ["工单编号,诉求内容,来电时间,诉求类型,紧急程度,是否公开"] + [",".join(row) for row in rows]
    try:
        read_csv("\n".join(lines).encode("utf-8", "surrogatepass"))
    except AdapterError:
        pass
