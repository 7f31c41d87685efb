"""Replies with a type (办结, 阶段性, 不予受理, 不属于受理范围, 解释说明), the office's review before they reach
citizens when the profile asks for it, and every reply kept in the case's history."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import FollowUp, Reply
from tests.conftest import logged_in
from tests.kits.dispatch_kit import assignments, case, events, notifications, report, set_clock

LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号路灯连续三天不亮。", "phone": "13800138001", "public": True}
CSRF = {"csrf_token": "test-csrf-token"}


@pytest.fixture
def client(app: Any) -> Any:
    return logged_in(app, "office")


def dispatched(app, client, jobs) -> tuple[str, int]:
    set_clock(app, 2026, 4, 27, 10)
    number = report(client, **LIGHT)
    jobs()
    return number, assignments(rt_of(app), number)["WH-LIGHT"].id


def rt_of(app):
    return app.extensions["hotline"]


def followups(rt) -> list[FollowUp]:
    with Session(rt.engine) as session:
        return list(session.exec(select(FollowUp)).all())


def test_an_interim_reply_keeps_the_case_open_until_its_date_and_the_final_one_completes_it(app, client, rt, jobs):
    number, lead = dispatched(app, client, jobs)
    resp = client.post(f"/api/v1/assignments/{lead}/reply", json={"text": "已联系供电部门，需更换电缆。", "kind": "interim"})
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "until"
    resp = client.post(f"/api/v1/assignments/{lead}/reply", json={"text": "已联系供电部门，需更换电缆。", "kind": "interim",
                                                                   "until": "2026-05-08T18:00:00+08:00"})
    assert resp.status_code == 200 and resp.get_json()["assignment"]["status"] == "signed"
    jobs()
    assert case(rt, number).status == "in_progress"
    assert assignments(rt, number)["WH-LIGHT"].due_at is not None
    [told] = notifications(rt, number, "reply")
    assert told.body.count("【阶段性答复】已联系供电部门") == 1
    assert followups(rt) == []  # an interim answer is not followed up
    client.post(f"/api/v1/assignments/{lead}/reply", json={"text": "电缆已更换，路灯恢复照明。"})
    jobs()
    assert case(rt, number).status == "replied" and len(followups(rt)) == 1
    board = client.get(f"/board/cases/{number}").get_data(as_text=True)
    assert "阶段性答复" in board and "电缆已更换" in board  # both answers stay on the board
    page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "答复记录" in page and page.count("已发送") >= 2


def test_a_refusal_needs_its_reason_and_the_citizen_reads_it(app, client, rt, jobs):
    number, lead = dispatched(app, client, jobs)
    resp = client.post(f"/api/v1/assignments/{lead}/reply", json={"text": "该路灯属小区物业管理。", "kind": "out_of_scope"})
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "reason"
    client.post(f"/api/v1/assignments/{lead}/reply", json={"text": "该路灯属小区物业管理。", "kind": "out_of_scope",
                                                            "reason": "小区内部设施"})
    jobs()
    [told] = notifications(rt, number, "reply")
    assert "【不属于受理范围】该路灯属小区物业管理。（理由：小区内部设施）" in told.body
    assert client.post(f"/api/v1/assignments/{lead}/reply", json={"text": "x", "kind": "maybe"}).status_code == 422


def test_with_review_on_a_reply_waits_for_the_office_is_sent_back_then_approved(app, client, rt, jobs):
    rt.profile.city["review_replies"] = True
    number, lead = dispatched(app, client, jobs)
    unit = logged_in(app, "department")
    assert unit.post(f"/workbench/assignments/{lead}/reply", data={**CSRF, "kind": "final", "text": "已修好。"}).status_code in (302, 303)
    jobs()
    assert notifications(rt, number, "reply") == [] and case(rt, number).status != "replied"
    [pending] = client.get("/api/v1/replies").get_json()["replies"]
    assert pending["status"] == "pending" and pending["text"] == "已修好。"
    queue = client.get("/console/replies").get_data(as_text=True)
    assert "答复审核" in queue and "已修好。" in queue
    assert client.post(f"/api/v1/replies/{pending['id']}/review", json={"approve": False}).status_code == 422
    back = client.post(f"/console/replies/{pending['id']}/review", data={**CSRF, "approve": "0", "comment": "请写明更换时间和位置"})
    assert back.status_code in (302, 303)
    jobs()
    assert assignments(rt, number)["WH-LIGHT"].status == "signed"
    assert [n.kind for n in notifications(rt, number) if n.kind == "reply_returned"] == ["reply_returned"]
    assert events(rt, number, "reply_returned")[0].data["reason"] == "请写明更换时间和位置"
    unit.post(f"/workbench/assignments/{lead}/reply", data={**CSRF, "kind": "final", "text": "4月27日15时已更换888号灯杆灯具。"})
    with Session(rt.engine) as session:
        second = session.exec(select(Reply).where(Reply.status == "pending")).one()
    resp = client.post(f"/api/v1/replies/{second.id}/review", json={"approve": True})
    assert resp.status_code == 200 and resp.get_json()["reply"]["round"] == 1
    assert client.post(f"/api/v1/replies/{second.id}/review", json={"approve": True}).status_code == 409
    jobs()
    [told] = notifications(rt, number, "reply")
    assert "4月27日15时已更换" in told.body and case(rt, number).status == "replied"
    with Session(rt.engine) as session:
        statuses = [r.status for r in session.exec(select(Reply).order_by(Reply.id)).all()]
    assert statuses == ["returned", "approved"]  # both stay in the history


def test_department_staff_cannot_review(app, client, rt, jobs):
    unit = logged_in(app, "department")
    assert unit.get("/api/v1/replies").status_code == 403
