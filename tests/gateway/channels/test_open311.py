"""Open311 GeoReport v2: read with the `georeport` client over a live loopback server, write with the spec's form posts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from georeport import GeoReport
from sqlmodel import Session, select

from gateway.clock import utcnow
from gateway.models import Case, Report
from tests.kits.channel_kit import count, unparsed

FORM = "application/x-www-form-urlencoded; charset=utf-8"
LIGHT = {"api_key": "k-311", "jurisdiction_id": "wuhan.gov.cn", "service_code": "street_light", "lat": "30.5928",
         "long": "114.3055", "address_string": "江岸区中山大道888号", "email": "zhang@example.cn", "first_name": "三",
         "last_name": "张", "phone": "13800138000", "description": "中山大道路灯夜间不亮",
         "media_url": "https://img.example.cn/r/123.jpg", "attribute[POLE_NO]": "JA-0421", "attribute[FAULT]": "dark",
         "attribute[LAMPS]": "3", "account_id": "acc-7"}


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "OPEN311_API_KEYS": ["k-311", "k-other"]}


@pytest.fixture(autouse=True)
def open311_public(app: Any) -> None:
    """This city publishes Open311 requests (profile `[city] public_channels`); the default keeps them private."""
    app.extensions["hotline"].profile.city["public_channels"] = ["open311"]


def post(client: Any, fields: dict[str, str], fmt: str = "json") -> Any:
    return client.post(f"/open311/v2/requests.{fmt}", data=urlencode(fields), content_type=FORM)


@pytest.fixture
def live(live_server: str) -> str:
    return f"{live_server}/open311/v2"


def test_a_form_encoded_request_becomes_a_case_visible_in_the_api(client, rt, office_client):
    resp = post(client, LIGHT)
    assert resp.status_code == 200
    [answer] = resp.get_json()
    number = answer["service_request_id"]
    assert answer["account_id"] == "acc-7" and number in answer["service_notice"]
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["category"] == "street_light"
    [report] = detail["reports"]
    assert report["channel"] == "open311" and report["attachments"][0]["url"] == LIGHT["media_url"]
    with Session(rt.engine) as session:
        row = session.exec(select(Report)).one()
    assert row.extra["attributes"] == {"POLE_NO": "JA-0421", "FAULT": "dark", "LAMPS": 3}
    assert b"k-311" not in row.raw and b"api_key=[redacted]&jurisdiction_id" in row.raw


def test_the_xml_answer_to_a_post_has_the_specs_shape(client):
    resp = post(client, LIGHT, "xml")
    assert resp.status_code == 200 and resp.content_type.startswith("text/xml")
    root = ET.fromstring(resp.data)
    assert root.tag == "service_requests"
    assert [child.tag for child in root.find("request")] == ["service_request_id", "token", "service_notice", "account_id"]


def test_the_token_of_a_post_leads_to_its_request(client):
    answer = post(client, LIGHT).get_json()[0]
    resp = client.get(f"/open311/v2/tokens/{answer['token']}.json")
    assert resp.get_json() == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    missing = client.get("/open311/v2/tokens/nope.xml")
    assert missing.status_code == 404 and ET.fromstring(missing.data).find("error/code").text == "404"


@pytest.mark.parametrize("fields, status, fmt", [
    ({**LIGHT, "api_key": "wrong"}, 403, "xml"),
    ({k: v for k, v in LIGHT.items() if k != "api_key"}, 403, "json"),
    ({**LIGHT, "service_code": "no_such"}, 400, "json"),
    ({**LIGHT, "lat": "北纬"}, 400, "xml"),
    ({**LIGHT, "attribute[FAULT]": "purple"}, 400, "json"),
    ({k: v for k, v in LIGHT.items() if k != "attribute[FAULT]"}, 400, "json"),
    ({"api_key": "k-311", "service_code": "street_light", "description": "x", "attribute[FAULT]": "dark"}, 400, "xml"),
])
def test_bad_posts_get_the_specs_error_body_and_are_kept(client, rt, fields, status, fmt):
    resp = post(client, fields, fmt)
    assert resp.status_code == status
    if fmt == "json":
        [error] = resp.get_json()
        assert set(error) == {"code", "description"} and error["code"] == status
    else:
        root = ET.fromstring(resp.data)
        assert root.tag == "errors" and root.find("error/code").text == str(status)
    assert count(rt, Report) == 0
    [kept] = unparsed(rt, "open311")
    assert b"service_code" in kept.body and b"k-311" not in kept.body


def test_html_in_a_description_is_kept_as_text_in_both_formats(client):
    number = post(client, {**LIGHT, "description": "<script>alert(1)</script>路灯 & 电线"}).get_json()[0]["service_request_id"]
    xml = client.get(f"/open311/v2/requests/{number}.xml")
    assert ET.fromstring(xml.data).find("request/description").text == "<script>alert(1)</script>路灯 & 电线"
    assert b"<script>" not in xml.data


def test_the_georeport_client_reads_services_and_definitions_in_json_and_xml(live):
    for fmt in ("json", "xml"):
        client = GeoReport(live, output_format=fmt)
        services = {s["service_code"]: s for s in client.get_service_list()}
        assert services["street_light"]["service_name"] == "路灯照明"
        assert str(services["street_light"]["metadata"]).lower() == "true"
        definition = client.get_service_definition("street_light")
        attributes = definition["attributes"]
        attributes = attributes["attribute"] if fmt == "xml" else attributes
        assert [a["code"] for a in attributes] == ["POLE_NO", "FAULT", "LAMPS"]
        assert attributes[0]["description"].startswith("灯杆编号")
    assert requests.get(f"{live}/services/nope.json", timeout=60).status_code == 404


def test_the_georeport_client_reads_requests_and_one_request(client, live):
    number = post(client, LIGHT).get_json()[0]["service_request_id"]
    other = post(client, {**LIGHT, "service_code": "water", "description": "江汉区停水三天",
                          "attribute[FAULT]": ""}).get_json()[0]["service_request_id"]
    reader = GeoReport(live)
    assert {r["service_request_id"] for r in reader.get_service_requests()} == {number, other}
    assert [r["service_request_id"] for r in reader.get_service_requests(service_code="water")] == [other]
    one = reader.get_service_request(number)
    assert one["status"] == "open" and one["service_name"] == "路灯照明" and one["lat"] == 30.5928
    xml = GeoReport(live, output_format="xml").get_service_request(number)
    assert xml["service_request_id"] == number and xml["status"] == "open"
    assert [r["service_request_id"] for r in reader.get_service_requests(service_request_id=f"{other},NOPE")] == [other]
    assert reader.get_service_requests(status="closed") == []


def test_a_merged_case_shows_closed_with_notes_naming_the_survivor(client, rt, live):
    absorbed = post(client, LIGHT).get_json()[0]["service_request_id"]
    survivor = post(client, {**LIGHT, "description": "中山大道路灯又坏了"}).get_json()[0]["service_request_id"]
    with Session(rt.engine) as session:
        cases = {c.number: c for c in session.exec(select(Case)).all()}
        cases[absorbed].merged_into_id = cases[survivor].id
        cases[absorbed].status = "merged"
        session.add(cases[absorbed])
        session.commit()
    one = GeoReport(live).get_service_request(absorbed)
    assert one["status"] == "closed" and survivor in one["status_notes"]
    closed = GeoReport(live).get_service_requests(status="closed")
    assert [r["service_request_id"] for r in closed] == [absorbed]


def test_the_default_window_is_the_last_90_days_and_a_longer_span_is_400(client, rt):
    number = post(client, LIGHT).get_json()[0]["service_request_id"]
    with Session(rt.engine) as session:
        case = session.exec(select(Case)).one()
        case.created_at = utcnow() - timedelta(days=100)
        session.add(case)
        session.commit()
    assert client.get("/open311/v2/requests.json").get_json() == []
    start = (utcnow() - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = client.get("/open311/v2/requests.json", query_string={"start_date": start}).get_json()
    assert [r["service_request_id"] for r in found] == [number]
    end = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    too_long = client.get("/open311/v2/requests.xml", query_string={"start_date": start, "end_date": end})
    assert too_long.status_code == 400 and ET.fromstring(too_long.data).find("error/code").text == "400"
    bad = client.get("/open311/v2/requests.json", query_string={"start_date": "上周"})
    assert bad.status_code == 400 and "start_date" in bad.get_json()[0]["description"]
    assert client.get("/open311/v2/requests.json", query_string={"status": "pending"}).status_code == 400


def test_a_listing_returns_at_most_1000_requests_and_no_private_ones(client, rt):
    now = utcnow()
    with Session(rt.engine) as session:
        for i in range(1002):
            session.add(Case(number=f"WH20261128-9{i:05d}", channel="open311", summary="路灯",
                             public=i != 0, created_at=now - timedelta(seconds=i), updated_at=now))
        session.commit()
    rows = client.get("/open311/v2/requests.json").get_json()
    assert len(rows) == 1000
    assert "WH20261128-900000" not in {r["service_request_id"] for r in rows}
    private = client.get("/open311/v2/requests/WH20261128-900000.json").get_json()[0]
    assert private["description"] is None and private["status"] == "open"


def test_discovery_names_the_endpoint_and_its_formats(client):
    body = client.get("/open311/v2/discovery.json").get_json()
    assert body["endpoints"][0]["url"].endswith("/open311/v2")
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    root = ET.fromstring(client.get("/open311/v2/discovery.xml").data)
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


def test_an_unknown_request_number_is_404_in_the_specs_shape(client):
    resp = client.get("/open311/v2/requests/WH20990101-000001.json")
    assert resp.status_code == 404 and resp.get_json()[0]["code"] == 404
    assert json.loads(resp.data)[0]["description"]


def test_open311_masks_what_the_board_masks_and_says_nothing_of_a_private_cases_reply(client, rt):
    from tests.kits.case_kit import add_assignment, add_case

    with Session(rt.engine, expire_on_commit=False) as session:
        shown = add_case(session, "WH20261201-000001", summary="张先生反映：路灯坏了，电话13800138001，邮箱zhang@example.com",
                         status="closed")
        session.add(Report(case_id=shown.id, channel="web", text=shown.summary, name="张先生"))
        add_assignment(session, shown, "WH-LIGHT", status="replied", reply_text="已联系张先生（13800138001）修好")
        hidden = add_case(session, "WH20261201-000002", summary="私密：我家地址和电话13900139002", public=False,
                          status="closed")
        add_assignment(session, hidden, "WH-LIGHT", status="replied", reply_text="已上门处理，电话13900139002")
        session.commit()
    listed = client.get("/open311/v2/requests.json?service_request_id=WH20261201-000001,WH20261201-000002")
    rows = {r["service_request_id"]: r for r in listed.get_json()}
    public = rows["WH20261201-000001"]
    assert "13800138001" not in json.dumps(public, ensure_ascii=False) and "zhang@example.com" not in public["description"]
    assert "张先生" not in public["description"] and "138****8001" in public["description"]
    assert "张先生" not in public["status_notes"] and "13800138001" not in public["status_notes"]
    private = rows["WH20261201-000002"]
    assert private["description"] is None and "13900139002" not in json.dumps(private)
    assert private["status_notes"] is None
    one = client.get("/open311/v2/requests/WH20261201-000002.json").get_json()[0]
    assert one["status_notes"] is None and one["description"] is None
