"""Hardening (trust issue, 8): header injection, secrets at rest, redirects, long names, 405 answers."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.intake.attachments import safe_name
from gateway.models import Unparsed
from tests.conftest import logged_in
from tests.gateway.channels.test_email_webhook import SECRET, mail, post_raw


@pytest.fixture
def config(config: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    return {**config, "INBOUND_MAIL_SECRET": SECRET, "SMTP_URL": relay["url"], "MAIL_FROM": "12345@example.wuhan.gov.cn",
            "MAIL_DOMAINS": ["example.wuhan.gov.cn"], "TWILIO_AUTH_TOKEN": "twilio-token-123",
            "SYSTEM_TOKENS": {"cc": "cc-token-456"}, "OPEN311_API_KEYS": ["open311-key-789"]}


def test_a_crlf_inside_an_encoded_subject_still_gets_the_citizen_an_acknowledgement(client, relay, jobs):
    evil = "=?utf-8?b?" + base64.b64encode("路灯不亮\r\nBcc: victim@example.com".encode()).decode() + "?="
    raw = mail(subject="x").replace(b"Subject: x", b"Subject: " + evil.encode())
    resp = post_raw(client, raw)
    assert resp.status_code == 201
    jobs()
    [ack] = relay["messages"]
    assert "\n" not in ack["Subject"] and "\r" not in ack["Subject"] and "路灯不亮" in ack["Subject"]
    assert ack["Bcc"] is None and relay["recorder"].envelopes[-1][1] == ["li.nvshi@example.com"]


def test_no_configured_secret_is_stored_with_a_kept_request(client, rt):
    secrets = [SECRET, "twilio-token-123", "cc-token-456", "open311-key-789"]
    headers = {"X-Hotline-Secret": SECRET, "Authorization": "Bearer cc-token-456", "X-Note": "open311-key-789 twilio-token-123"}
    resp = client.post("/webhooks/email", data=b"\x00\x01\x02 garbage \xff\xfe", content_type="message/rfc822",
                       headers=headers)
    assert resp.status_code == 202  # kept for a person, as a mail that cannot be read
    with Session(rt.engine) as session:
        kept = session.exec(select(Unparsed)).all()
    assert kept, "the request is kept for a person"
    stored = repr([(row.headers, bytes(row.body)) for row in kept])
    for secret in secrets:
        assert secret not in stored, secret


def test_the_merge_forms_back_field_cannot_send_staff_to_another_site(app):
    office = logged_in(app, "office")
    resp = office.post("/console/merges/1/accept", data={"back": "https://evil.example/phish", "csrf_token": "test-csrf-token"})
    assert resp.status_code == 302 and not resp.headers["Location"].startswith(("https://evil", "//"))
    resp = office.post("/console/merges/1/accept", data={"back": "//evil.example", "csrf_token": "test-csrf-token"})
    assert "evil.example" not in resp.headers["Location"]


def test_a_hundred_cjk_characters_make_a_name_the_file_system_accepts(tmp_path):
    name = safe_name("附" * 100 + ".jpg", 3)
    assert len(name.encode()) <= 255 and name.endswith(".jpg") and name.startswith("03-附")
    (tmp_path / name).write_bytes(b"x")  # the file system takes it
    assert safe_name("../../etc/passwd", 1) == "01-passwd" and safe_name(None, 2) == "02-attachment"


def test_a_405_says_which_methods_are_allowed(client):
    resp = client.get("/api/v1/reports")
    assert resp.status_code == 405 and "POST" in resp.headers["Allow"]
    assert client.delete("/board/lookup").headers.get("Allow")
