"""Department webhooks: a JSON POST, signed with the unit's key; 4xx is final, 5xx and network errors are retried.

The signature lets a department's system check that a notice comes from the gateway and was not replayed:
``X-Hotline-Timestamp`` (Unix seconds) and ``X-Hotline-Signature: sha256=<hex>``, the HMAC-SHA256 with the
unit's key (HOTLINE_WEBHOOK_SECRETS) of ``timestamp + "." + body``. The README shows the check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from sqlmodel import Session

from gateway.messaging.senders import DeliveryError, register
from gateway.models import Department, Notification
from gateway.runtime import Runtime


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-Hotline-Signature for a body sent at a timestamp."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def unit_secret(rt: Runtime, department_id: int | None) -> str | None:
    """The signing key of a department (by its code), else the installation's default (`*`), else None."""
    secrets = rt.settings.webhook_secrets
    code = None
    if department_id is not None:
        with Session(rt.engine) as session:
            dept = session.get(Department, department_id)
            code = dept.code if dept else None
    return secrets.get(code or "") or secrets.get("*")


@register("webhook")
def send_webhook(rt: Runtime, notification: Notification) -> str | None:
    if not notification.address:
        raise DeliveryError("department has no webhook URL", permanent=True)
    body = json.dumps({"kind": notification.kind, "subject": notification.subject, "body": notification.body,
                       "case_id": notification.case_id, "notification_id": notification.id}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": notification.dedupe_key}
    secret = unit_secret(rt, notification.department_id)
    if secret:
        stamp = str(int(time.time()))
        headers.update({"X-Hotline-Timestamp": stamp, "X-Hotline-Signature": signature(secret, stamp, body)})
    request = urllib.request.Request(notification.address, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.headers.get("X-Request-Id")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered {exc.code}", permanent=400 <= exc.code < 500 and exc.code != 429) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from None
