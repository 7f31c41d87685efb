"""The operator's entry form: create a ticket during the call, see open cases, attach instead of duplicating."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import Case, Report
from tests.conftest import logged_in, run_jobs
from tests.kits.channel_kit import count, reports, unparsed

CALL = {"ticket_no": "OP-0000000000000001", "caller_number": "13800138001", "caller_name": "张先生",
        "appeal_type": "投诉", "category": "", "district": "", "address": "江岸区中山大道888号",
        "title": "路灯不亮", "content": "江岸区中山大道888号附近路灯连续三晚不亮，夜里很黑。", "urgency": "一般",
        "operator_id": "A0101", "action": "create", "csrf_token": "test-csrf-token"}


@pytest.fixture
def client(app: Any) -> Any:
    """An operator's logged-in session (the form and the suggest endpoint are staff-only)."""
    return logged_in(app, "operator")


def test_the_form_and_the_suggestions_are_for_staff_only(app):
    anonymous = app.test_client()
    assert anonymous.get("/operator/").status_code in (302, 401)
    assert anonymous.get("/api/v1/operator/suggest?phone=13800138001").status_code == 401
    assert logged_in(app, "department").get("/api/v1/operator/suggest?phone=13800138001").status_code == 403


def test_a_ticket_without_the_csrf_token_is_refused(client, rt):
    resp = client.post("/operator/", data={k: v for k, v in CALL.items() if k != "csrf_token"})
    assert resp.status_code == 400
    assert count(rt, Report) == 0


def number_in(page: str) -> str:
    return re.search(r'class="case-number">([^<]+)<', page).group(1)


def test_the_entry_form_is_chinese_with_a_fresh_ticket_number_and_a_suggest_script(client):
    page = client.get("/operator/?operator_id=A0101").get_data(as_text=True)
    assert "来电登记" in page and "诉求内容" in page and "查询在办工单" in page
    assert re.search(r'name="ticket_no" value="OP-[0-9a-f]{16}"', page)
    assert 'value="A0101"' in page
    assert "/api/v1/operator/suggest" in page


def test_an_operator_entry_becomes_a_hotline_case_visible_in_the_api(client, rt, office_client):
    resp = client.post("/operator/", data=CALL)
    assert resp.status_code == 201
    number = number_in(resp.get_data(as_text=True))
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["channel"] == "hotline" and detail["appeal_type"] == "投诉"
    [row] = reports(rt, "hotline")
    assert row.external_id == "OP-0000000000000001"
    assert row.extra["entered_by"] == "operator_form" and row.extra["operator_id"] == "A0101"
    assert row.public is False


def test_submitting_the_same_form_twice_does_not_duplicate(client, rt):
    first = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    again = client.post("/operator/", data=CALL)
    assert again.status_code == 200 and number_in(again.get_data(as_text=True)) == first
    assert count(rt, Report) == 1


def test_suggest_shows_the_callers_open_cases_by_phone_in_any_notation(client):
    number = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    body = client.get("/api/v1/operator/suggest", query_string={"phone": "+86 138-0013-8001"}).get_json()
    assert body["phone"] == "+8613800138001"
    assert [c["number"] for c in body["caller_cases"]] == [number]
    assert body["caller_cases"][0]["why"] == "same_phone"


def test_suggest_shows_similar_open_cases_in_the_same_district_but_not_unrelated_ones(client, app, rt):
    light = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    client.post("/operator/", data={**CALL, "ticket_no": "OP-2", "caller_number": "13900000002",
                                    "content": "江岸区一元街道小区物业不作为，电梯长期故障。", "address": "", "title": "电梯故障"})
    client.post("/operator/", data={**CALL, "ticket_no": "OP-3", "caller_number": "13900000003",
                                    "content": "武昌区中山路路灯不亮。", "address": "武昌区中山路", "title": "路灯"})
    run_jobs(app)  # dispatch fills each case's district
    body = client.get("/api/v1/operator/suggest",
                      query_string={"phone": "13700000000", "text": "中山大道路灯晚上不亮", "address": "江岸区中山大道"}).get_json()
    assert body["district"] == "江岸区"
    assert body["caller_cases"] == []
    assert [c["number"] for c in body["nearby_cases"]] == [light]
    assert body["nearby_cases"][0]["score"] >= 0.2 and "中山大道" in body["nearby_cases"][0]["shared"]


