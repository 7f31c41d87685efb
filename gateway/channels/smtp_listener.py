"""The SMTP listener (aiosmtpd): protocol checks here, the work in gateway.channels.mail_inbound.process_message."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.exc import OperationalError

from gateway.channels.mail_inbound import process_message
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


def _process_message(rt: Runtime, envelope_bytes: bytes, mail_from: str | None, rcpt_tos: list[str]) -> str:
    """Ingest one received mail and return the SMTP answer (250 also for a mail kept for a person)."""
    try:
        outcome = process_message(rt, envelope_bytes, mail_from, rcpt_tos, transport="smtp")
    except OperationalError:
        log.exception("database unavailable while receiving mail")
        return "451 4.3.0 Temporary failure, please retry"  # the sending server keeps it and retries
    if outcome.status == "unparsed":
        return f"250 2.0.0 OK: kept for review ({outcome.unparsed_id})"
    return f"250 2.0.0 OK: {outcome.case_number}"


class Handler:
    """aiosmtpd hooks: refuse unknown recipients at RCPT and oversized mail at DATA."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.domains = {d.lower() for d in rt.settings.mail_domains}
        self.max_bytes = rt.settings.mail_max_bytes

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        domain = address.rsplit("@", 1)[-1].lower().strip(">") if "@" in address else ""
        if domain not in self.domains:
            return "550 5.1.1 Recipient not accepted here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data = envelope.original_content or b""
        if len(data) > self.max_bytes:
            return "552 5.3.4 Message too big"
        loop = asyncio.get_running_loop()  # the database work runs off the event loop
        return await loop.run_in_executor(None, _process_message, self.rt, data, envelope.mail_from,
                                          list(envelope.rcpt_tos))


def listener(rt: Runtime, host: str, port: int) -> Controller:
    """An SMTP server on host:port for the gateway's mail domains (start() it, stop() it)."""
    handler = Handler(rt)
    # data_size_limit makes aiosmtpd announce SIZE and stop reading an oversized DATA with 552.
    return Controller(handler, hostname=host, port=port, data_size_limit=handler.max_bytes)
