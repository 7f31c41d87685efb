"""Acknowledge a citizen on the channel they used: the one after-ingest hook for SMS and e-mail."""

from __future__ import annotations

from sqlmodel import Session

from gateway.messaging.calls import OPTED_OUT, VOICE, by_phone, queue_call, script
from gateway.messaging.notify import queue_notification
from gateway.models import Case, Outbox, Report, id_of
from gateway.runtime import Runtime

ANSWERED_INLINE = "answered_inline"  # Report.extra key: the transport already answered (TwiML)


def ack_text(rt: Runtime, case: Case, report: Report, link: str) -> str:
    """The acknowledgement text: the case number and this reporter's own retrieval code, or 'added to case N'
    for a follow-up of the same reporter (who has a code already)."""
    if link in ("thread", "same_person"):
        return rt.profile.message("ack_threaded", number=case.number, code=report.retrieval_code)
    return rt.profile.message("ack", number=case.number, code=report.retrieval_code)


def mail_address(rt: Runtime, report: Report) -> str | None:
    """Where a mail acknowledgement may go, or None: never to auto-generated mail, lists, bounces or ourselves."""
    if report.extra.get("auto_generated"):
        return None
    reply_to = report.extra.get("reply_to") or []
    address = (reply_to[0] if reply_to else None) or report.email
    if not address or "@" not in address:
        return None
    domains = {d.lower() for d in rt.settings.mail_domains}
    if address.rsplit("@", 1)[1].lower() in domains or address.lower() == rt.settings.mail_from.lower():
        return None  # our own address: answering would start a loop
    return address


def mail_subject(case: Case, report: Report) -> str:
    """The subject of a mail to a citizen about a case: the case number, answering their subject."""
    title = (report.title or "").strip()
    subject = f"[{case.number}] {title}" if title else f"[{case.number}]"
    if title and not title.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return subject[:300]


def after_ingest(session: Session, rt: Runtime, case: Case, report: Report, link: str) -> list[Outbox]:
    """Queue the acknowledgement of a newly stored SMS or e-mail report (replays never reach this hook); a voice
    message, and an SMS from a number that cannot be texted back, get an item on the operators' call list."""
    if report.channel in ("sms", "voice") and report.phone and report.phone.startswith("+"):
        why = VOICE if report.channel == "voice" else by_phone(session, rt, report.phone, report.contact_id)
        # An opted-out sender's inline answer is withheld (sms_inbound): the call list acknowledges instead.
        if why in (VOICE, OPTED_OUT) or (why and not report.extra.get(ANSWERED_INLINE)):
            key = "call_callback" if why == VOICE else "call_ack"
            queue_call(session, dedupe_key=f"ack-{report.id}", kind="callback" if why == VOICE else "ack",
                       case_id=id_of(case), report_id=report.id, contact_id=report.contact_id, phone=report.phone,
                       name=report.name, why=why, attempts=rt.profile.call_policy.attempts,
                       script=script(rt, key, number=case.number, code=report.retrieval_code))
            return []
    if report.extra.get(ANSWERED_INLINE):
        return []
    if report.channel == "sms" and report.phone and report.phone.startswith("+"):
        row = queue_notification(session, dedupe_key=f"ack-{report.id}", channel="sms", kind="ack",
                                 body=ack_text(rt, case, report, link), address=report.phone, case_id=case.id,
                                 contact_id=report.contact_id)
        return [row] if row else []
    if report.channel == "email":
        address = mail_address(rt, report)
        if address is None:
            return []
        row = queue_notification(session, dedupe_key=f"ack-{report.id}", channel="email", kind="ack",
                                 body=ack_text(rt, case, report, link), address=address, subject=mail_subject(case, report),
                                 case_id=case.id, contact_id=report.contact_id)
        return [row] if row else []
    return []