def test_suggest_leaves_out_the_same_complaint_about_another_road(client, app):
    light = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    client.post("/operator/", data={**CALL, "ticket_no": "OP-2", "caller_number": "13900000002",
                                    "content": "江岸区解放大道100号附近路灯连续三晚不亮，夜里很黑。", "address": "江岸区解放大道100号"})
    run_jobs(app)
    body = client.get("/api/v1/operator/suggest",
                      query_string={"text": "中山大道路灯晚上不亮", "address": "江岸区中山大道"}).get_json()
    assert [c["number"] for c in body["nearby_cases"]] == [light]  # dedupe: another road is another case


def test_suggest_shows_neither_closed_cases_nor_the_callers_own_as_similar(client, app, rt):
    number = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    run_jobs(app)
    query = {"phone": CALL["caller_number"], "text": CALL["content"], "address": CALL["address"]}
    body = client.get("/api/v1/operator/suggest", query_string=query).get_json()
    assert [c["number"] for c in body["caller_cases"]] == [number] and body["nearby_cases"] == []
    with Session(rt.engine) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
        case.status = "closed"
        session.add(case)
        session.commit()
    body = client.get("/api/v1/operator/suggest", query_string=query).get_json()
    assert body["caller_cases"] == [] and body["nearby_cases"] == []


def test_suggest_without_any_query_is_400_naming_the_field(client):
    resp = client.get("/api/v1/operator/suggest", query_string={"phone": " "})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "phone"
    assert client.get("/api/v1/operator/suggest", query_string={"text": "字" * 2001}).status_code == 400


def test_check_without_javascript_lists_open_cases_with_attach_buttons(client):
    number = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    page = client.post("/operator/", data={**CALL, "ticket_no": "OP-9", "action": "check"}).get_data(as_text=True)
    assert "该来电人的在办工单" in page
    assert f'name="attach_to" value="{number}"' in page and f"关联到工单 {number}" in page
    assert 'value="OP-9"' in page  # the typed ticket is kept in the form
    assert "，新建，" in page and "，new，" not in page  # the case's status in Chinese


def test_attaching_submits_the_ticket_onto_the_chosen_case(client, rt, office_client):
    number = number_in(client.post("/operator/", data=CALL).get_data(as_text=True))
    resp = client.post("/operator/", data={**CALL, "ticket_no": "OP-10", "caller_number": "13911112222",
                                           "content": "又一位市民反映中山大道路灯不亮", "attach_to": number})
    assert resp.status_code == 201
    page = resp.get_data(as_text=True)
    assert "已关联到在办工单" in page and number_in(page) == number
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert [r["link"] for r in detail["reports"]] == ["new", "thread"]
    assert detail["reporter_count"] == 2


def test_attaching_to_an_unknown_case_shows_the_form_again(client, rt):
    resp = client.post("/operator/", data={**CALL, "attach_to": "WH20990101-000001"})
    assert resp.status_code == 422
    assert "attach_to" in resp.get_data(as_text=True)
    assert count(rt, Report) == 0


def test_a_ticket_without_content_is_422_with_the_typed_values_and_kept(client, rt):
    resp = client.post("/operator/", data={**CALL, "content": "", "caller_name": "王<b>五</b>"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "无法提交" in page and "content" in page
    assert "王&lt;b&gt;五&lt;/b&gt;" in page  # typed values are escaped, never markup
    [kept] = unparsed(rt, "hotline")
    assert "caller_number=13800138001" in kept.body.decode()
