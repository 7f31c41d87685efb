"""Two clocks per assignment: 回告 (the unit's first answer: signed, contact made) and 办结 (the reply that
completes), each from a rule on the official calendar; supervision watches both; 挂起 stops both with the
office's approval; an extension moves 办结 only."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.casework.sla import DEFAULT_ACKNOWLEDGE, clocks
from gateway.casework.workcal import default_calendar, parse_notice
from tests.conftest import logged_in
from tests.kits.dispatch_kit import CITY, assignments, events, local, notifications, report, set_clock

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "calendar"
OFFICIAL_2027 = default_calendar().with_years([parse_notice((NOTICES / "2027-madeup.txt").read_text(encoding="utf-8"))])
RULES = {"consultation": {"hours": 24}, "single": {"hours": 24}, "joint": {"working_days": 3},
         "complex": {"working_days": 5}}


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CITY)  # type: ignore[misc]


@pytest.fixture
def client(app: Any) -> Any:
    return logged_in(app, "office")


# The fortnight 2026-12-28 .. 2027-01-08, every rule, both clocks, on 2027's statutory base (provisional: Jan 1
# off) and on the made-up notice (official: Jan 1-4 off, Saturday Jan 9 worked); a 5+2 unit counts every day.
FORTNIGHT = [
    # start, rule, unit calendar, (回告, 办结) provisional, (回告, 办结) official
    (sh(2026, 12, 28, 10), "consultation", "working", (sh(2026, 12, 28, 22), sh(2026, 12, 29, 10)),
     (sh(2026, 12, 28, 22), sh(2026, 12, 29, 10))),
    (sh(2026, 12, 31, 10), "single", "working", (sh(2026, 12, 31, 22), sh(2027, 1, 4, 10)),
     (sh(2026, 12, 31, 22), sh(2027, 1, 5, 10))),
    (sh(2026, 12, 31, 15), "joint", "working", (sh(2027, 1, 4, 15), sh(2027, 1, 6, 15)),
     (sh(2027, 1, 5, 15), sh(2027, 1, 7, 15))),
    (sh(2026, 12, 29, 15), "complex", "working", (sh(2026, 12, 30, 15), sh(2027, 1, 6, 15)),
     (sh(2026, 12, 30, 15), sh(2027, 1, 7, 15))),
    (sh(2027, 1, 8, 11), "complex", "working", (sh(2027, 1, 11, 11), sh(2027, 1, 15, 11)),
     (sh(2027, 1, 9, 11), sh(2027, 1, 14, 11))),
    (sh(2026, 12, 31, 10), "joint", "5+2", (sh(2027, 1, 1, 10), sh(2027, 1, 3, 10)),
     (sh(2027, 1, 1, 10), sh(2027, 1, 3, 10))),
]


@pytest.mark.parametrize(("start", "rule", "unit", "provisional", "official"), FORTNIGHT)
def test_both_clocks_of_every_rule_across_the_new_year_on_both_calendars(start, rule, unit, provisional, official):
    before = clocks(start, RULES[rule], DEFAULT_ACKNOWLEDGE[rule], unit, default_calendar())
    after = clocks(start, RULES[rule], DEFAULT_ACKNOWLEDGE[rule], unit, OFFICIAL_2027)
    assert (before[0].at, before[1].at) == provisional
    assert (after[0].at, after[1].at) == official


def test_the_first_answer_is_never_due_after_the_completion():
    ack, done = clocks(sh(2026, 4, 27, 10), {"hours": 6}, {"working_days": 1}, "working", default_calendar())
    assert ack.at == done.at == sh(2026, 4, 27, 16)


LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号路灯连续三天不亮。", "phone": "13800138001"}


def dispatched(client, jobs, **fields) -> str:
    number = report(client, **{**LIGHT, **fields})
    jobs()
    return number


def sweep(rt, jobs) -> None:
    rt.broker.enqueue("default", "sweep_supervision", [], job_id=f"sweep-{uuid.uuid4().hex}")
    jobs()


def test_dispatch_stores_both_clocks_and_the_api_shows_them(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    assert (local(light.ack_due_at), local(light.due_at)) == (sh(2026, 4, 27, 22), sh(2026, 4, 28, 10))
    assert light.reason["acknowledge"] == {"hours": 12}
    body = client.get(f"/api/v1/cases/{number}").get_json()
    [shown] = body["assignments"]
    assert shown["ack_due_at"] and shown["acknowledged_at"] is None


def test_an_unanswered_assignment_is_told_once_that_its_first_answer_is_late(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    late = dispatched(client, jobs)
    on_time = dispatched(client, jobs, text="江岸区解放大道1号路灯不亮。", phone="13900139002")
    signed = assignments(rt, on_time)["WH-LIGHT"]
    set_clock(app, 2026, 4, 27, 15)
    assert client.post(f"/api/v1/assignments/{signed.id}/sign").status_code == 200
    assert local(assignments(rt, on_time)["WH-LIGHT"].acknowledged_at) == sh(2026, 4, 27, 15)
    set_clock(app, 2026, 4, 27, 23)
    sweep(rt, jobs)
    sweep(rt, jobs)
    [event] = events(rt, late, "ack_overdue")
    assert local(datetime.fromisoformat(event.data["ack_due_at"])) == sh(2026, 4, 27, 22)
    assert len(notifications(rt, late, "ack_overdue")) == 1
    assert events(rt, on_time, "ack_overdue") == [] and notifications(rt, on_time, "ack_overdue") == []
    assert assignments(rt, late)["WH-LIGHT"].supervision_level == 0  # 办结 is not due yet


def test_a_recorded_contact_is_the_first_answer(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    set_clock(app, 2026, 4, 27, 11)
    assert client.post(f"/api/v1/assignments/{light.id}/contact", json={"note": ""}).status_code == 422
    resp = client.post(f"/api/v1/assignments/{light.id}/contact", json={"note": "11:00 电话联系市民，约定明日查看"})
    assert resp.status_code == 200 and resp.get_json()["assignment"]["acknowledged_at"]
    assert assignments(rt, number)["WH-LIGHT"].status == "dispatched"  # not signed: only answered
    set_clock(app, 2026, 4, 27, 23)
    sweep(rt, jobs)
    assert events(rt, number, "ack_overdue") == [] and len(events(rt, number, "contacted")) == 1


def test_a_pause_approved_by_the_office_stops_both_clocks_and_resuming_moves_them_on(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    resp = client.post(f"/api/v1/assignments/{light.id}/suspend",
                       json={"until": "2026-04-30T18:00:00+08:00", "reason": "市民外出，五一后方可入户"})
    assert resp.status_code == 201 and resp.get_json()["extension"]["kind"] == "suspension"
    set_clock(app, 2026, 4, 27, 11)
    assert client.post(f"/api/v1/extensions/{resp.get_json()['extension']['id']}/decide",
                       json={"approve": True}).status_code == 200
    paused = assignments(rt, number)["WH-LIGHT"]
    assert local(paused.suspended_at) == sh(2026, 4, 27, 11)
    set_clock(app, 2026, 4, 28, 12)  # past both clocks as they were: no step while paused
    sweep(rt, jobs)
    assert events(rt, number, "ack_overdue") == [] and events(rt, number, "overdue") == []
    set_clock(app, 2026, 4, 28, 11)
    resumed = client.post(f"/api/v1/assignments/{light.id}/resume").get_json()["assignment"]
    assert resumed["suspended_at"] is None and resumed["suspended_seconds"] == 24 * 3600
    light = assignments(rt, number)["WH-LIGHT"]
    assert (local(light.ack_due_at), local(light.due_at)) == (sh(2026, 4, 28, 22), sh(2026, 4, 29, 10))
    [event] = events(rt, number, "resumed")
    assert event.data["paused_seconds"] == 24 * 3600
    assert client.post(f"/api/v1/assignments/{light.id}/resume").status_code == 409


def test_a_pause_ends_on_its_own_at_its_date(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    ext = client.post(f"/api/v1/assignments/{light.id}/suspend",
                      json={"until": "2026-04-27T16:00:00+08:00", "reason": "等待市民提供照片"}).get_json()["extension"]
    client.post(f"/api/v1/extensions/{ext['id']}/decide", json={"approve": True})
    set_clock(app, 2026, 4, 27, 17)
    sweep(rt, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    assert light.suspended_at is None and light.suspended_seconds == 7 * 3600
    assert local(light.due_at) == sh(2026, 4, 28, 17)
    assert events(rt, number, "resumed")[0].actor == "system"


def test_an_extension_moves_the_completion_only(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    ext = client.post(f"/api/v1/assignments/{light.id}/extension",
                      json={"until": "2026-04-30T18:00:00+08:00", "reason": "需更换电缆"}).get_json()["extension"]
    client.post(f"/api/v1/extensions/{ext['id']}/decide", json={"approve": True})
    light = assignments(rt, number)["WH-LIGHT"]
    assert (local(light.ack_due_at), local(light.due_at)) == (sh(2026, 4, 27, 22), sh(2026, 4, 30, 18))


CSRF = {"csrf_token": "test-csrf-token"}


def test_the_workbench_and_the_console_show_both_clocks_and_the_office_decides_a_pause_on_the_case_page(
        app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    unit = logged_in(app, "department")
    page = unit.get(f"/workbench/assignments/{light.id}").get_data(as_text=True)
    assert "回告 2026-04-27 22:00" in page and "办结 2026-04-28 10:00" in page and "记录回告" in page
    resp = unit.post(f"/workbench/assignments/{light.id}/contact", data={**CSRF, "note": "电话联系市民"})
    assert resp.status_code in (302, 303)
    assert "已回告" in unit.get(f"/workbench/assignments/{light.id}").get_data(as_text=True)
    unit.post(f"/workbench/assignments/{light.id}/suspend", data={**CSRF, "until": "2026-04-30", "reason": "等待市民补充材料"})
    case_page = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "待审批申请" in case_page and "挂起" in case_page and "等待市民补充材料" in case_page
    assert "回告 2026-04-27 22:00 · 已回告" in case_page
    [pending] = [x for x in client.get(f"/api/v1/cases/{number}").get_json()["events"] if x["kind"] == "suspension_requested"]
    done = client.post(f"/console/extensions/{pending['data']['extension_id']}/decide", data={**CSRF, "approve": "1"})
    assert done.status_code in (302, 303) and done.headers["Location"].endswith(f"/console/cases/{number}")
    assert "挂起至 2026-04-30 18:00" in client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "恢复办理" in unit.get(f"/workbench/assignments/{light.id}").get_data(as_text=True)
    assert unit.post(f"/workbench/assignments/{light.id}/resume", data=CSRF).status_code in (302, 303)
    assert assignments(rt, number)["WH-LIGHT"].suspended_at is None


def test_the_report_counts_a_paused_assignment_as_paused_not_late(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    ext = client.post(f"/api/v1/assignments/{light.id}/suspend",
                      json={"until": "2026-05-06T18:00:00+08:00", "reason": "市民外出"}).get_json()["extension"]
    set_clock(app, 2026, 4, 27, 11)
    client.post(f"/api/v1/extensions/{ext['id']}/decide", json={"approve": True})
    set_clock(app, 2026, 4, 28, 12, 1)  # its 办结 (04-28 10:00) has passed on the clock, not on the paused one
    rt.broker.enqueue("default", "make_report", [], job_id=f"report-{uuid.uuid4().hex}")
    jobs()
    unit = client.get("/api/v1/reports/latest").get_json()["departments"]["WH-LIGHT"]
    assert (unit["overdue"], unit["suspended"]) == (0, 1)


def test_a_date_beyond_what_utc_can_hold_is_a_422_naming_until(app, client, rt, jobs):
    """Found by schemathesis: 0001-01-01T00:00+00:01 is valid ISO 8601, but in UTC it falls before year 1."""
    set_clock(app, 2026, 4, 27, 10)
    number = dispatched(client, jobs)
    light = assignments(rt, number)["WH-LIGHT"]
    for until in ("0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"):
        for step in ("suspend", "extension"):
            resp = client.post(f"/api/v1/assignments/{light.id}/{step}", json={"until": until, "reason": "测试"})
            assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "until", (step, until, resp.data)
