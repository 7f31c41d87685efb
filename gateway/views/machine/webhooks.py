"""Provider webhooks: Twilio SMS (signed) and inbound e-mail (raw MIME or provider forms, shared secret)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from adapters import email as email_adapter
from adapters.base import AdapterError, Ignored, RawInbound
from gateway.channels import mail_inbound as mail
from gateway.channels import sms_inbound as sms
from gateway.clock import utcnow
from gateway.errors import ApiError
from gateway.intake import quarantine
from gateway.runtime import current
from gateway.views.common import raw_inbound

bp = Blueprint("webhooks", __name__)

RAW_MAIL_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def public_url() -> str:
    """The URL Twilio signed: HOTLINE_PUBLIC_URL + path and query, else the request URL (ProxyFix-aware)."""
    base = current().settings.public_base_url
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def twiml(text: str | None) -> Response:
    answer = MessagingResponse()
    if text:
        answer.message(text)
    return Response(str(answer), 200, mimetype="application/xml")


def verify_twilio() -> None:
    request.get_data(cache=True)  # keep the raw body: form parsing alone would consume the stream
    token = current().settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
        raise ApiError(403, "bad or missing Twilio signature", field="X-Twilio-Signature")


def unparsed(channel: str, exc: AdapterError, body: bytes) -> tuple[Response, int]:
    """Keep an unusable but authentic delivery for a person; 202 so the provider does not resend it."""
    row_id = quarantine.keep(current(), channel, RawInbound(channel=channel, body=body, headers=dict(request.headers.items())), exc)
    return jsonify({"status": "unparsed", "unparsed_id": row_id, "error": exc.as_dict()}), 202


@bp.post("/webhooks/twilio/sms")
def twilio_sms() -> ResponseReturnValue:
    """Take an inbound SMS/MMS (or a status callback) from Twilio and answer with TwiML."""
    verify_twilio()
    raw = raw_inbound("sms")
    try:
        return twiml(sms.receive(current(), raw))
    except Ignored:
        return twiml(None)
    except AdapterError as exc:
        return unparsed("sms", exc, raw.body)


@bp.post("/webhooks/twilio/status")
def twilio_status() -> ResponseReturnValue:
    """Acknowledge a delivery status callback (nothing to do yet)."""
    verify_twilio()
    return twiml(None)


def _verify_mail_secret() -> None:
    secret = current().settings.inbound_mail_secret
    given = request.args.get("secret") or request.headers.get("X-Hotline-Secret") or ""
    if not secret or not hmac.compare_digest(given.encode(), str(secret).encode()):
        raise ApiError(403, "bad or missing inbound mail secret", field="secret")


@bp.post("/webhooks/email")
def inbound_email() -> ResponseReturnValue:
    """Take an inbound mail: raw MIME, or a SendGrid Inbound Parse / Mailgun route form."""
    _verify_mail_secret()
    rt = current()
    mimetype = request.mimetype or ""
    if request.content_length and mail.too_large(rt, request.content_length):
        raise ApiError(413, f"message larger than {rt.settings.mail_max_bytes} bytes", field="body")
    if mimetype in RAW_MAIL_TYPES:
        body = request.get_data(cache=True)
        if not body.strip():
            raise ApiError(400, "empty message", field="body")
        outcome = mail.process_message(rt, body, None, [], transport="webhook")
    elif mimetype in FORM_TYPES:
        form = {k: request.form.getlist(k) for k in request.form}
        files = {k: f.read() for k, f in request.files.items()}
        body = request.get_data(cache=True) if mimetype != "multipart/form-data" else repr(form).encode()
        try:
            inbound = email_adapter.parse_form(form, files, max_bytes=rt.settings.mail_max_bytes)
        except AdapterError as exc:
            return unparsed("email", exc, body)
        inbound.received_at = inbound.received_at or utcnow()
        outcome = mail.process_report(rt, inbound, inbound.raw, {"transport": "webhook"})
    else:
        raise ApiError(415, "expected message/rfc822, application/octet-stream or a form post", field="Content-Type")
    status = {"created": 201, "replay": 200, "followup": 200, "unparsed": 202}[outcome.status]
    return jsonify({"status": outcome.status, "case": outcome.case_number, "unparsed_id": outcome.unparsed_id,
                    "error": outcome.error}), status
