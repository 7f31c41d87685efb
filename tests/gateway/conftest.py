"""Mail test peers: a real local SMTP relay (aiosmtpd) that records what the gateway sends."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

from bench.common import free_port


class Recorder:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[dict[str, Any]]:
    """A running SMTP relay on a free loopback port; yields its URL and the recorder."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield {"url": f"smtp://127.0.0.1:{port}", "recorder": recorder, "messages": recorder.messages}
    controller.stop()
