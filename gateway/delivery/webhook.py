"""Department webhooks: a JSON POST; 4xx is final, 5xx and network errors are retried."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from gateway.delivery import DeliveryError, register
from gateway.models import Notification
from gateway.runtime import Runtime


@register("webhook")
def send_webhook(rt: Runtime, notification: Notification) -> str | None:
    if not notification.address:
        raise DeliveryError("department has no webhook URL", permanent=True)
    body = json.dumps({"kind": notification.kind, "subject": notification.subject, "body": notification.body,
                       "case_id": notification.case_id, "notification_id": notification.id}, ensure_ascii=False).encode()
    request = urllib.request.Request(notification.address, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "Idempotency-Key": notification.dedupe_key})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.headers.get("X-Request-Id")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered {exc.code}", permanent=400 <= exc.code < 500 and exc.code != 429) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from None
