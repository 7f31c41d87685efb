"""A hotline ticket's call id and recording: carried by the push, the CSV import and the operator form, accepted
only from the hosts HOTLINE_RECORDING_HOSTS allows, played on the office's case page and a unit's assignment,
never on the public board or the reporter's look-up, and removed by retention."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway import create_app
from gateway.channels.bulk_import import import_hotline_csv
from gateway.clock import utcnow
from gateway.models import Assignment, Case, Report
from gateway.trust import retention
from tests.conftest import logged_in, run_jobs
from tests.kits.channel_kit import reports, unparsed

TOKENS = {"cc-main": "s3cret-main-token"}
URL = "/api/v1/hotline/tickets"
HOST = "rec.cc.example.gov.cn"
RECORDING = f"https://{HOST}/2026/12/07/call-8841.mp3"
TICKET = {"ticket_no": "WH-REC-1", "caller_number": "13800138001", "caller_name": "张先生", "appeal_type": "投诉",
          "content": "江岸区中山大道888号附近路灯连续三晚不亮。", "address": "江岸区中山大道888号", "district": "江岸区",
          "call_id": "CALL-20261207-8841", "recording_url": RECORDING, "public": True}
BEARER = {"Authorization": "Bearer s3cret-main-token"}


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "SYSTEM_TOKENS": TOKENS, "RECORDING_HOSTS": (HOST, "backup.rec.example")}


def stored(rt: Any) -> Report:
    [row] = reports(rt, "hotline")
    return row


def test_a_pushed_ticket_keeps_its_call_id_and_recording(client, rt, office_client):
    resp = client.post(URL, json=TICKET, headers=BEARER)
    assert resp.status_code == 201
    row = stored(rt)
    assert (row.call_id, row.recording_url) == ("CALL-20261207-8841", RECORDING)
    detail = office_client.get(f"/api/v1/cases/{resp.get_json()['case']['number']}").get_json()
    assert detail["reports"][0]["recording_url"] == RECORDING and detail["reports"][0]["call_id"] == "CALL-20261207-8841"


@pytest.mark.parametrize("url, says", [
    ("https://evil.example.com/x.mp3", "recordings from evil.example.com are not accepted"),
    (f"https://{HOST}.evil.example/x.mp3", f"recordings from {HOST}.evil.example are not accepted"),
    (f"ftp://{HOST}/x.mp3", "expected an http:// or https:// address"),
    (f"https://user:pw@{HOST}/x.mp3", "credentials in the address are not accepted"),
    ("/relative/x.mp3", "expected an http:// or https:// address"),
])
def test_a_recording_elsewhere_is_refused_naming_the_host_and_kept(client, rt, url, says):
    resp = client.post(URL, json={**TICKET, "recording_url": url}, headers=BEARER)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["field"] == "recording_url" and says in error["message"]
    assert reports(rt, "hotline") == [] and len(unparsed(rt, "hotline")) == 1


def test_the_host_check_ignores_the_case_of_the_host(client, rt):
    assert client.post(URL, json={**TICKET, "recording_url": RECORDING.replace(HOST, HOST.upper())},
                       headers=BEARER).status_code == 201


def test_with_no_hosts_allowed_every_recording_is_refused_saying_so(config):
    app = create_app({**config, "RECORDING_HOSTS": ()})
    with app.app_context():
        resp = app.test_client().post(URL, json=TICKET, headers=BEARER)
        assert resp.status_code == 422
        message = resp.get_json()["error"]["message"]
        assert f"recordings from {HOST} are not accepted" in message and "HOTLINE_RECORDING_HOSTS is empty" in message
        without = {k: v for k, v in TICKET.items() if k != "recording_url"}
        assert app.test_client().post(URL, json=without, headers=BEARER).status_code == 201  # a call id alone is fine
    app.extensions["hotline"].engine.dispose()


def test_a_batch_refuses_only_the_ticket_with_a_foreign_recording(client, rt):
    batch = [TICKET, {**TICKET, "ticket_no": "WH-REC-2", "recording_url": "http://elsewhere.example/y.wav"}]
    body = client.post(URL, json={"tickets": batch}, headers=BEARER).get_json()
    assert [r["status"] for r in body["results"]] == [201, 422]
    assert body["results"][1]["error"]["field"] == "recording_url"
    assert stored(rt).recording_url == RECORDING


def test_the_csv_import_reads_the_call_columns_and_lists_a_foreign_recording_as_a_bad_line(rt):
    csv = ("工单编号,来电号码,诉求内容,所属区,通话编号,录音地址\n"
           f"WH-C1,13800138001,江岸区中山大道888号路灯不亮,江岸区,CALL-1,{RECORDING}\n"
           "WH-C2,13900139009,汉阳区钟家村油烟扰民,汉阳区,CALL-2,https://elsewhere.example/2.mp3\n")
    summary = import_hotline_csv(rt, csv.encode("gb18030"), source="calls.csv")
    assert len(summary.created) == 1
    [(where, reason)] = summary.errors
    assert where == "line 3" and "recording_url" in reason and "elsewhere.example" in reason
    assert (stored(rt).call_id, stored(rt).recording_url) == ("CALL-1", RECORDING)


FORM = {"ticket_no": "OP-00000000000000aa", "caller_number": "13800138001", "appeal_type": "投诉",
        "content": "江岸区中山大道888号附近路灯连续三晚不亮。", "address": "江岸区中山大道888号", "urgency": "一般",
        "call_id": "CALL-77", "recording_url": RECORDING, "action": "create", "csrf_token": "test-csrf-token"}


def test_the_operator_form_carries_the_call_from_the_screen_pop_into_the_ticket(app, rt):
    operator = logged_in(app, "operator")
    page = operator.get("/operator/", query_string={"call_id": "CALL-77", "recording_url": RECORDING}).get_data(as_text=True)
    assert 'name="call_id" value="CALL-77"' in page and f'name="recording_url" value="{RECORDING}"' in page
    assert operator.post("/operator/", data=FORM).status_code == 201
    assert (stored(rt).call_id, stored(rt).recording_url) == ("CALL-77", RECORDING)


def test_the_operator_form_refuses_a_foreign_recording_naming_the_host(app, rt):
    resp = logged_in(app, "operator").post("/operator/", data={**FORM, "recording_url": "https://x.example/1.mp3"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "recording_url" in page and "x.example" in page
    assert reports(rt, "hotline") == []


def _audio(page: str) -> list[str]:
    return re.findall(r'<audio[^>]*src="([^"]+)"', page)


def test_office_and_the_units_staff_hear_it_the_public_board_and_the_lookup_never_show_it(app, client, rt):
    answer = client.post(URL, json=TICKET, headers=BEARER).get_json()
    number, code = answer["case"]["number"], answer["case"]["retrieval_code"]
    run_jobs(app)  # dispatched to the street-light unit
    assert _audio(logged_in(app, "office").get(f"/console/cases/{number}").get_data(as_text=True)) == [RECORDING]
    with Session(rt.engine) as db:
        case_id = db.exec(select(Case.id).where(Case.number == number)).one()
        assignment = db.exec(select(Assignment).where(Assignment.case_id == case_id)).first()
    assert assignment is not None
    unit = logged_in(app, "department", _unit_code(rt, assignment.department_id))
    assert _audio(unit.get(f"/workbench/assignments/{assignment.id}").get_data(as_text=True)) == [RECORDING]
    public = client.get(f"/board/cases/{number}").get_data(as_text=True)
    lookup = client.post("/board/lookup", data={"number": number, "code": code}).get_data(as_text=True)
    for page in (public, lookup):
        assert "<audio" not in page and HOST not in page and "CALL-20261207-8841" not in page
    assert HOST not in str(client.get("/open311/v2/requests.json").get_json())


def _unit_code(rt: Any, department_id: int) -> str:
    from gateway.models import Department

    with Session(rt.engine) as db:
        return str(db.get(Department, department_id).code)


def test_a_host_taken_off_the_list_is_no_longer_played(app, client, config, rt):
    number = client.post(URL, json=TICKET, headers=BEARER).get_json()["case"]["number"]
    later = create_app({**config, "RECORDING_HOSTS": ("backup.rec.example",)})
    with later.app_context():
        page = logged_in(later, "office").get(f"/console/cases/{number}").get_data(as_text=True)
        assert _audio(page) == [] and "CALL-20261207-8841" in page
    later.extensions["hotline"].engine.dispose()


def test_retention_removes_the_call_and_its_recording_with_the_rest(client, rt):
    number = client.post(URL, json=TICKET, headers=BEARER).get_json()["case"]["number"]
    with Session(rt.engine) as db:
        case = db.exec(select(Case).where(Case.number == number)).one()
        case.status, case.closed_at = "closed", utcnow() - timedelta(days=400)
        db.add(case)
        db.commit()
    outcome = retention.run(rt, 365)
    assert outcome.cases == [number]
    row = stored(rt)
    assert row.call_id is None and row.recording_url is None and RECORDING.encode() not in bytes(row.raw)
