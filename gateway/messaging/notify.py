"""Notifications: recorded once (unique key), sent by a job through the channel's sender, retried per recipient."""

from __future__ import annotations

import functools
import logging
from typing import Any

from rq.timeouts import JobTimeoutException
from sqlmodel import Session, select

from gateway import outbox
from gateway.clock import utcnow
from gateway.db import column_values, insert_rows_ignoring
from gateway.messaging.senders import DeliveryError, load_senders
from gateway.models import Assignment, Contact, Event, Notification, Outbox, table_of
from gateway.runtime import current

log = logging.getLogger(__name__)


# Channels a notification is delivered on by being stored (the department's workbench shows it): it is
# recorded as sent at once, with no delivery job.
STORED = ("inapp",)


def queue_notification(session: Session, *, dedupe_key: str, channel: str, kind: str, body: str,
                       address: str | None = None, subject: str | None = None, case_id: int | None = None,
                       contact_id: int | None = None, department_id: int | None = None) -> Outbox | None:
    """Record a notification and its delivery job in the current transaction; a known key is not sent again."""
    rows = queue_notifications(session, [dict(dedupe_key=dedupe_key, channel=channel, kind=kind, body=body,
                                              address=address, subject=subject, case_id=case_id,
                                              contact_id=contact_id, department_id=department_id)])
    return rows[0] if rows else None


@functools.cache
def _defaults() -> dict[str, Any]:
    """The model's defaults of a notification's columns, built once per process (created_at is set per call)."""
    return column_values(Notification(dedupe_key="", channel="", kind=""))


def queue_notifications(session: Session, notes: list[dict[str, Any]]) -> list[Outbox]:
    """Record notifications (keyword dicts of `queue_notification`) in the current transaction, and a delivery
    job for each one inserted that is not delivered by being stored (`STORED`); a key already recorded, by
    us or a concurrent transaction, inserts nothing and is not sent again.

    One statement for all of them (`insert_rows_ignoring`), and no flush first: the rows the notes name have ids, so they are in the
    database already, and the caller's other pending changes go out with its next flush."""
    if not notes:
        return []
    now = utcnow()
    defaults = _defaults()
    rows = [{**defaults, "created_at": now, **note} for note in notes]
    for row in rows:
        if row["channel"] in STORED:
            row.update(status="sent", sent_at=now, attempts=1)
    table = table_of(Notification)
    inserted = sorted((row_id, channel) for row_id, channel in insert_rows_ignoring(session, table, rows, ("id", "channel")))
    return [outbox.add(session, "deliver", [note_id], f"notify-{note_id}", "deliver")
            for note_id, channel in inserted if channel not in STORED]


# Channels whose receiver recognises a resend (webhook Idempotency-Key, a mail's fixed Message-ID, our own
# tables): a send interrupted by a killed worker is simply repeated. Others (SMS) are not resent blindly.
RESENDABLE = ("webhook", "email", "inapp", "board")


def deliver(notification_id: int) -> str:
    """Send one notification; a temporary failure raises so RQ retries only this one."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        note = session.get(Notification, notification_id)
        if note is None:
            raise LookupError(f"notification {notification_id} does not exist")
        if note.status in ("sent", "skipped", "failed"):
            return note.status
        if note.status == "sending" and note.channel not in RESENDABLE:
            # A worker died between claiming and recording this send: it may have gone out.
            session.commit()
            return give_up(notification_id, "interrupted while sending; not resent to avoid a duplicate (check before resending)")
        if note.channel == "sms" and note.contact_id is not None:
            contact = session.get(Contact, note.contact_id)
            if contact is not None and contact.opted_out_sms and note.kind not in ("optout",):
                note.status, note.error = "skipped", "recipient opted out of SMS"
                session.add(note)
                session.commit()
                return note.status
        sender = load_senders().get(note.channel)
        note.attempts += 1
        note.status = "sending"  # committed before the send: a killed worker leaves this mark behind
        session.add(note)
        session.commit()
        try:
            if sender is None:
                raise DeliveryError(f"no sender for channel {note.channel!r}", permanent=True)
            message_id = sender(rt, note)
        except DeliveryError as exc:
            note.error = str(exc)[:500]
            if exc.permanent:
                session.commit()
                log.warning("notification %s failed for good: %s", note.id, exc)
                return give_up(notification_id, note.error)
            note.status = "pending"
            session.add(note)
            session.commit()
            raise  # RQ retries with backoff
        except JobTimeoutException:
            raise  # the send may have gone out: it stays "sending", like a killed worker's
        except Exception as exc:  # a sender's bug: it did not send; retry after recording why
            note.status, note.error = "pending", f"{type(exc).__name__}: {exc}"[:500]
            session.add(note)
            session.commit()
            raise
        note.status, note.sent_at, note.error = "sent", utcnow(), None
        if message_id:
            note.message_id = message_id
        session.add(note)
        session.commit()
        return note.status


def deliver_failed(args: list[Any], error: str) -> None:
    """The `deliver` job's final handler (gateway.jobs): its retries are used up."""
    give_up(int(args[0]), error)


def give_up(notification_id: int, error: str) -> str:
    """Mark a notification failed for good; a department's shows on its assignment and the case timeline."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        note = session.get(Notification, notification_id)
        if note is None or note.status in ("sent", "skipped"):
            return note.status if note is not None else "missing"
        note.status, note.error = "failed", error[:500]
        session.add(note)
        if note.case_id is not None:
            session.add(Event(case_id=note.case_id, kind="delivery_failed",
                              data={"notification_id": note.id, "channel": note.channel, "kind": note.kind,
                                    "department_id": note.department_id, "error": note.error}))
        if note.case_id is not None and note.department_id is not None:
            assignment = session.exec(select(Assignment).where(Assignment.case_id == note.case_id,
                                                               Assignment.department_id == note.department_id)).first()
            if assignment is not None:
                assignment.delivery_error = f"{note.kind}: {note.error}"[:500]
                session.add(assignment)
        session.commit()
        return note.status
