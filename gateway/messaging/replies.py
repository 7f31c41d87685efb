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
from gateway.messaging.calls import by_phone, queue_call, script
from gateway.messaging.notify import queue_notification
from gateway.models import Case, Event, FollowUp, Outbox, Report
from gateway.runtime import Runtime, current
from gateway.trust.privacy import mask_text, reporter_names

log = logging.getLogger(__name__)

BOARD_CHANNELS = ("board", "web", "open311")  # answered on the case's public page (unless private)
PHONE_CHANNELS = ("sms", "hotline", "voice")  # answered by SMS to the number that wrote or called, or by a call:
# a fixed line or a number that opted out of SMS is answered by an operator from the call list (channel "phone")


@dataclass
class Recipient:
    """One reporter on one channel: where the reply and the follow-up go."""

    channel: str  # sms | phone | email | board
    address: str
    report: Report
    subject: str | None = None
    public: bool = True
    why: str | None = None  # channel "phone": why a call instead of an SMS (messaging/calls.py)

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
            why = by_phone(session, rt, report.phone, report.contact_id)
            recipient = Recipient("phone" if why else "sms", report.phone, report, why=why)
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


def round_reply(session: Session, case_id: int, round_no: int) -> Event:
    """The `replied` event of one round: its text and kind."""
    replied = [e for e in session.exec(select(Event).where(Event.case_id == case_id, Event.kind == "replied")).all()
               if e.data.get("round") == round_no]
    if not replied:
        raise LookupError(f"case {case_id} has no reply of round {round_no}")
    return replied[0]


class ReplyTexts:
    """The first reporter gets the reply as written; every other reporter of the matter gets it masked (a unit's
    answer may name the first reporter, their phone or their address)."""

    def __init__(self, session: Session, case_id: int, text: str) -> None:
        self.text = text
        self.masked = mask_text(text, reporter_names(session, [case_id])[case_id])
        first: tuple[int | None, int | None] = session.exec(
            select(Report.id, Report.contact_id).where(Report.case_id == case_id).order_by(col(Report.id)).limit(1)).one()
        self.first_id, self.first_contact = first

    def for_reporter(self, report_id: int | None, contact_id: int | None) -> str:
        own = report_id == self.first_id or (self.first_contact is not None and contact_id == self.first_contact)
        return self.text if own else self.masked


def send_reply(case_id: int, round_no: int) -> dict:
    """Send the lead's reply of one round to every reporter and schedule each one's follow-up (回访)."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise LookupError(f"case {case_id} does not exist")
        replied = round_reply(session, case_id, round_no)
        interim = replied.data.get("reply_kind") == "interim"  # 阶段性答复: told, not yet asked whether it was solved
        # 即时办: answered and closed with the caller on the line; no visit asks again (casework/oncall.py)
        no_visit = interim or bool(replied.data.get("on_call"))
        texts = ReplyTexts(session, case_id, replied.data["text"])
        ask_at = utcnow() + timedelta(hours=float(rt.profile.schedule.get("followup_after_hours", 24)))
        rows: list[Outbox] = []
        people = recipients(session, rt, case)
        for person in people:
            answer = texts.for_reporter(person.report.id, person.report.contact_id)
            key = f"reply-{case.id}-{round_no}-{person.digest}"
            if person.channel == "phone":  # read out by an operator from the call list
                queue_call(session, dedupe_key=key, kind="reply", case_id=case_id, report_id=person.report.id,
                           contact_id=person.report.contact_id, phone=person.address, name=person.report.name,
                           why=person.why or "", attempts=rt.profile.call_policy.attempts,
                           script=script(rt, "call_reply", number=case.number, reply=answer))
            else:
                row = queue_notification(session, dedupe_key=key, channel=person.channel, kind="reply",
                                         body=rt.profile.message("reply", number=case.number, reply=answer),
                                         address=person.address, subject=person.subject, case_id=case.id,
                                         contact_id=person.report.contact_id)
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
