"""Outbound SMS through Twilio's REST client (HTTP edge replaced) and mail through a real local SMTP relay."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session, select
from twilio.http import HttpClient
from twilio.http.response import Response

from gateway.messaging.notify import deliver, queue_notification
from gateway.messaging.senders import DeliveryError, load_senders
from gateway.models import Contact, Notification

SID = "AC" + "1" * 32


class TwilioEdge(HttpClient):
    """Twilio's HTTP edge: records each request and answers with the queued (status, body) pairs."""

    def __init__(self) -> None:
        super().__init__(logger=None, is_async=False)  # type: ignore[arg-type]
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []

    def request(self, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None,
                auth: Any = None, timeout: Any = None, allow_redirects: bool = False) -> Response:
        self.requests.append({"method": method, "url": url, "data": dict(data or {}), "auth": auth})
        status, body = self.answers.pop(0) if self.answers else (201, {"sid": f"SM{len(self.requests):032d}",
                                                                       "status": "queued"})
        return Response(status, json.dumps(body))


@pytest.fixture
def config(config: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    return {**config, "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "tok", "TWILIO_FROM_NUMBER": "+8610690000",
            "SMTP_URL": relay["url"], "MAIL_FROM": "12345@example.wuhan.gov.cn"}


@pytest.fixture
def twilio(rt: Any) -> TwilioEdge:
    edge = TwilioEdge()
    rt.twilio_http_client = edge
    return edge


def _note(rt: Any, key: str, channel: str, address: str, **more: Any) -> int:
    with Session(rt.engine) as session:
        queue_notification(session, dedupe_key=key, channel=channel, kind=more.pop("kind", "ack"), body="您的工单已受理",
                           address=address, **more)
        session.commit()
        return session.exec(select(Notification.id).where(Notification.dedupe_key == key)).one()


def test_the_registry_has_senders_for_sms_and_email():
    senders = load_senders()
    assert {"sms", "email"} <= set(senders)


def test_an_sms_goes_to_twilios_messages_endpoint_and_keeps_the_sid(rt, twilio):
    note_id = _note(rt, "sms-1", "sms", "+8613800138001")
    assert deliver(note_id) == "sent"
    [sent] = twilio.requests
    assert sent["method"] == "POST" and sent["url"].endswith(f"/Accounts/{SID}/Messages.json")
    assert sent["data"] == {"To": "+8613800138001", "From": "+8610690000", "Body": "您的工单已受理"}
    with Session(rt.engine) as session:
        assert session.get(Notification, note_id).message_id == "SM" + "1".zfill(32)


def test_a_twilio_server_error_is_retried_and_an_unsubscribed_number_fails_for_good(rt, twilio):
    twilio.answers = [(503, {"code": 20500, "message": "busy", "status": 503}),
                      (400, {"code": 21610, "message": "unsubscribed recipient", "status": 400})]
    note_id = _note(rt, "sms-2", "sms", "+8613800138001")
    with pytest.raises(DeliveryError):
        deliver(note_id)
    assert deliver(note_id) == "failed"
    with Session(rt.engine) as session:
        assert "21610" in session.get(Notification, note_id).error


def test_no_sms_is_sent_to_a_contact_who_opted_out(rt, twilio):
    with Session(rt.engine) as session:
        contact = Contact(opted_out_sms=True)
        session.add(contact)
        session.commit()
        contact_id = contact.id
    note_id = _note(rt, "sms-3", "sms", "+8613800138001", contact_id=contact_id)
    assert deliver(note_id) == "skipped"
    assert twilio.requests == []


def test_a_mail_goes_through_the_relay_with_our_message_id_and_auto_submitted(rt, relay):
    note_id = _note(rt, "mail-1", "email", "li@example.com", subject="Re: [WH20261128-000001] 油烟扰民")
    assert deliver(note_id) == "sent"
    [msg] = relay["messages"]
    with Session(rt.engine) as session:
        note = session.get(Notification, note_id)
    assert msg["Message-ID"] == f"<{note.message_id}>" and note.message_id.endswith("@example.wuhan.gov.cn")
    assert msg["To"] == "li@example.com" and msg["Subject"] == "Re: [WH20261128-000001] 油烟扰民"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content().strip() == "您的工单已受理"


def test_a_relay_that_is_down_raises_for_retry(rt, config):
    from bench.common import free_port

    rt.settings = replace(rt.settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    note_id = _note(rt, "mail-2", "email", "li@example.com", subject="x")
    with pytest.raises(DeliveryError) as info:
        deliver(note_id)
    assert info.value.permanent is False


def test_without_a_relay_configured_mail_fails_for_good(rt):
    rt.settings = replace(rt.settings, smtp_url=None)
    assert deliver(_note(rt, "mail-3", "email", "li@example.com", subject="x")) == "failed"


def test_with_rest_acknowledgements_a_text_is_answered_through_the_outbox_by_a_worker(app, rt, twilio, jobs):
    from tests.gateway.channels.test_sms_webhook import PUBLIC, form, messages

    rt.settings = replace(rt.settings, sms_ack="rest", public_base_url=PUBLIC, twilio_auth_token="tok")
    from twilio.request_validator import RequestValidator

    params = form("SM1", "路灯不亮")
    signature = RequestValidator("tok").compute_signature(PUBLIC + "/webhooks/twilio/sms", params)
    resp = app.test_client().post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 200 and messages(resp) == []
    jobs()
    [sent] = twilio.requests
    assert sent["data"]["To"] == "+8613800138001" and "已受理" in sent["data"]["Body"]
