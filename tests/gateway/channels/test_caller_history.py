"""The caller's history on pick-up: the call-centre system's screen-pop (`GET /api/v1/operator/caller`) and the
operator form opened with `?phone=`: open and recently closed cases and waiting follow-ups, for a system's token
or an operator's session only, throttled, audited, the number in any spelling."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway import create_app
from gateway.clock import utcnow
from gateway.models import AuditEntry, Case, FollowUp
from gateway.views.machine.hotline import sign
from tests.conftest import logged_in

TOKENS = {"cc-main": "s3cret-main-token", "cc-backup": "s3cret-backup"}
URL = "/api/v1/operator/caller"
LANDLINE, MOBILE = "+862785551234", "+8613800138001"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "SYSTEM_TOKENS": TOKENS}


def bearer(token: str = "s3cret-main-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def push(client: Any, ticket_no: str, phone: str, content: str) -> str:
    ticket = {"ticket_no": ticket_no, "caller_number": phone, "caller_name": "李女士", "appeal_type": "投诉",
              "content": content, "address": "汉阳区钟家村汉阳大道88号", "district": "汉阳区"}
    resp = client.post("/api/v1/hotline/tickets", json=ticket, headers=bearer())
    assert resp.status_code == 201, resp.get_json()
    return str(resp.get_json()["case"]["number"])


def web_post(client: Any, phone: str, text: str) -> str:
    resp = client.post("/api/v1/reports", json={"text": text, "phone": phone})
    assert resp.status_code == 201, resp.get_json()
    return str(resp.get_json()["case"]["number"])


def close(rt: Any, number: str, days_ago: int) -> None:
    with Session(rt.engine) as db:
        case = db.exec(select(Case).where(Case.number == number)).one()
        case.status, case.closed_at = "closed", utcnow() - timedelta(days=days_ago)
        db.add(case)
        db.commit()


def audit_rows(rt: Any) -> list[AuditEntry]:
    with Session(rt.engine) as db:
        return list(db.exec(select(AuditEntry).where(AuditEntry.action == "caller_viewed").order_by(AuditEntry.id)).all())


def numbers(cases: list[dict[str, Any]]) -> list[str]:
    return [c["number"] for c in cases]


@pytest.mark.parametrize("spelling", ["027-85551234", "(027) 8555 1234", "+86 27 8555 1234", "0086-27-85551234",
                                      "０２７－８５５５１２３４"])
def test_a_landline_callers_open_case_is_found_in_any_spelling_of_the_number(client, spelling):
    number = push(client, "WH-1", "027-85551234", "汉阳区钟家村某餐馆油烟直排，影响楼上住户。")
    body = client.get(URL, query_string={"phone": spelling}, headers=bearer()).get_json()
    assert body["phone"] == LANDLINE
    assert numbers(body["open_cases"]) == [number]
    assert body["open_cases"][0]["status"] == "new" and body["open_cases"][0]["address"] == "汉阳区钟家村汉阳大道88号"
    assert body["recent_cases"] == [] and body["followups"] == []
    assert body["operator_form"].endswith("/operator/?phone=%2B862785551234")


@pytest.mark.parametrize("spelling", ["13800138001", "+86 138 0013 8001", "138-0013-8001", "008613800138001",
                                      "１３８００１３８００１"])
def test_a_mobile_callers_open_and_recent_cases_and_waiting_follow_up_in_any_spelling(client, rt, spelling):
    old = web_post(client, "13800138001", "江岸区中山大道888号附近路灯三天不亮。")
    recent = push(client, "WH-2", "+86 13800138001", "汉阳区钟家村某餐馆油烟直排，影响楼上住户。")
    still_open = web_post(client, "138 0013 8001", "武昌区中南路小区门口垃圾堆放多日无人清运。")
    someone_else = web_post(client, "13900139009", "洪山区光谷广场井盖缺失。")
    close(rt, old, days_ago=200)  # closed too long ago to show
    close(rt, recent, days_ago=3)
    with Session(rt.engine) as db:
        case_id = db.exec(select(Case.id).where(Case.number == recent)).one()
        db.add(FollowUp(case_id=case_id, contact_key=f"sms:{MOBILE}", channel="sms", address=MOBILE, status="asked",
                        ask_at=utcnow() - timedelta(hours=2), asked_at=utcnow() - timedelta(hours=2)))
        db.commit()

    body = client.get(URL, query_string={"phone": spelling}, headers=bearer()).get_json()
    assert body["phone"] == MOBILE
    assert numbers(body["open_cases"]) == [still_open]
    assert numbers(body["recent_cases"]) == [recent] and body["recent_cases"][0]["closed_at"]
    assert [(f["case"], f["status"], f["channel"]) for f in body["followups"]] == [(recent, "asked", "sms")]
    assert someone_else not in str(body) and old not in str(body)


def test_a_case_merged_into_another_is_shown_as_the_one_it_now_is(client, rt, office_client):
    mine = web_post(client, "13800138001", "江岸区中山大道888号附近路灯三天不亮。")
    other = web_post(client, "13900139009", "洪山区光谷广场井盖缺失，夜里有人差点掉下去。")
    assert office_client.post(f"/api/v1/cases/{mine}/merge", json={"into": other}).status_code == 201
    body = client.get(URL, query_string={"phone": "13800138001"}, headers=bearer()).get_json()
    assert numbers(body["open_cases"]) == [other]


def test_a_system_token_or_an_operators_session_may_ask_nobody_else(app, client, rt):
    web_post(client, "13800138001", "江岸区中山大道888号附近路灯三天不亮。")
    query = {"phone": "13800138001"}
    anonymous = client.get(URL, query_string=query)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["field"] == "Authorization"
    assert client.get(URL, query_string=query, headers=bearer("not-a-token")).status_code == 403
    assert logged_in(app, "department").get(URL, query_string=query).status_code == 403
    for role in ("operator", "office", "admin"):
        resp = logged_in(app, role).get(URL, query_string=query)
        assert resp.status_code == 200 and len(resp.get_json()["open_cases"]) == 1, role
    assert client.get(URL, query_string=query, headers=bearer("s3cret-backup")).status_code == 200
    stamp = str(int(time.time()))  # the push's signed headers, over the empty body of a GET
    signed = {"X-Hotline-System": "cc-backup", "X-Hotline-Timestamp": stamp,
              "X-Hotline-Signature": sign("s3cret-backup", stamp, b"")}
    assert client.get(URL, query_string=query, headers=signed).status_code == 200
    wrong = {**signed, "X-Hotline-Signature": sign("s3cret-main-token", stamp, b"")}
    assert client.get(URL, query_string=query, headers=wrong).status_code == 403
    assert len(audit_rows(rt)) == 5  # the answers, not the refusals


def test_a_missing_or_unreadable_number_is_a_4xx_naming_the_phone(client):
    missing = client.get(URL, headers=bearer())
    assert missing.status_code == 400 and missing.get_json()["error"]["field"] == "phone"
    for bad in ("hello", "12", "x" * 65):
        resp = client.get(URL, query_string={"phone": bad}, headers=bearer())
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "phone", bad


def test_each_look_up_is_in_the_audit_log_with_the_system_the_number_masked_and_the_cases_shown(client, rt, app):
    number = web_post(client, "13800138001", "江岸区中山大道888号附近路灯三天不亮。")
    client.get(URL, query_string={"phone": "+86 138 0013 8001"}, headers=bearer(),
               environ_base={"REMOTE_ADDR": "198.51.100.7"})
    [entry] = audit_rows(rt)
    assert (entry.actor, entry.target, entry.address) == ("system:cc-main", "phone:138****8001", "198.51.100.7")
    assert entry.detail == {"via": "api", "cases": [number], "followups": 0}
    operator = logged_in(app, "operator")
    operator.get("/operator/", query_string={"phone": "13800138001"})
    entry = audit_rows(rt)[-1]
    assert entry.actor == operator.user.actor and entry.detail["via"] == "operator"
    assert "13800138001" not in entry.target


@pytest.fixture
def throttled(config: dict[str, Any]) -> Any:
    """An app whose caller look-ups are limited to two a minute."""
    app = create_app({**config, "RATE_LIMIT_CALLER": "2/minute"})
    with app.app_context():
        yield app
    app.extensions["hotline"].engine.dispose()


def test_look_ups_are_throttled_per_system_and_per_account_across_the_api_and_the_form(throttled):
    client, query = throttled.test_client(), {"phone": "13800138001"}
    assert [client.get(URL, query_string=query, headers=bearer()).status_code for _ in range(2)] == [200, 200]
    over = client.get(URL, query_string=query, headers=bearer())
    assert over.status_code == 429 and over.headers.get("Retry-After")
    assert client.get(URL, query_string=query, headers=bearer("s3cret-backup")).status_code == 200  # its own budget
    operator = logged_in(throttled, "operator")
    assert operator.get("/operator/", query_string=query).status_code == 200
    assert operator.get(URL, query_string=query).status_code == 200
    assert operator.get("/operator/", query_string=query).status_code == 429  # one budget for the form and the API
    assert operator.get("/operator/").status_code == 200  # the form without a caller is not a look-up


def test_the_duplicate_hint_and_the_forms_check_count_a_callers_number_against_the_same_budget(throttled):
    # The hint the form fetches while the operator types (`/api/v1/operator/suggest?phone=`) and the form's
    # check button list the caller's open cases too: without the budget they walked the city's numbers unthrottled.
    query = {"phone": "13800138001"}
    operator = logged_in(throttled, "operator")
    assert [operator.get(URL, query_string=query).status_code for _ in range(2)] == [200, 200]
    over = operator.get("/api/v1/operator/suggest", query_string=query)
    assert over.status_code == 429 and over.get_json()["error"]
    check = {"csrf_token": "test-csrf-token", "action": "check", "caller_number": "13800138001", "content": "路灯不亮"}
    assert operator.post("/operator/", data=check).status_code == 429
    assert operator.get("/api/v1/operator/suggest", query_string={"text": "江岸区中山大道路灯不亮"}).status_code == 200
    assert operator.post("/operator/", data={**check, "caller_number": ""}).status_code == 200  # no number: no look-up
    other = logged_in(throttled, "operator")
    assert [other.get("/api/v1/operator/suggest", query_string=query).status_code for _ in range(2)] == [200, 200]
    assert other.get(URL, query_string=query).status_code == 429  # one budget across the four


def test_the_duplicate_hints_look_up_of_a_number_is_in_the_audit_log_once_per_operator_and_number(app, client, rt):
    # The hint lists a number's open cases as the caller history does; it was throttled but not recorded.
    number = push(client, "WH-9", "13800138009", "江岸区中山大道888号路灯不亮。")
    first, second = logged_in(app, "operator"), logged_in(app, "office")
    for _ in range(3):  # the form asks again at every keystroke: one row, not three
        assert first.get("/api/v1/operator/suggest", query_string={"phone": "138 0013 8009"}).status_code == 200
    check = {"csrf_token": "test-csrf-token", "action": "check", "caller_number": "13800138009", "content": "路灯不亮"}
    assert first.post("/operator/", data=check).status_code == 200
    assert second.get("/api/v1/operator/suggest", query_string={"phone": "13800138009"}).status_code == 200
    assert first.get("/api/v1/operator/suggest", query_string={"text": "路灯不亮"}).status_code == 200  # no number
    rows = audit_rows(rt)
    assert [(r.actor.split("-")[0], r.target, r.detail["via"], r.detail["cases"]) for r in rows] == [
        (actor, "phone:138****8009", "hint", [number]) for actor in ("user:operator", "user:office")]


def test_the_operator_form_opened_with_the_callers_number_shows_their_history_to_attach_to(app, client, rt):
    number = push(client, "WH-3", "027-85551234", "汉阳区钟家村某餐馆油烟直排，影响楼上住户。")
    page = logged_in(app, "operator").get("/operator/", query_string={"phone": "(027) 8555-1234"}).get_data(as_text=True)
    history = page[page.index('id="caller-history"'):]
    assert "来电人历史（+862785551234）" in history and number in history
    assert f'name="attach_to" value="{number}"' in history
    assert 'name="caller_number" value="+862785551234"' in page
    unknown = logged_in(app, "operator").get("/operator/", query_string={"phone": "not a number"})
    assert unknown.status_code == 200 and "来电号码无法识别" in unknown.get_data(as_text=True)
    assert len(audit_rows(rt)) == 1  # the unreadable number showed nothing: nothing to record
