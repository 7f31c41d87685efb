"""Open311 GeoReport v2: requests table in fixtures/open311, response shapes, property tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import AdapterError
from adapters.open311 import (
    AttributeDef,
    ServiceDef,
    parse_request,
    render_error,
    to_json,
    to_xml,
    to_xml_document,
)
from tests.adapters.fixturefiles import FIXTURES, as_comparable

CASES: list[dict[str, Any]] = json.loads((FIXTURES / "open311" / "requests.json").read_text(encoding="utf-8"))

SERVICES = {
    "LIGHT01": ServiceDef(
        code="LIGHT01",
        name="路灯故障",
        description="路灯不亮、闪烁或白天常亮",
        attributes=[
            AttributeDef("POLE", "string", True, "灯杆编号", 1),
            AttributeDef("KIND", "singlevaluelist", False, "故障现象", 2, [("dark", "不亮"), ("flicker", "闪烁")]),
            AttributeDef("SINCE", "datetime", False, "发现时间", 3),
            AttributeDef("COUNT", "number", False, "涉及盏数", 4),
            AttributeDef("NOTE", "text", False, "请拍照上传", 5, variable=False),
        ],
    ),
    "TRASH02": ServiceDef(
        code="TRASH02",
        name="垃圾未清运",
        attributes=[AttributeDef("WHAT", "multivaluelist", False, "遗留物品", 1, [("bin", "垃圾桶"), ("bag", "垃圾袋")])],
    ),
}


def _form(body: str) -> dict[str, list[str]]:
    return parse_qs(body, keep_blank_values=True)


@pytest.mark.parametrize("case", [c for c in CASES if "expect" in c], ids=lambda c: c["about"])
def test_open311_request_fixture_becomes_the_expected_report(case: dict[str, Any]) -> None:
    report = parse_request(_form(case["body"]), SERVICES, case["body"].encode())
    for key, expected in case["expect"].items():
        assert as_comparable(getattr(report, key)) == expected, key
    assert [a.url for a in report.attachments] == case.get("attachment_urls", [])
    assert report.raw == case["body"].encode()


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c], ids=lambda c: c["about"])
def test_bad_open311_request_fixture_is_rejected_naming_the_field(case: dict[str, Any]) -> None:
    with pytest.raises(AdapterError) as caught:
        parse_request(_form(case["body"]), SERVICES)
    assert caught.value.field == case["error"]


def test_the_api_key_never_reaches_the_report_details() -> None:
    report = parse_request(_form(CASES[0]["body"]), SERVICES)
    assert "secret-key" not in json.dumps(report.extra)


def test_the_media_attachment_is_named_after_the_url_path() -> None:
    report = parse_request(_form(CASES[0]["body"]), SERVICES)
    assert report.attachments[0].filename == "123.jpg"


def test_error_renders_as_the_specs_xml() -> None:
    text = render_error(403, "无效的 api_key，无法创建请求。", "xml")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "errors"
    assert [(e.findtext("code"), e.findtext("description")) for e in root] == [("403", "无效的 api_key，无法创建请求。")]


def test_error_renders_as_the_specs_json_array() -> None:
    assert json.loads(render_error(400, "service_code: 未知服务", "json")) == [
        {"code": 400, "description": "service_code: 未知服务"}
    ]


def test_unknown_error_format_is_refused() -> None:
    with pytest.raises(AdapterError):
        render_error(400, "x", "yaml")  # type: ignore[arg-type]


def test_service_requests_render_as_requests_inside_service_requests() -> None:
    items = [{"service_request_id": 293944, "service_notice": "24 小时内核查", "account_id": None}]
    root = ET.fromstring(to_xml("service_requests", "request", items).encode())
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert [(child.tag, child.text) for child in root[0]] == [
        ("service_request_id", "293944"), ("service_notice", "24 小时内核查"), ("account_id", None),
    ]
    assert json.loads(to_json(items)) == items


def test_service_list_renders_as_services_with_metadata_flags() -> None:
    services = [service.as_service() for service in SERVICES.values()]
    root = ET.fromstring(to_xml("services", "service", services).encode())
    assert [s.findtext("service_code") for s in root.iter("service")] == ["LIGHT01", "TRASH02"]
    assert root[0].findtext("metadata") == "true" and root[0].findtext("service_name") == "路灯故障"


def test_service_definition_nests_attributes_and_values() -> None:
    definition = SERVICES["LIGHT01"].as_definition()
    root = ET.fromstring(to_xml_document("service_definition", definition).encode())
    kind = root.find("attributes")[1]  # type: ignore[index]
    assert kind.tag == "attribute" and kind.findtext("code") == "KIND"
    assert [(v.findtext("key"), v.findtext("name")) for v in kind.iter("value")] == [("dark", "不亮"), ("flicker", "闪烁")]
    assert json.loads(to_json(definition))["attributes"][1]["values"][0] == {"key": "dark", "name": "不亮"}


def test_xml_drops_characters_xml_cannot_carry() -> None:
    text = to_xml("service_requests", "request", [{"status_notes": "坏\x00了\x1b"}])
    assert ET.fromstring(text.encode()).findtext("request/status_notes") == "坏了"


def test_an_invalid_element_name_is_refused() -> None:
    with pytest.raises(AdapterError):
        to_xml("service_requests", "request", [{"not a name": 1}])


_KEYS = st.sampled_from([
    "service_code", "lat", "long", "address_string", "address_id", "description", "media_url", "email",
    "first_name", "phone", "attribute[POLE]", "attribute[KIND]", "attribute[KIND][]", "attribute[COUNT]",
    "attribute[SINCE]", "attribute[WHAT][]", "attribute[]", "attribute[[x]]",
]) | st.text(max_size=12)
_VALUES = st.sampled_from(["LIGHT01", "TRASH02", "30.5", "-200", "1e309", "nan", "dark", "bin", "", "路灯",
                           "2026-11-20 08:00", "http://x/y.jpg", "http://[bad"]) | st.text(max_size=20)


@settings(max_examples=70, deadline=None)
@given(st.dictionaries(_KEYS, st.lists(_VALUES, max_size=3), max_size=10))
def test_arbitrary_forms_only_ever_raise_adapter_error(form: dict[str, list[str]]) -> None:
    try:
        report = parse_request(form, SERVICES)
    except AdapterError:
        return
    assert report.text and (report.lat is not None or report.address or "address_id" in report.extra)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bodies_decoded_as_forms_only_ever_raise_adapter_error(body: bytes) -> None:
    form = parse_qs(body.decode("latin-1"), keep_blank_values=True)
    try:
        parse_request(form, SERVICES, body)
    except AdapterError:
        pass


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=60), st.integers(min_value=100, max_value=599))
def test_error_bodies_are_always_well_formed(description: str, code: int) -> None:
    ET.fromstring(render_error(code, description, "xml").encode("utf-8", "surrogatepass"))
    assert json.loads(render_error(code, description, "json"))[0]["code"] == code
