"""Notifications: recorded once (unique key), sent by a job through the channel's sender, retried per recipient."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway import outbox
from gateway.clock import utcnow
from gateway.delivery import DeliveryError, load_senders
from gateway.models import Contact, Notification, Outbox
from gateway.runtime import current

log = logging.getLogger(__name__)


def queue_notification(session: Session, *, dedupe_key: str, channel: str, kind: str, body: str,
                       address: str | None = None, subject: str | None = None, case_id: int | None = None,
                       contact_id: int | None = None, department_id: int | None = None) -> Outbox | None:
    """Record a notification and its delivery job in the current transaction; a known key is not sent again."""
    if session.exec(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first() is not None:
        return None
    note = Notification(dedupe_key=dedupe_key, channel=channel, kind=kind, body=body, address=address,
                        subject=subject, case_id=case_id, contact_id=contact_id, department_id=department_id)
    try:
        with session.begin_nested():
            session.add(note)
            session.flush()
    except IntegrityError:
        return None  # a concurrent transaction recorded it first
    return outbox.add(session, "gateway.notify.deliver", [note.id], f"notify-{note.id}", "deliver")


def deliver(notification_id: int) -> str:
    """Send one notification; a temporary failure raises so RQ retries only this one."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        note = session.get(Notification, notification_id)
        if note is None:
            raise LookupError(f"notification {notification_id} does not exist")
        if note.status in ("sent", "skipped", "failed"):
            return note.status
        if note.channel == "sms" and note.contact_id is not None:
            contact = session.get(Contact, note.contact_id)
            if contact is not None and contact.opted_out_sms and note.kind not in ("optout",):
                note.status, note.error = "skipped", "recipient opted out of SMS"
                session.add(note)
                session.commit()
                return note.status
        sender = load_senders().get(note.channel)
        note.attempts += 1
        try:
            if sender is None:
                raise DeliveryError(f"no sender for channel {note.channel!r}", permanent=True)
            message_id = sender(rt, note)
        except DeliveryError as exc:
            note.error = str(exc)[:500]
            if exc.permanent:
                note.status = "failed"
                session.add(note)
                session.commit()
                log.warning("notification %s failed for good: %s", note.id, exc)
                return note.status
            session.add(note)
            session.commit()
            raise  # RQ retries with backoff
        note.status, note.sent_at, note.error = "sent", utcnow(), None
        if message_id:
            note.message_id = message_id
        session.add(note)
        session.commit()
        return note.status
