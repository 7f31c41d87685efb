"""The phone work list (回访电话): a fixed line or a number that opted out of SMS gets its reply and follow-up read
out by an operator; an item is held by one operator; outcomes go through the one satisfaction path; retries within
calling hours on working days; unreachable counted apart."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from adapters.base import InboundReport
from gateway.casework import calllist
from gateway.config import BUNDLED_PROFILE, ConfigError
from gateway.intake.ingest import ingest
from gateway.models import CallItem, Contact, FollowUp, Report
from gateway.profile import load_profile
from gateway.reporting.calls import followup_calls_completed, followup_calls_unreachable
from gateway.reporting.rates import period_rates
from gateway.trust import retention
from tests.conftest import logged_in
from tests.gateway.channels.test_sms_webhook import messages
from tests.kits import citizen_kit as citizenkit
from tests.kits.citizen_kit import lead_replies, sms
from tests.kits.dispatch_kit import CITY, case, events, followups, local, notifications, set_clock

LANDLINE = "027-85551234"

config = citizenkit.config  # Twilio's edge (recorded, never the network) and a real SMTP relay
twilio = citizenkit.twilio


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: the unit's reply goes through the workflow API."""
    return logged_in(app, "office")


def ask(rt: Any, jobs: Any) -> None:
    rt.broker.enqueue("default", "sweep_followups", [], job_id=f"followup-{uuid.uuid4().hex}")
    jobs()


def hotline_case(rt: Any, jobs: Any, phone: str = LANDLINE, ticket: str = "T-1") -> str:
    result = ingest(rt, InboundReport(channel="hotline", external_id=ticket, text="江岸区中山大道888号路灯不亮",
                                      phone=phone, name="李女士"))
    jobs()
    return str(result.case.number)


def items(rt: Any, kind: str | None = None) -> list[CallItem]:
    with Session(rt.engine) as session:
        query = select(CallItem).order_by(CallItem.id)  # type: ignore[arg-type]
        if kind:
            query = query.where(CallItem.kind == kind)
        return list(session.exec(query).all())


def replied_and_asked(app: Any, client: Any, rt: Any, jobs: Any, phone: str = LANDLINE) -> str:
    """A hotline case from `phone`, replied on Monday 27 April 2026 16:00, its follow-up due the next day."""
    set_clock(app, 2026, 4, 27, 9)
    number = hotline_case(rt, jobs, phone)
    set_clock(app, 2026, 4, 27, 16)
    lead_replies(client, rt, jobs, number, "经现场核查，已更换灯具。")
    set_clock(app, 2026, 4, 28, 16)  # [schedule] followup_after_hours = 24
    ask(rt, jobs)
    return number


def test_a_landline_callers_reply_is_not_texted_but_put_on_the_call_list(app, client, rt, jobs, twilio):
    set_clock(app, 2026, 4, 27, 9)
    number = hotline_case(rt, jobs)
    lead_replies(client, rt, jobs, number, "经现场核查，已更换灯具。")
    assert twilio.requests == []  # before the call list: an SMS to +862785551234
    assert [n for n in notifications(rt, number) if n.channel == "sms"] == []
    [item] = items(rt, "reply")
    assert (item.phone, item.why, item.status, item.name) == ("+862785551234", "fixed_line", "open", "李女士")
    assert number in item.script and "已更换灯具" in item.script
    assert [f.channel for f in followups(rt, number)] == ["phone"]


def test_a_mobile_caller_is_still_texted(app, client, rt, jobs, twilio):
    set_clock(app, 2026, 4, 27, 9)
    number = hotline_case(rt, jobs, phone="13800138002")
    lead_replies(client, rt, jobs, number, "已修复。")
    [text] = twilio.requests
    assert text["data"]["To"] == "+8613800138002"
    assert items(rt) == []


def test_a_number_that_opted_out_of_sms_is_called_instead(app, client, rt, jobs, twilio):
    set_clock(app, 2026, 4, 27, 9)
    number = hotline_case(rt, jobs, phone="13800138002")
    with Session(rt.engine) as session:
        contact = session.exec(select(Contact)).one()
        contact.opted_out_sms = True
        session.add(contact)
        session.commit()
    lead_replies(client, rt, jobs, number, "已修复。")
    assert twilio.requests == []
    [item] = items(rt, "reply")
    assert (item.phone, item.why) == ("+8613800138002", "opted_out")


def test_the_reply_read_to_a_second_reporter_is_masked(app, client, rt, jobs, twilio):
    set_clock(app, 2026, 4, 27, 9)
    first = ingest(rt, InboundReport(channel="hotline", external_id="T-1", text="江岸区中山大道888号路灯不亮，晚上很黑",
                                     phone="13800138001", name="王建国"))
    second = ingest(rt, InboundReport(channel="hotline", external_id="T-2", text="江岸区中山大道888号路灯不亮，晚上很黑",
                                      phone=LANDLINE, name="李女士"), attach_to=first.case.id)
    jobs()
    number = str(first.case.number)
    assert second.case.number == number
    lead_replies(client, rt, jobs, number, "已联系王建国（13800138001），更换灯具。")
    [item] = items(rt, "reply")
    assert item.phone == "+862785551234"
    assert "王建国" not in item.script and "13800138001" not in item.script and "更换灯具" in item.script
    [text] = twilio.requests  # the first reporter, on a mobile, reads it as written
    assert "王建国" in text["data"]["Body"]


