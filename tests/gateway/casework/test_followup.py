"""The follow-up (回访): asked when due on each reporter's channel, answered by SMS, mail or the board form; reopens or closes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.casework.followup import parse_answer
from gateway.channels.mail_inbound import process_message
from gateway.models import Case, Report
from tests.conftest import logged_in
from tests.gateway.channels.test_email_webhook import mail
from tests.gateway.channels.test_sms_webhook import messages
from tests.kits import citizen_kit as citizenkit
from tests.kits.citizen_kit import EMAIL, lead_replies, sms, three_reporters
from tests.kits.dispatch_kit import CITY, assignments, case, events, followups, local, set_clock


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: the workflow API needs a signed-in unit or office user."""
    return logged_in(app, "office")


config = citizenkit.config  # Twilio's edge and a real SMTP relay
twilio = citizenkit.twilio


def ask(rt, jobs) -> None:
    rt.broker.enqueue("default", "sweep_followups", [], job_id=f"followup-{uuid.uuid4().hex}")
    jobs()


@pytest.mark.parametrize(("text", "parsed"), [
    ("1", ("满意", True)), ("3", ("不满意", False)), (" 2 ", ("基本满意", True)), ("满意！", ("满意", True)),
    ("基本满意", ("基本满意", True)), ("不满意，没解决", ("不满意", False)), ("满意但没解决", ("满意", False)),
    ("4", None), ("江岸区又有路灯不亮了，请尽快派人来修理一下，谢谢，不满意你们的速度", None), ("", None),
])
def test_answers_are_read_from_digits_or_words(text, parsed):
    assert parse_answer(text) == parsed


def test_a_dissatisfied_sms_answer_is_recorded_not_opened_and_reopens_the_case_to_the_same_lead(
        app, client, rt, jobs, relay, twilio):
    number = three_reporters(app, client, rt, jobs)
    set_clock(app, 2026, 4, 27, 16)
    lead_replies(client, rt, jobs, number)
    set_clock(app, 2026, 4, 28, 15, 59)
    ask(rt, jobs)
    assert {f.status for f in followups(rt, number)} == {"pending"}
    set_clock(app, 2026, 4, 28, 16)  # [schedule] followup_after_hours = 24
    ask(rt, jobs)
    assert {f.status for f in followups(rt, number)} == {"asked"}
    assert "1 满意" in twilio.requests[-1]["data"]["Body"]
    with Session(rt.engine) as session:
        cases = len(session.exec(select(Case)).all())
    resp = sms(client, "SM-ANSWER", "3")
    assert messages(resp) == [f"【武汉市民留言板】感谢您对工单{number}的评价。"]
    assert messages(sms(client, "SM-ANSWER", "3")) == messages(resp)  # Twilio's retry gets the same answer
    with Session(rt.engine) as session:
        assert len(session.exec(select(Case)).all()) == cases  # not a new case
    answered = {f.channel: f for f in followups(rt, number)}
    assert (answered["sms"].status, answered["sms"].satisfaction, answered["sms"].solved) == ("answered", "不满意", False)
    assert case(rt, number).status == "reopened"
    lead = assignments(rt, number)["WH-LIGHT"]
    assert (lead.status, lead.dispatch_count) == ("dispatched", 2)
    assert local(lead.due_at) == datetime(2026, 4, 29, 16, tzinfo=CITY)  # a new 24 h from the reopening
    [reopened] = events(rt, number, "reopened")
    assert reopened.data["lead_assignment_id"] == lead.id
    jobs()
    assert "重新办理" in twilio.requests[-1]["data"]["Body"]
    # The lead answers again: a second round of follow-ups
    lead_replies(client, rt, jobs, number, "已更换整条线路。")
    assert sorted({f.round for f in followups(rt, number)}) == [1, 2]


