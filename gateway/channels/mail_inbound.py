"""Inbound e-mail, whatever carried it (webhook, SMTP, IMAP): one adapter, the one intake path, or quarantine."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters import email as email_adapter
from adapters.base import AdapterError, InboundReport, RawInbound
from gateway.casework.followup import answer_email
from gateway.clock import utcnow
from gateway.intake import quarantine
from gateway.intake.ingest import ingest
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# Delivery reports: no citizen wrote them; a person looks at them instead of a department.
BOUNCE_REASONS = ("multipart/report", "empty Return-Path", "From mailer-daemon", "From postmaster", "From mail-daemon", "empty envelope sender")


@dataclass
class MailOutcome:
    """What became of one inbound mail."""

    status: str  # created | replay | unparsed | followup
    case_number: str | None = None
    unparsed_id: int | None = None
    error: dict[str, str] | None = None


def too_large(rt: Runtime, size: int) -> bool:
    return size > rt.settings.mail_max_bytes


def process_report(rt: Runtime, inbound: InboundReport, body: bytes, headers: dict[str, str]) -> MailOutcome:
    """Ingest a parsed mail, or keep a bounce raw for a person: bounces never become cases or get answers."""
    reason = str(inbound.extra.get("auto_generated") or "")
    if reason.startswith(BOUNCE_REASONS):
        return keep(rt, body, headers, f"delivery report ({reason})")
    number = answer_email(rt, inbound.email, list(inbound.in_reply_to or []), inbound.text)
    if number is not None:  # an answer to our follow-up question: recorded there, not a new report
        return MailOutcome("followup", case_number=number)
    result = ingest(rt, inbound)
    return MailOutcome("created" if result.created else "replay", case_number=result.case.number)


def keep(rt: Runtime, body: bytes, headers: dict[str, str], error: str,
         field: str = "body") -> MailOutcome:
    """Store a mail we cannot make a report of, raw, in the Unparsed table."""
    row_id = quarantine.keep(rt, "email", RawInbound(channel="email", body=body, headers=headers), error)
    log.warning("mail kept as unparsed #%s: %s", row_id, error)
    return MailOutcome("unparsed", unparsed_id=row_id, error={"field": field, "message": error})


def process_message(rt: Runtime, data: bytes, mail_from: str | None, rcpt_tos: list[str],
                    transport: str = "smtp") -> MailOutcome:
    """Turn raw RFC 5322 bytes into a report on a case, or keep them raw; never raises for bad input."""
    headers = {"transport": transport, "mail_from": mail_from or "", "rcpt_tos": ",".join(rcpt_tos)}
    if too_large(rt, len(data)):
        return keep(rt, data, headers, f"message too large ({len(data)} bytes)")
    try:
        inbound = email_adapter.parse(RawInbound(channel="email", body=data, received_at=utcnow()),
                                      max_bytes=rt.settings.mail_max_bytes)
    except AdapterError as exc:
        return keep(rt, data, headers, exc.message, exc.field)
    inbound.extra["envelope"] = {"transport": transport, "mail_from": mail_from or "", "rcpt_tos": list(rcpt_tos)}
    if mail_from is not None and mail_from.strip("<> ") == "" and not inbound.extra.get("auto_generated"):
        inbound.extra["auto_generated"] = "empty envelope sender"
    if inbound.received_at is None:
        inbound.received_at = utcnow()
    return process_report(rt, inbound, data, headers)
