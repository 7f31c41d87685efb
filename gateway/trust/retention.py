"""Retention: the one exception to "a Report is immutable". Cases closed longer ago than the city keeps
personal data have their reporters' names, phones, e-mails and addresses masked (in the reports, their raw
payloads, the case, its notifications and follow-ups), their attachments and call recordings' links deleted, and the reporters'
identities forgotten once none of their cases is still kept. Categories, districts, times, counts, units
and replies stay: the statistics do not change. Each case gets an Event; the run an audit entry.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from gateway.clock import utcnow
from gateway.models import CallItem, Case, Contact, Event, FollowUp, Identity, Notification, Report
from gateway.runtime import Runtime
from gateway.trust.privacy import mask_email, mask_name, mask_phone, mask_text, reporter_names

log = logging.getLogger(__name__)

DONE = "retention_masked"  # the Event kind that marks a case as done
PERSONAL_EXTRA = ("reply_to", "to", "envelope", "in_reply_to", "unknown_fields", "source", "reply",
                  "recording_url", "recording_sid")  # a voice message's recording: the caller's own voice


@dataclass
class Outcome:
    cases: list[str] = field(default_factory=list)
    reports: int = 0
    attachments: int = 0
    contacts_forgotten: int = 0


def due(session: Session, cutoff: datetime, limit: int | None = None) -> list[Case]:
    """Closed (or merged) cases whose last change is older than the cutoff and that were not masked yet."""
    done = select(Event.case_id).where(Event.kind == DONE)
    query = (select(Case).where(col(Case.status).in_(("closed", "merged")),
                                func.coalesce(Case.closed_at, Case.updated_at) <= cutoff,
                                col(Case.id).not_in(done))
             .order_by(col(Case.id)))
    return list(session.exec(query.limit(limit) if limit else query).all())


def run(rt: Runtime, older_than_days: int, dry_run: bool = False) -> Outcome:
    """Mask every case due; with dry_run, only say which."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    outcome = Outcome()
    with Session(rt.engine) as session:
        cases = due(session, cutoff)
        outcome.cases = [c.number or str(c.id) for c in cases]
        if dry_run:
            outcome.reports = session.exec(select(func.count()).select_from(Report).where(
                col(Report.case_id).in_([c.id for c in cases]))).one() if cases else 0
            return outcome
        contacts: set[int] = set()
        for case in cases:
            _mask_case(session, rt, case, outcome, contacts)
        session.flush()
        outcome.contacts_forgotten = _forget(session, contacts)
        session.commit()
    return outcome


def _without_places(text: str | None, places: set[str]) -> str | None:
    """The text with the addresses its reporters gave replaced (longest first); other free-text places stay."""
    for place in sorted(places, key=len, reverse=True):
        if text and len(place) >= 4:
            text = text.replace(place, "[地址已清除]")
    return text


def _mask_case(session: Session, rt: Runtime, case: Case, outcome: Outcome, contacts: set[int]) -> None:
    assert case.id is not None
    names = reporter_names(session, [case.id])[case.id]
    reports = session.exec(select(Report).where(Report.case_id == case.id)).all()
    places = {a for a in [case.address, *(r.address for r in reports)] if a}
    places |= {a[len(d):] for a in set(places) for d in [case.district or "", *(r.district or "" for r in reports)]
               if d and a.startswith(d)}  # "江岸区中山大道888号" is written "中山大道888号" too
    mask = lambda text: mask_text(_without_places(text, places), names) or None  # noqa: E731
    files = 0
    for r in reports:
        r.title = mask(r.title)
        r.text = mask(r.text) or ""
        r.name = mask_name(r.name) if r.name else None
        r.phone = mask_phone(r.phone) if r.phone else None
        r.email = mask_email(r.email) if r.email else None
        r.board_user = mask_name(r.board_user) if r.board_user else None
        r.address = r.district
        r.raw = b""
        r.call_id = r.recording_url = None  # the call and its recording lead back to the caller's voice
        r.extra = {k: v for k, v in (r.extra or {}).items() if k not in PERSONAL_EXTRA}
        files += _delete_attachments(rt, r)
        r.attachments = [{"content_type": a.get("content_type"), "size": a.get("size"), "deleted": "retention"}
                         for a in r.attachments or []]
        session.add(r)
        if r.contact_id is not None:
            contacts.add(r.contact_id)
    case.title = mask(case.title)
    case.summary = mask(case.summary) or ""
    case.address = case.district
    session.add(case)
    for note in session.exec(select(Notification).where(Notification.case_id == case.id)).all():
        note.body = mask(note.body) or ""
        note.subject = mask(note.subject)
        note.address = mask(note.address)
        session.add(note)
    for visit in session.exec(select(FollowUp).where(FollowUp.case_id == case.id)).all():
        visit.address = mask(visit.address)
        visit.contact_key = f"{visit.channel}:{visit.id}"
        visit.answer_text = mask(visit.answer_text)
        session.add(visit)
    for item in session.exec(select(CallItem).where(CallItem.case_id == case.id)).all():  # the phone work list
        item.phone, item.name = mask_phone(item.phone), None
        item.script = mask(item.script) or ""
        item.log = [{**entry, "note": mask(entry.get("note")) or ""} for entry in item.log or []]
        session.add(item)
    session.add(Event(case_id=case.id, kind=DONE, actor="retention", data={"reports": len(reports), "attachments": files}))
    outcome.reports += len(reports)
    outcome.attachments += files


def _delete_attachments(rt: Runtime, report: Report) -> int:
    """Delete the report's attachment folder; how many files were in it."""
    folder = Path(rt.settings.data_dir) / "attachments" / str(report.id)
    if not folder.is_dir():
        return 0
    count = sum(1 for item in folder.iterdir() if item.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return count


def _forget(session: Session, contacts: set[int]) -> int:
    """Contacts none of whose reports is on a case still kept: their name masked, their identities deleted."""
    forgotten = 0
    done = select(Event.case_id).where(Event.kind == DONE)
    for contact_id in sorted(contacts):
        kept = session.exec(select(Report.id).where(Report.contact_id == contact_id,
                                                    or_(col(Report.case_id).is_(None), col(Report.case_id).not_in(done)))
                            .limit(1)).first()
        if kept is not None:
            continue  # the same person has a case that is still kept: they stay reachable
        contact = session.get(Contact, contact_id)
        if contact is not None:
            contact.name = mask_name(contact.name) if contact.name else None
            session.add(contact)
        for identity in session.exec(select(Identity).where(Identity.contact_id == contact_id)).all():
            session.delete(identity)
        forgotten += 1
    return forgotten