def test_satisfied_answers_by_mail_and_board_form_and_sms_close_the_case(app, client, rt, jobs, relay, twilio):
    number = three_reporters(app, client, rt, jobs)
    lead_replies(client, rt, jobs, number)
    set_clock(app, 2026, 4, 28, 10)
    ask(rt, jobs)
    question = relay["messages"][-1]
    assert "满意" in question.get_content() and question["In-Reply-To"] == "<citizen-1@example.com>"
    outcome = process_message(rt, mail(subject=f"Re: {question['Subject']}", body="满意\n\n> 请回复：1 满意",
                                       sender=EMAIL, message_id="<citizen-2@example.com>",
                                       In_Reply_To=question["Message-ID"]), EMAIL, ["12345@example.wuhan.gov.cn"])
    assert (outcome.status, outcome.case_number) == ("followup", number)
    with Session(rt.engine) as session:
        codes = dict(session.exec(select(Report.channel, Report.retrieval_code)
                                  .where(Report.case_id == case(rt, number).id)).all())
    bad = client.post(f"/api/v1/cases/{number}/satisfaction", json={"retrieval_code": "WRONG1", "answer": "满意"})
    assert bad.status_code == 404
    assert client.post(f"/api/v1/cases/{number}/satisfaction",
                       json={"retrieval_code": codes["web"], "answer": "很好"}).status_code == 422
    # Another reporter's code answers only that reporter's follow-up: the SMS reporter has no board follow-up.
    assert client.post(f"/api/v1/cases/{number}/satisfaction",
                       json={"retrieval_code": codes["sms"], "answer": "不满意"}).status_code == 409
    resp = client.post(f"/api/v1/cases/{number}/satisfaction", json={"retrieval_code": codes["web"], "answer": "2"})
    assert resp.status_code == 200 and resp.get_json()["followup"]["satisfaction"] == "基本满意"
    assert case(rt, number).status == "replied"  # the SMS reporter has not answered yet
    sms(client, "SM-OK", "1")
    assert case(rt, number).status == "closed"
    assert events(rt, number, "closed")[0].data["answered"] == 3


def test_unanswered_follow_ups_expire_and_the_case_closes(app, client, rt, jobs, relay, twilio):
    number = three_reporters(app, client, rt, jobs)
    lead_replies(client, rt, jobs, number)
    set_clock(app, 2026, 4, 28, 10)
    ask(rt, jobs)
    set_clock(app, 2026, 5, 1, 10, 1)  # [schedule] followup_answer_hours = 72 later
    ask(rt, jobs)
    assert {f.status for f in followups(rt, number)} == {"expired"}
    assert case(rt, number).status == "closed"


def test_a_short_sms_without_a_pending_follow_up_is_a_new_report(app, client, rt, jobs, twilio):
    set_clock(app, 2026, 4, 27, 9)
    sms(client, "SM-X", "满意")
    with Session(rt.engine) as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_a_board_reporter_rates_the_reply_on_their_own_look_up_page(app, client, rt, jobs, relay, twilio):
    import re

    number = three_reporters(app, client, rt, jobs)
    lead_replies(client, rt, jobs, number)
    set_clock(app, 2026, 4, 28, 10)
    ask(rt, jobs)
    with Session(rt.engine) as session:
        codes = dict(session.exec(select(Report.channel, Report.retrieval_code)
                                  .where(Report.case_id == case(rt, number).id)).all())
    citizen = app.test_client()

    def look_up(code: str) -> str:
        page = citizen.get("/board/lookup").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        return citizen.post("/board/lookup", data={"number": number, "code": code, "csrf_token": token}).get_data(as_text=True)

    assert "办理结果评价" not in look_up(codes["sms"])  # the SMS reporter is asked by SMS, not here
    page = look_up(codes["web"])
    assert "办理结果评价" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    rated = citizen.post("/board/satisfaction", data={"number": number, "code": codes["web"], "answer": "满意",
                                                      "csrf_token": token})
    assert rated.status_code == 302
    assert "感谢您的评价" in citizen.get(rated.headers["Location"]).get_data(as_text=True)
    answered = {f.channel: f for f in followups(rt, number)}
    assert (answered["board"].status, answered["board"].satisfaction) == ("answered", "满意")
    assert "办理结果评价" not in look_up(codes["web"])  # answered once
    again = citizen.post("/board/satisfaction", data={"number": number, "code": codes["web"], "answer": "不满意",
                                                      "csrf_token": token})
    assert again.status_code == 409
    assert {f.channel: f.satisfaction for f in followups(rt, number)}["board"] == "满意"  # the first answer stands
