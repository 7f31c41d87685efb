"""In-app and board delivery: the message is stored; staff see it in the workbench, citizens on the board."""

from __future__ import annotations

from gateway.messaging.senders import register
from gateway.models import Notification
from gateway.runtime import Runtime


@register("inapp")
def send_inapp(rt: Runtime, notification: Notification) -> str | None:
    """Nothing leaves the building: the stored notification is what the department's queue shows."""
    return None


@register("board")
def send_board(rt: Runtime, notification: Notification) -> str | None:
    """The reply is shown on the public board page of the case (unless the post was private)."""
    return None
