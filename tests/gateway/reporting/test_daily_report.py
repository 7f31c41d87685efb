"""The twice-daily report: counts and rates per department and overall, stored once per slot, delivered, served."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import DailyReport, Notification
from tests.conftest import logged_in
from tests.kits.dispatch_kit import assignments, deliver_by_webhook, report, set_clock


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: the workflow API needs a signed-in unit or office user."""
    return logged_in(app, "office")


LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号路灯连续三天不亮。"}
SCHOOL = {"title": "入学", "text": "洪山区小学入学学位不够怎么办？"}


def make(rt, jobs) -> None:
    rt.broker.enqueue("default", "make_report", [], job_id=f"report-{uuid.uuid4().hex}")
    jobs()


def test_the_noon_report_counts_received_replied_overdue_and_the_rates_of_its_window(app, client, rt, jobs):
    deliver_by_webhook(rt, "WH-LIGHT")  # the lighting office's system (down): its report goes by webhook
    set_clock(app, 2026, 4, 27, 8)
    old = report(client, **LIGHT)
    jobs()
    set_clock(app, 2026, 4, 28, 9)  # after 20:00 yesterday: inside the 12:00 report's window
    report(client, **{**LIGHT, "text": "江岸区解放大道路灯闪烁。"})
    school = report(client, **SCHOOL)
    jobs()
    client.post(f"/api/v1/assignments/{assignments(rt, school)['WH-EDU'].id}/reply", json={"text": "可到区教育局咨询。"})
    client.post(f"/api/v1/assignments/{assignments(rt, old)['WH-LIGHT'].id}/sign")
    set_clock(app, 2026, 4, 28, 12, 1)
    make(rt, jobs)
    body = client.get("/api/v1/reports/latest").get_json()
    assert body["slot"] == "2026-04-28 12:00"
    light, edu = body["departments"]["WH-LIGHT"], body["departments"]["WH-EDU"]
    assert (light["received"], light["replied"], light["overdue"], light["cumulative_replied"], light["total"]) == (1, 0, 1, 0, 2)
    # In the window (04-27 20:00 .. 04-28 12:00): the old light's 回告 (04-27 20:00) and 办结 (04-28 08:00) fell
    # due, signed late and unreplied; the new light's are not due yet; the school question was answered at once.
    assert (light["ack_due"], light["ack_on_time"], light["response_rate"]) == (1, 0, 0.0)
    assert (light["done_due"], light["done_on_time"], light["on_time_rate"]) == (1, 0, 0.0)
    assert (light["satisfaction_rate"], light["resolution_rate"]) == (None, None)
    assert (edu["received"], edu["replied"], edu["overdue"]) == (1, 1, 0)
    assert edu["repeat_rate"] == 0.0 and body["overall"]["cases"] == 2
    assert body["overall"]["total"] == 3 and body["overall"]["overdue"] == 1
    with Session(rt.engine) as session:
        sent = session.exec(select(Notification).where(Notification.kind == "report")).all()
    assert sorted(n.channel for n in sent) == ["email", "inapp", "webhook"]  # education (mail), light (webhook), office
    make(rt, jobs)  # the same slot again: nothing new
    with Session(rt.engine) as session:
        assert len(session.exec(select(DailyReport)).all()) == 1


def test_the_evening_report_window_starts_at_noon(app, client, rt, jobs):
    set_clock(app, 2026, 4, 28, 20, 0)
    make(rt, jobs)
    body = client.get("/api/v1/reports/latest").get_json()
    assert body["slot"] == "2026-04-28 20:00" and body["from"].startswith("2026-04-28T12:00:00+08:00")


def test_no_report_yet_is_a_404(client):
    assert client.get("/api/v1/reports/latest").status_code == 404


def test_work_dispatched_late_the_evening_before_counts_in_the_noon_report(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 21, 30)  # after the 20:00 report, before midnight: UTC is still the same morning
    report(client, **LIGHT)
    jobs()
    set_clock(app, 2026, 4, 28, 12, 1)
    make(rt, jobs)
    body = client.get("/api/v1/reports/latest").get_json()
    assert body["departments"]["WH-LIGHT"]["received"] == 1
