"""Outbound SMS through Twilio's REST API (twilio.rest.Client), configured by TWILIO_* variables."""

from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from gateway.messaging.senders import DeliveryError, register
from gateway.models import Notification
from gateway.runtime import Runtime

# Twilio error codes that no retry can fix: unsubscribed recipient, invalid or unreachable number.
PERMANENT_CODES = {21211, 21408, 21610, 21612, 21614}


def twilio_client(rt: Runtime) -> Client:
    """The REST client; rt.twilio_http_client replaces its HTTP edge (tests, proxies)."""
    sid, token = rt.settings.twilio_account_sid, rt.settings.twilio_auth_token
    if not sid or not token:
        raise DeliveryError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set", permanent=True)
    return Client(sid, token, http_client=rt.twilio_http_client)


@register("sms")
def send_sms(rt: Runtime, notification: Notification) -> str | None:
    """Send the notification as one SMS; return Twilio's message SID."""
    sender = rt.settings.twilio_from_number
    if not sender:
        raise DeliveryError("TWILIO_FROM_NUMBER is not set", permanent=True)
    if not notification.address:
        raise DeliveryError("no phone number to send to", permanent=True)
    try:
        message = twilio_client(rt).messages.create(to=notification.address, from_=sender, body=notification.body)
    except TwilioRestException as exc:
        permanent = exc.code in PERMANENT_CODES or (400 <= exc.status < 500 and exc.status != 429)
        raise DeliveryError(f"twilio answered {exc.status} (code {exc.code}): {exc.msg}"[:500], permanent=permanent) from None
    except (TwilioException, OSError) as exc:
        raise DeliveryError(f"twilio unreachable: {exc}"[:500]) from None
    return message.sid
