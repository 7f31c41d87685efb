"""The case's answer to citizens: the lead's reply goes to every reporter, once per contact and channel."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway import outbox
from gateway.clock import utcnow
from gateway.messaging.acknowledgement import mail_address, mail_subject
from gateway.messaging.notify import queue_notification
from gateway.models import Case, Event, FollowUp, Outbox, Report
from gateway.runtime import Runtime, current
from gateway.trust.privacy import mask_text, reporter_names

log = logging.getLogger(__name__)

BOARD_CHANNELS = ("board", "web", "open311")  # answered on the case's public page (unless private)
PHONE_CHANNELS = ("sms", "hotline")  # answered by SMS to the number that wrote or called


@dataclass
class Recipient:
    """One reporter on one channel: where the reply and the follow-up go."""

    channel: str  # sms | email | board
    address: str
    report: Report
    subject: str | None = None
    public: bool = True

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.address}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]


def recipients(session: Session, rt: Runtime, case: Case) -> list[Recipient]:
    """Every reporter of the case on the channel each used, deduplicated per contact and channel."""
    found: dict[str, Recipient] = {}
    reports = session.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id))).all()
    for report in reports:
        recipient: Recipient | None = None
        if report.channel in PHONE_CHANNELS and report.phone and report.phone.startswith("+"):
            recipient = Recipient("sms", report.phone, report)
        elif report.channel == "email":
            address = mail_address(rt, report)
            if address:
                recipient = Recipient("email", address.lower(), report, subject=mail_subject(case, report))
        elif report.channel in BOARD_CHANNELS:
            who = report.board_user or (f"contact-{report.contact_id}" if report.contact_id else f"report-{report.id}")
            recipient = Recipient("board", who, report, public=report.public and case.public)
        if recipient is not None:
            found.setdefault(recipient.key, recipient)  # the first report of a contact on a channel threads
    return list(found.values())


def send_reply(case_id: int, round_no: int) -> dict:
    """Send the lead's reply of one round to every reporter and schedule each one's follow-up (回访)."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise LookupError(f"case {case_id} does not exist")
        replied = [e for e in session.exec(select(Event).where(Event.case_id == case_id, Event.kind == "replied")).all()
                   if e.data.get("round") == round_no]
        if not replied:
            raise LookupError(f"case {case_id} has no reply of round {round_no}")
        text = replied[0].data["text"]
        interim = replied[0].data.get("reply_kind") == "interim"  # 阶段性答复: told, not yet asked whether it was solved
        # 即时办: answered and closed with the caller on the line; no visit asks again (casework/oncall.py)
        no_visit = interim or bool(replied[0].data.get("on_call"))
        # The first reporter gets the reply as written; every other reporter of the matter gets it masked
        # (a unit's answer may name the first reporter, their phone or their address).
        masked = mask_text(text, reporter_names(session, [case_id])[case_id])
        ask_at = utcnow() + timedelta(hours=float(rt.profile.schedule.get("followup_after_hours", 24)))
        rows: list[Outbox] = []
        people = recipients(session, rt, case)
        first_id, first_contact = session.exec(select(Report.id, Report.contact_id).where(Report.case_id == case.id)
                                               .order_by(col(Report.id)).limit(1)).one()
        for person in people:
            own = person.report.id == first_id or (first_contact is not None and person.report.contact_id == first_contact)
            body = rt.profile.message("reply", number=case.number, reply=text if own else masked)
            row = queue_notification(session, dedupe_key=f"reply-{case.id}-{round_no}-{person.digest}",
                                     channel=person.channel, kind="reply", body=body, address=person.address,
                                     subject=person.subject, case_id=case.id, contact_id=person.report.contact_id)
            rows.extend([row] if row else [])
            if no_visit:
                continue
            try:
                with session.begin_nested():
                    session.add(FollowUp(case_id=case_id, report_id=person.report.id, contact_id=person.report.contact_id,
                                         contact_key=person.key[:400], channel=person.channel, address=person.address,
                                         round=round_no, ask_at=ask_at))
            except IntegrityError:
                pass  # a retried job: this reporter's follow-up is already scheduled
        if not people and case.status == "replied":
            case.status, case.closed_at = "closed", utcnow()
            session.add(case)
            session.add(Event(case_id=case_id, kind="closed", data={"why": "replied; no reporter to follow up"}))
        elif people:
            session.add(Event(case_id=case_id, kind="reply_sent", data={
                "round": round_no, "to": [{"channel": p.channel, "public": p.public} for p in people]}))
        outbox.commit_and_send(session, rt.broker, rows)
        return {"case": case.number, "recipients": len(people)}
