"""Logs carry no secrets and no personal data: the masking every record goes through after create_app."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.messaging.notify import deliver, queue_notification
from gateway.models import Notification
from gateway.trust.privacy import mask_log as mask
from tests.gateway.messaging.test_delivery_sms_email import TwilioEdge

TOKEN = "twilio-auth-token-0123456789"
MAIL_SECRET = "inbound-mail-secret-42"
SYSTEM_TOKEN = "call-centre-token-9876"
PHONE = "+8613800138001"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+8610690000",
            "INBOUND_MAIL_SECRET": MAIL_SECRET, "SYSTEM_TOKENS": {"cc": SYSTEM_TOKEN},
            "SMTP_URL": "smtp://relay-user:relay-pass-777@127.0.0.1:1"}


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("sms to +8613800138001 failed", "13800138001", "+86*******8001"),
        ("caller 13800138001 and 027-85551234", "38001", "138****8001"),
        ("reply to Li.Nvshi@Example.com bounced", "Nvshi", "L***@Example.com"),
        ("POST /webhooks/email?secret=abc123&x=1", "abc123", "secret=[secret]&x=1"),
        ("relay smtp://user:hunter22@mail.example.cn:587 down", "hunter22", "user:[secret]@mail"),
        ("case WH20261128-000042 dispatched to WH-LIGHT, job notify-12", "", "WH20261128-000042"),
    ],
)
def test_masking_hides_phones_mails_and_credentials_but_keeps_case_numbers(text, hidden, kept):
    masked = mask(text)
    assert kept in masked
    assert not hidden or hidden not in masked


def test_no_secret_or_phone_reaches_any_log_during_requests_and_a_failed_send(app, client, rt, caplog):
    caplog.set_level(logging.DEBUG)
    edge = TwilioEdge()
    edge.answers.append((400, {"code": 21211, "message": f"The 'To' number {PHONE} is not a valid phone number.",
                               "status": 400}))
    rt.twilio_http_client = edge
    client.post(f"/webhooks/email?secret={MAIL_SECRET}", data=b"not a mail", content_type="message/rfc822")
    client.post("/api/v1/hotline/tickets", json={"ticket_no": "T1"}, headers={"Authorization": f"Bearer {SYSTEM_TOKEN}"})
    with Session(rt.engine) as session:
        queue_notification(session, dedupe_key="bad-number", channel="sms", kind="ack", body="x", address=PHONE)
        session.commit()
        note_id = session.exec(select(Notification.id)).one()
    assert deliver(note_id) == "failed"
    logging.getLogger("rq.worker").error("job failed: %s", f"sms to {PHONE} with token {TOKEN}", exc_info=False)
    try:
        raise RuntimeError(f"relay said no to li@example.com using relay-pass-777 and {TOKEN}")
    except RuntimeError:
        logging.getLogger("gateway.messaging.senders").exception("send failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "notification" in text and "failed for good" in text  # the failed send was logged, masked
    for secret in (TOKEN, MAIL_SECRET, SYSTEM_TOKEN, "relay-pass-777", PHONE, "13800138001", "li@example.com"):
        assert secret not in text, secret
