"""The rules table: complex, then urgent, then consultation, then joint (from [sla] joint_from_units), then
single; tickets carry urgency and complexity; the office's marks move every open assignment to the rule."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.casework.sla import rule_for
from tests.conftest import logged_in
from tests.kits.dispatch_kit import CITY, assignments, case, events, local, set_clock

TOKENS = {"cc-main": "s3cret-main-token"}
TICKET = {
    "ticket_no": "WH12345-20260427-000001", "caller_number": "13800138001", "caller_name": "李女士",
    "appeal_type": "投诉", "title": "路灯不亮", "content": "来电人反映：江岸区中山大道888号路灯连续三天不亮。",
    "address": "江岸区中山大道888号", "district": "江岸区", "operator_id": "A0317",
}


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "SYSTEM_TOKENS": TOKENS}


@pytest.fixture
def office(app: Any) -> Any:
    return logged_in(app, "office")


def sh(*parts: int):
    from datetime import datetime

    return datetime(*parts, tzinfo=CITY)


@pytest.mark.parametrize(("appeal", "units", "complexity", "urgency", "rule"), [
    ("投诉", 1, "normal", None, "single"),
    ("投诉", 2, "normal", None, "single"),
    ("投诉", 3, "normal", None, "joint"),
    ("咨询", 3, "normal", None, "consultation"),
    ("咨询", 3, "normal", "urgent", "urgent"),
    ("咨询", 1, "complex", "urgent", "complex"),
])
def test_the_first_matching_rule_wins(rt, appeal, units, complexity, urgency, rule):
    assert rule_for(rt.profile, appeal, units, complexity, urgency)[0] == rule


def test_the_joint_threshold_is_a_setting_of_the_profile(rt):
    rt.profile.sla["joint_from_units"] = 2
    assert rule_for(rt.profile, "投诉", 2)[0] == "joint"


def push(app, client, jobs, **fields) -> str:
    resp = client.post("/api/v1/hotline/tickets", json={**TICKET, **fields},
                       headers={"Authorization": "Bearer s3cret-main-token"})
    assert resp.status_code == 201, resp.get_json()
    jobs()
    return resp.get_json()["case"]["number"]


def test_an_urgent_ticket_gets_the_urgent_rule_on_both_clocks(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = push(app, client, jobs, urgency="紧急")
    light = assignments(rt, number)["WH-LIGHT"]
    assert case(rt, number).urgency == "urgent" and light.reason["sla"] == "urgent"
    assert (local(light.ack_due_at), local(light.due_at)) == (sh(2026, 4, 27, 12), sh(2026, 4, 27, 22))


def test_a_ticket_marked_especially_complex_gets_five_working_days(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = push(app, client, jobs, complexity="特别复杂", ticket_no="WH12345-20260427-000002")
    light = assignments(rt, number)["WH-LIGHT"]
    assert case(rt, number).complexity == "complex" and light.reason["sla"] == "complex"
    assert local(light.due_at) == sh(2026, 5, 7, 10)  # 4-28, 4-29, 4-30, (5-1..5-5 off), 5-6, 5-7


def test_an_unknown_complexity_is_refused_naming_the_field(client):
    resp = client.post("/api/v1/hotline/tickets", json={**TICKET, "complexity": "很难"},
                       headers={"Authorization": "Bearer s3cret-main-token"})
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "complexity"


def test_the_office_marks_a_case_urgent_and_its_open_assignments_move_to_the_urgent_rule(app, client, rt, jobs, office):
    set_clock(app, 2026, 4, 27, 10)
    number = push(app, client, jobs)
    assert assignments(rt, number)["WH-LIGHT"].reason["sla"] == "single"
    set_clock(app, 2026, 4, 27, 11)
    resp = office.post(f"/api/v1/cases/{number}/urgency", json={"urgent": True})
    assert resp.status_code == 200 and resp.get_json()["urgency"] == "urgent"
    light = assignments(rt, number)["WH-LIGHT"]
    assert light.reason["sla"] == "urgent"
    assert (local(light.ack_due_at), local(light.due_at)) == (sh(2026, 4, 27, 12), sh(2026, 4, 27, 22))
    [moved] = events(rt, number, "rule_changed")
    assert (moved.data["before_rule"], moved.data["rule"]) == ("single", "urgent")
    assert office.post(f"/api/v1/cases/{number}/urgency", json={"urgent": "yes"}).status_code == 422
    page = office.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "紧急程度" in page and "取消紧急" in page
