"""The caller's history when the phone rings: their open cases, the ones closed lately, and follow-ups that wait.

The number is read as every channel stores it (``dedupe.identity.normalize_phone``: E.164 in the city's
region), so "027-85551234", "(027) 8555 1234" and "+86 27 8555 1234" are one caller. A caller's cases are
those of any report from the contact behind the number (their texts and mails too) or made with the number
itself; a case merged into another counts as the one it was merged into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from dedupe.identity import normalize_phone
from gateway.clock import as_utc, utcnow
from gateway.intake.ingest import resolve_case
from gateway.models import OPEN_STATUSES, Case, FollowUp, Identity, Report
from gateway.runtime import Runtime

RECENT_DAYS = 90  # closed cases shown when closed this recently
LIMIT = 10  # cases shown per list
SCAN = 200  # of a frequent caller's reports, the newest this many are read
WAITING = ("pending", "asked")  # follow-ups not answered yet


@dataclass
class History:
    """What the operator sees as the call comes in."""

    phone: str | None  # E.164; None: not a number
    open: list[Case] = field(default_factory=list)  # newest first
    recent: list[Case] = field(default_factory=list)  # closed within RECENT_DAYS, newest first
    followups: list[tuple[FollowUp, Case]] = field(default_factory=list)  # waiting for the caller's answer


def e164(rt: Runtime, phone: str | None) -> str | None:
    """The number in E.164 as every channel stores it, or None when it is not a number."""
    return normalize_phone(phone, str(rt.profile.city.get("phone_region", "CN"))) if phone else None


def history(session: Session, rt: Runtime, phone: str | None) -> History:
    """The caller's open and recently closed cases and their follow-ups that wait for an answer."""
    number = e164(rt, phone)
    if number is None:
        return History(phone=None)
    contact = session.exec(select(Identity.contact_id).where(Identity.kind == "phone", Identity.value == number)).first()
    theirs = or_(col(Report.phone) == number, col(Report.contact_id) == contact) if contact else col(Report.phone) == number
    case_ids = session.exec(select(Report.case_id).where(theirs).order_by(col(Report.id).desc()).limit(SCAN)).all()
    owner: dict[int, Case] = {}  # a case's id (an absorbed one's too) -> the case it is now
    for case in session.exec(select(Case).where(col(Case.id).in_({i for i in case_ids if i is not None}))).all():
        survivor = resolve_case(session, case)
        if case.id is not None and survivor.id is not None:
            owner[case.id] = owner[survivor.id] = survivor
    newest = sorted({c.id: c for c in owner.values()}.values(), key=lambda c: -(c.id or 0))
    since = utcnow() - timedelta(days=RECENT_DAYS)
    found = History(phone=number, open=[c for c in newest if c.status in OPEN_STATUSES][:LIMIT],
                    recent=[c for c in newest if c.status == "closed" and c.closed_at and as_utc(c.closed_at) >= since
                            ][:LIMIT])
    if owner:
        mine = or_(col(FollowUp.address) == number, col(FollowUp.contact_id) == contact) if contact else (
            col(FollowUp.address) == number)
        waiting = session.exec(select(FollowUp).where(col(FollowUp.case_id).in_(list(owner)), col(FollowUp.status).in_(WAITING),
                                                      mine).order_by(col(FollowUp.ask_at))).all()
        found.followups = [(visit, owner[visit.case_id]) for visit in waiting][:LIMIT]
    return found
