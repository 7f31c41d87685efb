"""Outbound delivery: one sender per channel in an explicit registry; each raises DeliveryError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from gateway.models import Notification
    from gateway.runtime import Runtime


class DeliveryError(Exception):
    """A send failed. permanent=True: retrying cannot help (bad address, opted out); else RQ retries."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# A sender takes the runtime and the notification, sends it, and returns a provider message id (or None).
Sender = Callable[["Runtime", "Notification"], "str | None"]

SENDERS: dict[str, Sender] = {}


def register(channel: str) -> Callable[[Sender], Sender]:
    def wrap(func: Sender) -> Sender:
        SENDERS[channel] = func
        return func

    return wrap


def load_senders() -> dict[str, Sender]:
    """Import the sender modules (each registers itself) and return the registry."""
    from gateway.messaging import send_inapp, send_webhook  # noqa: F401

    for optional in ("gateway.messaging.send_sms", "gateway.messaging.send_email"):
        try:
            __import__(optional)
        except ModuleNotFoundError as exc:
            if exc.name != optional:
                raise
    return SENDERS
