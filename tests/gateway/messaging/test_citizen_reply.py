"""The lead's reply reaches every reporter once, on the channel each used (Twilio's HTTP edge, a real SMTP relay)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import logged_in
from tests.kits import citizen_kit as citizenkit
from tests.kits.citizen_kit import EMAIL, PHONE, lead_replies, three_reporters
from tests.kits.dispatch_kit import case, events, followups, notifications


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: the workflow API needs a signed-in unit or office user."""
    return logged_in(app, "office")


config = citizenkit.config  # Twilio's edge and a real SMTP relay
twilio = citizenkit.twilio


def test_the_reply_goes_once_to_the_sms_reporter_once_by_threaded_mail_and_to_the_private_board_post(
        app, client, rt, jobs, relay, twilio):
    number = three_reporters(app, client, rt, jobs)
    acks = len(relay["messages"])
    lead_replies(client, rt, jobs, number)
    [text] = twilio.requests  # two texts from one phone: one reply
    assert text["data"]["To"] == PHONE and "已更换灯具" in text["data"]["Body"] and number in text["data"]["Body"]
    [message] = relay["messages"][acks:]
    assert message["To"] == EMAIL and number in message["Subject"]
    assert message["In-Reply-To"] == "<citizen-1@example.com>"  # threads with the citizen's own mail
    assert "已更换灯具" in message.get_content()
    replies = {n.channel: n for n in notifications(rt, number, "reply")}
    assert set(replies) == {"sms", "email", "board"} and all(n.status == "sent" for n in replies.values())
    [sent] = events(rt, number, "reply_sent")
    assert {(r["channel"], r["public"]) for r in sent.data["to"]} == {("sms", True), ("email", True), ("board", False)}
    assert case(rt, number).status == "replied"
    assert sorted(f.channel for f in followups(rt, number)) == ["board", "email", "sms"]


def test_running_the_reply_job_again_sends_nothing_twice(app, client, rt, jobs, relay, twilio):
    number = three_reporters(app, client, rt, jobs)
    lead_replies(client, rt, jobs, number)
    before = (len(twilio.requests), len(relay["messages"]), len(followups(rt, number)))
    c = case(rt, number)
    rt.broker.enqueue("deliver", "send_reply", [c.id, 1], job_id="again")
    jobs()
    assert (len(twilio.requests), len(relay["messages"]), len(followups(rt, number))) == before


def test_a_hotline_caller_is_answered_by_sms(app, client, rt, jobs, twilio):
    from adapters.base import InboundReport
    from gateway.intake.ingest import ingest

    result = ingest(rt, InboundReport(channel="hotline", external_id="T-1", text="江岸区路灯不亮", phone="13800138002"))
    jobs()
    lead_replies(client, rt, jobs, result.case.number, "已修复。")
    [text] = twilio.requests
    assert text["data"]["To"] == "+8613800138002" and "已修复" in text["data"]["Body"]
