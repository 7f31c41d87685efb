"""The assignment lifecycle through the JSON API and real RQ jobs: joint dispatch, return, overrule, extension, replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import Assignment, Extension
from tests.conftest import logged_in
from tests.kits.dispatch_kit import (
    CITY,
    assignments,
    case,
    deliver_by_webhook,
    events,
    local,
    notifications,
    report,
    set_clock,
)


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: the workflow API needs a signed-in unit or office user."""
    return logged_in(app, "office")


LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号路灯连续三天不亮。", "phone": "13800138001"}
JOINT = {"departments": [{"code": "WH-CHENGGUAN", "role": "lead"}, {"code": "D-JIANGAN", "role": "assist"},
                         {"code": "WH-EDU", "role": "assist"}]}


def dispatched(app, client, jobs, fields=LIGHT) -> str:
    number = report(client, **fields)
    jobs()
    return number


def test_a_new_case_is_routed_by_a_job_and_the_decision_is_stored_with_its_reasons(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    number = dispatched(app, client, jobs)
    c = case(rt, number)
    assert c.status == "dispatched" and c.category == "street_light"
    assert c.routing["departments"] == [{"code": "WH-LIGHT", "role": "lead"}]
    assert c.routing["reasons"][0]["rule"] == "keywords"
    [event] = events(rt, number, "dispatched")
    assert event.data["sla"] == "single"
    [lead] = assignments(rt, number).values()
    assert local(lead.due_at) == datetime(2026, 4, 30, 10, tzinfo=CITY)


def test_joint_dispatch_to_three_units_gives_one_lead_two_assists_and_three_working_days(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)  # Wednesday before the Labour Day holiday (May 1-5)
    deliver_by_webhook(rt, "WH-LIGHT")  # the lighting office's system, down
    number = dispatched(app, client, jobs)
    resp = client.post(f"/api/v1/cases/{number}/dispatch", json=JOINT)
    assert resp.status_code == 200, resp.get_json()
    jobs()
    rows = assignments(rt, number)
    assert {code: a.role for code, a in rows.items() if a.status == "dispatched"} == {
        "WH-CHENGGUAN": "lead", "D-JIANGAN": "assist", "WH-EDU": "assist"}
    assert rows["WH-LIGHT"].status == "cancelled"
    # 3 working days on the official calendar: Wed 14 h + Thu 30 + Wed May 6 + 10 h of Thu May 7
    assert local(rows["WH-CHENGGUAN"].due_at) == local(rows["D-JIANGAN"].due_at) == datetime(2026, 5, 7, 10, tzinfo=CITY)
    # the education bureau runs "5+2" with 5 days: weekends and holidays count
    assert local(rows["WH-EDU"].due_at) == datetime(2026, 5, 4, 10, tzinfo=CITY)
    assert events(rt, number, "redispatched")[0].data["sla"] == "joint"
    sent = {n.department_id: n for n in notifications(rt, number, "dispatch")}
    assert len(sent) == 4  # the first routing to WH-LIGHT and one per joint department
    by_channel = {n.channel: n.status for n in sent.values()}
    assert by_channel == {"inapp": "sent", "email": "failed", "webhook": "pending"}  # no relay; light's webhook is down
    jobs()  # running the jobs again sends nothing twice
    assert len(notifications(rt, number, "dispatch")) == 4


def test_a_return_inside_the_window_goes_to_the_office_which_redispatches(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    set_clock(app, 2026, 4, 30, 9)
    resp = client.post(f"/api/v1/assignments/{light.id}/return", json={"reason": "该路段路灯属区管，非我处管辖"})
    assert resp.status_code == 200 and resp.get_json()["assignment"]["status"] == "returned"
    assert case(rt, number).status == "triage"
    jobs()
    assert [n.kind for n in notifications(rt, number) if n.department_id and n.kind == "returned"] == ["returned"]
    resp = client.post(f"/api/v1/cases/{number}/dispatch", json={"departments": [{"code": "D-JIANGAN", "role": "lead"}]})
    assert resp.status_code == 200
    rows = assignments(rt, number)
    assert rows["D-JIANGAN"].status == "dispatched" and rows["WH-LIGHT"].status == "returned"
    assert local(rows["D-JIANGAN"].due_at) == datetime(2026, 5, 6, 9, tzinfo=CITY)  # 24 h end on May 1: next working day
    assert case(rt, number).status == "dispatched"
    assert [e.kind for e in events(rt, number)][-2:] == ["returned", "redispatched"]


def test_a_return_after_the_window_is_refused_with_409(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    set_clock(app, 2026, 4, 28, 11)  # 25 h later; the window is 24 h
    resp = client.post(f"/api/v1/assignments/{light.id}/return", json={"reason": "不归我们管"})
    assert resp.status_code == 409 and "window" in resp.get_json()["error"]["message"]


def test_the_office_overrules_a_return_and_the_department_gets_the_case_again(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    client.post(f"/api/v1/assignments/{light.id}/return", json={"reason": "不归我们管"})
    set_clock(app, 2026, 4, 27, 12)
    resp = client.post(f"/api/v1/assignments/{light.id}/overrule")
    assert resp.status_code == 200 and resp.get_json()["assignment"]["status"] == "dispatched"
    again = assignments(rt, number)["WH-LIGHT"]
    assert again.dispatch_count == 2 and local(again.due_at) == datetime(2026, 4, 28, 12, tzinfo=CITY)
    assert case(rt, number).status == "dispatched"
    jobs()
    keys = [n.dedupe_key for n in notifications(rt, number, "dispatch")]
    assert keys == [f"dept-{light.id}-1-dispatch", f"dept-{light.id}-2-dispatch"]
    assert client.post(f"/api/v1/assignments/{light.id}/overrule").status_code == 409


def test_an_extension_asked_before_the_deadline_moves_it_when_approved(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    assert client.post(f"/api/v1/assignments/{light.id}/sign").get_json()["assignment"]["status"] == "signed"
    resp = client.post(f"/api/v1/assignments/{light.id}/extension",
                       json={"until": "2026-04-30T18:00:00+08:00", "reason": "需更换电缆，等待物资"})
    assert resp.status_code == 201
    ext_id = resp.get_json()["extension"]["id"]
    again = client.post(f"/api/v1/assignments/{light.id}/extension", json={"until": "2026-05-08T18:00:00+08:00", "reason": "x"})
    assert again.status_code == 409  # one pending request at a time
    resp = client.post(f"/api/v1/extensions/{ext_id}/decide", json={"approve": True})
    assert resp.get_json()["extension"]["status"] == "approved"
    assert local(assignments(rt, number)["WH-LIGHT"].due_at) == datetime(2026, 4, 30, 18, tzinfo=CITY)
    assert client.post(f"/api/v1/extensions/{ext_id}/decide", json={"approve": False}).status_code == 409
    with Session(rt.engine) as session:
        assert session.exec(select(Extension.decided_by)).all() == [client.user.username]  # who decided is recorded


def test_an_extension_after_the_deadline_is_refused(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    set_clock(app, 2026, 4, 28, 10, 1)
    resp = client.post(f"/api/v1/assignments/{light.id}/extension", json={"until": "2026-04-30T18:00:00+08:00", "reason": "晚了"})
    assert resp.status_code == 409 and "deadline has passed" in resp.get_json()["error"]["message"]


def test_assist_replies_are_input_and_the_leads_reply_is_the_cases_answer(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    number = dispatched(app, client, jobs)
    client.post(f"/api/v1/cases/{number}/dispatch", json=JOINT)
    rows = assignments(rt, number)
    resp = client.post(f"/api/v1/assignments/{rows['D-JIANGAN'].id}/reply", json={"text": "街道已清理现场"})
    assert resp.status_code == 200
    assert case(rt, number).status == "dispatched"  # an assisting unit's reply does not answer the citizen
    resp = client.post(f"/api/v1/assignments/{rows['WH-CHENGGUAN'].id}/reply", json={"text": "已会同江岸区清理完毕"})
    assert resp.status_code == 200
    assert case(rt, number).status == "replied"
    [replied] = events(rt, number, "replied")
    assert replied.data["assist_inputs"] == [rows["D-JIANGAN"].id]
    assert replied.data["assist_missing"] == [rows["WH-EDU"].id]
    jobs()
    [sms] = notifications(rt, number, "reply")
    assert sms.channel == "board"  # a web post is answered on the board
    assert "已会同江岸区清理完毕" in sms.body


def test_illegal_transitions_answer_409_and_bad_input_422(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    assert client.post(f"/api/v1/assignments/{light.id}/reply", json={}).status_code == 422
    assert client.post(f"/api/v1/assignments/{light.id}/reply", json={"text": "已修复"}).status_code == 200
    assert client.post(f"/api/v1/assignments/{light.id}/reply", json={"text": "再答复"}).status_code == 409
    assert client.post(f"/api/v1/assignments/{light.id}/sign").status_code == 409
    assert client.post(f"/api/v1/assignments/{light.id}/return", json={"reason": "x"}).status_code == 409
    assert client.post("/api/v1/assignments/999999/sign").status_code == 404
    bad = client.post(f"/api/v1/cases/{number}/dispatch", json={"departments": [{"code": "WH-EDU", "role": "assist"}]})
    assert bad.status_code == 409 and "one lead" in bad.get_json()["error"]["message"]
    assert client.post(f"/api/v1/cases/{number}/dispatch", json={"departments": "WH-EDU"}).status_code == 422
    assert client.post("/api/v1/extensions/1/decide", json={"approve": "yes"}).status_code == 422


def test_dispatch_past_the_notices_uses_the_statutory_base_and_records_a_provisional_event(app, client, rt, jobs, caplog):
    set_clock(app, 2027, 2, 4, 10)  # 24 h from Thursday: Friday Feb 5 is 春节 on the statutory base
    number = dispatched(app, client, jobs, {**LIGHT, "title": "咨询", "text": "江岸区路灯不亮"})
    assert case(rt, number).status == "dispatched"
    [event] = events(rt, number, "calendar_provisional")
    assert "no State Council notice for 2027" in event.data["message"]
    # the timeline says why before it says what: the provisional calendar, then the dispatch
    assert [e.kind for e in events(rt, number)][-2:] == ["calendar_provisional", "dispatched"]
    with Session(rt.engine) as session:
        [row] = session.exec(select(Assignment)).all()
        assert local(row.due_at) == datetime(2027, 2, 11, 10, tzinfo=CITY)  # after Feb 5-10, not on Feb 5
        assert row.reason["calendar_provisional"] == [2027]
    assert "provisional deadline" in caplog.text


def test_department_staff_act_only_on_their_own_units_assignments(app, client, rt, jobs):
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    other = logged_in(app, "department", "WH-WATER")
    assert other.post(f"/api/v1/assignments/{light.id}/sign").status_code == 404
    assert app.test_client().post(f"/api/v1/assignments/{light.id}/sign").status_code == 401
    own = logged_in(app, "department", "WH-LIGHT")
    assert own.post(f"/api/v1/assignments/{light.id}/sign").get_json()["assignment"]["status"] == "signed"
    assert own.post(f"/api/v1/cases/{number}/dispatch", json={"departments": []}).status_code == 403


def test_when_the_case_becomes_joint_the_units_already_on_it_move_to_the_joint_rule(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)  # Monday
    number = dispatched(app, client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    assert local(light.due_at) == datetime(2026, 4, 28, 10, tzinfo=CITY)  # 24 h
    set_clock(app, 2026, 4, 27, 15)
    resp = client.post(f"/api/v1/cases/{number}/dispatch", json={"departments": [
        {"code": "WH-LIGHT", "role": "lead"}, {"code": "D-JIANGAN", "role": "assist"}, {"code": "WH-CHENGGUAN", "role": "assist"}]})
    assert resp.status_code == 200
    moved = assignments(rt, number)
    # The lead's clock still starts at its own dispatch, Monday 10:00: 3 working days -> Thursday 10:00.
    assert local(moved["WH-LIGHT"].due_at) == datetime(2026, 4, 30, 10, tzinfo=CITY)
    assert moved["WH-LIGHT"].reason["sla"] == "joint" and moved["WH-LIGHT"].status == "dispatched"
    assert local(moved["D-JIANGAN"].due_at) == datetime(2026, 4, 30, 15, tzinfo=CITY)  # the added unit: from 15:00
    [event] = events(rt, number, "rule_changed")
    assert (event.data["before_rule"], event.data["rule"], event.data["department"]) == ("single", "joint", "WH-LIGHT")


def test_the_office_marks_a_case_complex_and_every_open_assignment_gets_five_working_days(app, client, rt, jobs):
    set_clock(app, 2026, 4, 20, 10)  # Monday
    number = dispatched(app, client, jobs)
    assert client.post(f"/api/v1/cases/{number}/complexity", json={"complex": "yes"}).status_code == 422
    unit = logged_in(app, "department", "WH-LIGHT")
    assert unit.post(f"/api/v1/cases/{number}/complexity", json={"complex": True}).status_code == 403
    resp = client.post(f"/api/v1/cases/{number}/complexity", json={"complex": True})
    assert resp.status_code == 200 and resp.get_json()["complexity"] == "complex"
    light = assignments(rt, number)["WH-LIGHT"]
    assert local(light.due_at) == datetime(2026, 4, 27, 10, tzinfo=CITY) and light.reason["sla"] == "complex"
    assert [e.data["rule"] for e in events(rt, number, "rule_changed")] == ["complex"]
    again = client.post(f"/api/v1/cases/{number}/complexity", json={"complex": False})
    assert local(assignments(rt, number)["WH-LIGHT"].due_at) == datetime(2026, 4, 21, 10, tzinfo=CITY)
    assert again.get_json()["complexity"] == "normal"
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "标记为特别复杂" in page


def test_each_unit_is_told_its_own_deadline_when_a_case_is_dispatched(app, client, rt, jobs):
    """The 新派工单 notice names the unit's 办理时限 in city time: before, a first dispatch's notice had none (the
    case's deadline was set after the notices were written), and a unit on "5+2" would have read the case's."""
    set_clock(app, 2026, 4, 29, 10)
    number = dispatched(app, client, jobs)
    [first] = notifications(rt, number, "dispatch")
    assert "办理时限：2026-04-30 10:00" in first.body
    client.post(f"/api/v1/cases/{number}/dispatch", json=JOINT)
    jobs()
    rows = assignments(rt, number)
    for note in notifications(rt, number, "dispatch"):
        [code] = [c for c, a in rows.items() if a.department_id == note.department_id]
        assert f"办理时限：{local(rows[code].due_at):%Y-%m-%d %H:%M}" in note.body, code
    bodies = {note.department_id: note.body for note in notifications(rt, number, "dispatch")}
    assert "办理时限：2026-05-04 10:00" in bodies[rows["WH-EDU"].department_id]  # its own 5+2 days
    assert "办理时限：2026-05-07 10:00" in bodies[rows["WH-CHENGGUAN"].department_id]