def test_a_landline_follow_up_taken_by_an_operator_and_answered_dissatisfied_reopens_the_case(
        app, client, rt, jobs, twilio):
    number = replied_and_asked(app, client, rt, jobs)
    [followup] = followups(rt, number)
    assert (followup.channel, followup.status) == ("phone", "asked")
    [item] = items(rt, "followup")
    assert item.followup_id == followup.id and "满意" in item.script and "已更换灯具" in item.script
    [reply] = items(rt, "reply")
    assert reply.status == "cancelled"  # not read out in time: the follow-up call reads the reply out too
    assert twilio.requests == []
    operator = logged_in(app, "operator")
    page = operator.get("/operator/calls").get_data(as_text=True)
    assert "+862785551234" in page and "满意度回访" in page and "领取并呼叫" in page
    resp = operator.post(f"/operator/calls/{item.id}/claim", data={"csrf_token": "test-csrf-token"})
    assert resp.status_code == 302
    page = operator.get("/operator/calls").get_data(as_text=True)
    assert "不满意" in page and "未接通" in page and "拒访" in page
    resp = operator.post(f"/operator/calls/{item.id}/outcome",
                         data={"csrf_token": "test-csrf-token", "outcome": "不满意", "note": "灯还是不亮"})
    assert resp.status_code == 302
    [answered] = followups(rt, number)
    assert (answered.status, answered.satisfaction, answered.solved) == ("answered", "不满意", False)
    assert case(rt, number).status == "reopened"
    assert events(rt, number, "reopened")
    [done] = items(rt, "followup")
    assert (done.status, done.outcome, done.attempts, done.done_by) == ("done", "不满意", 1, operator.user.actor)
    jobs()
    assert twilio.requests == []  # told on the call: no SMS about the reopening either


def test_two_operators_never_hold_one_item(app, client, rt, jobs, twilio):
    number = replied_and_asked(app, client, rt, jobs)
    [item] = items(rt, "followup")
    first, second = logged_in(app, "operator"), logged_in(app, "operator")
    assert first.post(f"/api/v1/calls/{item.id}/claim").status_code == 200
    refused = second.post(f"/api/v1/calls/{item.id}/claim")
    assert refused.status_code == 409 and "正由" in refused.get_json()["error"]["message"]
    page = second.get("/operator/calls").get_data(as_text=True)
    assert "正在处理" in page
    assert second.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "满意"}).status_code == 409
    assert followups(rt, number)[0].status == "asked"
    set_clock(app, 2026, 4, 28, 16, 16)  # [calls] lease_minutes = 15: the lease ran out
    assert second.post(f"/api/v1/calls/{item.id}/claim").status_code == 200
    assert first.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "满意"}).status_code == 409
    resp = second.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "满意"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "done"
    assert (followups(rt, number)[0].satisfaction, case(rt, number).status) == ("满意", "closed")


def test_a_concurrent_claim_has_one_winner(app, client, rt, jobs, twilio):
    replied_and_asked(app, client, rt, jobs)
    [item] = items(rt, "followup")
    barrier = threading.Barrier(4)
    won: list[str] = []
    lost: list[str] = []

    def take(who: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                calllist.claim(rt, item.id, who)
                won.append(who)
            except calllist.CallError:
                lost.append(who)

    threads = [threading.Thread(target=take, args=(f"user:op{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 3
    [held] = items(rt, "followup")
    assert held.held_by == won[0]


def test_unanswered_calls_are_retried_in_calling_hours_then_counted_unreachable_apart(app, client, rt, jobs, twilio):
    number = replied_and_asked(app, client, rt, jobs)  # Tuesday 28 April 2026, 16:00
    [item] = items(rt, "followup")
    operator = logged_in(app, "operator")
    tries = []
    for _attempt in range(3):
        assert operator.post(f"/api/v1/calls/{item.id}/claim").status_code == 200
        resp = operator.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "未接通"})
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        tries.append(body)
        if body["status"] == "open":
            at = local(datetime.fromisoformat(body["next_attempt_at"]))
            assert 8 <= at.hour < 21 and at.weekday() < 5
            assert operator.post(f"/api/v1/calls/{item.id}/claim").status_code == 409  # not due yet
            set_clock(app, at.year, at.month, at.day, at.hour, at.minute)
    assert [t["status"] for t in tries] == ["open", "open", "unreachable"]
    first_retry = local(datetime.fromisoformat(tries[0]["next_attempt_at"]))
    assert first_retry == datetime(2026, 4, 29, 8, tzinfo=CITY)  # 2/3 working day later falls at night: 8:00 next day
    [followup] = followups(rt, number)
    assert followup.status == "unreachable"
    assert case(rt, number).status == "closed"  # settled like an expired follow-up
    with Session(rt.engine) as session:
        start, end = datetime(2026, 4, 27, tzinfo=CITY), datetime(2026, 5, 6, tzinfo=CITY)
        overall = period_rates(session, start, end)[None]
        assert (overall.unreachable, overall.answered, overall.valid) == (1, 0, 0)
        assert followup_calls_unreachable(session, start, end) == 1
        assert followup_calls_completed(session, start, end) == {}


def test_no_call_outside_calling_hours_or_on_a_holiday(app, client, rt, jobs, twilio):
    replied_and_asked(app, client, rt, jobs)
    [item] = items(rt, "followup")
    operator = logged_in(app, "operator")
    set_clock(app, 2026, 4, 28, 21, 30)
    refused = operator.post(f"/api/v1/calls/{item.id}/claim")
    assert refused.status_code == 409 and "呼叫时段" in refused.get_json()["error"]["message"]
    listing = operator.get("/api/v1/calls").get_json()
    assert listing["calling_hours"]["open"] is False
    assert local(datetime.fromisoformat(listing["calling_hours"]["next_start"])) == datetime(2026, 4, 29, 8, tzinfo=CITY)
    set_clock(app, 2026, 5, 1, 10)  # 劳动节 (Friday): a holiday of the official calendar
    assert operator.post(f"/api/v1/calls/{item.id}/claim").status_code == 409
    assert "不在呼叫时段" in operator.get("/operator/calls").get_data(as_text=True)
    set_clock(app, 2026, 5, 6, 8)  # the next working day
    assert operator.post(f"/api/v1/calls/{item.id}/claim").status_code == 200


def test_follow_up_calls_completed_per_operator(app, client, rt, jobs, twilio):
    number = replied_and_asked(app, client, rt, jobs)
    [item] = items(rt, "followup")
    operator = logged_in(app, "operator")
    operator.post(f"/api/v1/calls/{item.id}/claim")
    assert operator.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "基本满意"}).status_code == 200
    assert case(rt, number).status == "closed"
    with Session(rt.engine) as session:
        day = datetime(2026, 4, 28, tzinfo=CITY)
        assert followup_calls_completed(session, day, day + timedelta(days=1)) == {operator.user.actor: 1}
        assert followup_calls_completed(session, day + timedelta(days=1), day + timedelta(days=2)) == {}


def test_bad_outcomes_and_unknown_items_answer_clear_errors(app, client, rt, jobs, twilio):
    replied_and_asked(app, client, rt, jobs)
    [item] = items(rt, "followup")
    operator = logged_in(app, "operator")
    operator.post(f"/api/v1/calls/{item.id}/claim")
    resp = operator.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "已告知"})
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "outcome"
    assert operator.post(f"/api/v1/calls/{item.id}/outcome", json={"note": 1}).status_code == 422
    assert operator.post("/api/v1/calls/999999/claim").status_code == 404
    assert logged_in(app, "department").get("/api/v1/calls").status_code == 403
    with Session(rt.engine) as session:
        assert session.get(FollowUp, item.followup_id).status == "asked"  # type: ignore[union-attr]


def test_a_text_from_a_number_that_opted_out_is_acknowledged_by_a_call(app, client, rt, jobs, twilio):
    set_clock(app, 2026, 4, 27, 9)
    assert messages(sms(client, "SM-STOP", "退订")) == [rt.profile.message("stopped")]
    resp = sms(client, "SM-1", "江岸区中山大道888号路灯三天不亮")
    assert messages(resp) == []  # no inline answer to an opted-out number
    jobs()
    assert twilio.requests == []
    [item] = items(rt, "ack")
    assert (item.phone, item.why, item.kind) == (citizenkit.PHONE, "opted_out", "ack")
    with Session(rt.engine) as session:
        report = session.exec(select(Report).where(Report.external_id == "SM-1")).one()
    assert report.retrieval_code in item.script


def test_retention_masks_the_call_list_with_the_rest(app, client, rt, jobs, twilio):
    number = replied_and_asked(app, client, rt, jobs)
    [item] = items(rt, "followup")
    operator = logged_in(app, "operator")
    operator.post(f"/api/v1/calls/{item.id}/claim")
    operator.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "满意", "note": "李女士说灯已修好"})
    assert case(rt, number).status == "closed"
    set_clock(app, 2027, 6, 1, 10)
    retention.run(rt, 30)
    for kept in items(rt):
        assert kept.phone != "+862785551234" and "5551234" not in kept.phone and kept.name is None
        assert "李女士" not in str(kept.log)


@pytest.mark.parametrize(("given", "calls", "message"), [
    ('hours = "08:00-21:00"', 'hours = "21:00-08:00"', "start is before their end"),
    ('hours = "08:00-21:00"', 'hours = "8点到9点"', "cannot be read"), ("attempts = 3", "attempts = 0", "attempts >= 1")])
def test_a_profile_with_unreadable_calling_rules_stops_start_up(tmp_path, given, calls, message):
    text = BUNDLED_PROFILE.read_text(encoding="utf-8")
    assert given in text
    text = text.replace(given, calls, 1)
    path = tmp_path / "city.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_profile(path)
