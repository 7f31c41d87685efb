"""THE create path: every channel's InboundReport becomes a stored Report on a Case here."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.appeal import Guess
from adapters.appeal import infer as infer_appeal
from adapters.base import InboundReport
from adapters.case_number import find_case_ref
from dedupe.identity import normalize_board_user, normalize_email, normalize_phone
from gateway import outbox
from gateway.clock import as_utc, utcnow
from gateway.db import insert_new
from gateway.intake import attachments
from gateway.models import Case, Contact, Event, Identity, Notification, Outbox, Report, id_of
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# The channels whose citizen names no appeal type: the type is guessed from the text (adapters/appeal.py).
# A hotline ticket and the operator's form carry the type the operator chose; it is never guessed over.
INFERRED_CHANNELS = ("board", "web", "sms", "email", "open311")


@dataclass
class Match:
    """What the dedupe seam decided for a new report: attach to a case, or propose a merge."""

    action: str  # attach | propose | new (kept for the record: score and reasons of the nearest case)
    case_id: Optional[int]
    rule: str
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


# The dedupe seam: a function (session, runtime, report, contact) -> Match | None.
Matcher = Callable[[Session, Runtime, Report, Optional[Contact]], Optional[Match]]
# A matter settled as it is stored (the operator's 即时办): (session, the new case, its report) -> outbox rows,
# written in the same transaction instead of the dispatch.
Resolver = Callable[[Session, Case, Report], list[Outbox]]


@dataclass
class IngestResult:
    case: Case
    report: Report
    created: bool  # False: a replay of a report we already had
    link: str  # new | replay | thread | same_person | same_problem
    contact: Optional[Contact] = None  # the reporter as resolved by this ingest (None for a replay)


def ingest(rt: Runtime, inbound: InboundReport, *, actor: str = "system", attach_to: int | None = None,
           resolve: Resolver | None = None) -> IngestResult:
    """Store a report, link its reporter, attach it to a case or open one, and enqueue the follow-up work.

    ``attach_to``: a case a member of staff chose (the operator's "attach"); never taken from a payload.
    ``resolve``: the matter was settled on the call (即时办): the report opens a case of its own (no dedupe:
    nobody else's matter is closed by it), which ``resolve`` answers and closes instead of dispatching it.

    One transaction, one commit: a replay is looked up first; the report row is written once, with
    its contact and case (a concurrent delivery of the same report fails on the unique key there and
    answers as a replay); the outbox rows are claimed in the same commit and sent to Redis after it.
    """
    # Photos are thumbnailed before the transaction: no database lock waits on an image decoder.
    thumbs = attachments.thumbnails(inbound.attachments[: rt.settings.max_attachments], rt.settings.max_attachment_bytes)
    with Session(rt.engine, expire_on_commit=False) as session:
        report = _report_row(rt, inbound)
        if report.external_id is not None:
            known = session.exec(select(Report).where(Report.channel == report.channel,
                                                      Report.external_id == report.external_id)).first()
            if known is not None:
                return _replayed(session, known)
        contact = resolve_contact(session, report)
        report.contact_id = contact.id if contact else None
        case, link, match = (None, "new", None) if resolve else _find_case(session, rt, report, contact, attach_to)
        if case is None:
            case = open_case(session, rt, report)
            link = "new"
        else:
            _attach(session, case, report, link, match)
        report.case_id = case.id
        report.link = link
        if match is not None:
            report.decision = {"action": match.action, "case_id": match.case_id, "rule": match.rule,
                               "score": match.score, "reasons": match.reasons}
        session.add(report)
        try:
            session.flush()
        except IntegrityError:
            # A concurrent delivery of the same report won the race after our look-up.
            session.rollback()
            return _replay(session, inbound)
        assert report.id is not None
        kept = inbound.attachments[: len(report.attachments)]
        if report.attachments:  # the files' places name the report id
            report.attachments = attachments.plan(report.id, kept, rt.settings.max_attachment_bytes, thumbs)
        jobs = outbox.claim(_follow_up_jobs(session, rt, case, report, link, resolve))
        if rt.dedupe_index is not None:  # keep the dedupe index current
            rt.dedupe_index(session, rt, case, report)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return _replay(session, inbound)
        attachments.write(rt.settings.data_dir, report.attachments, kept, thumbs)
        outbox.send_claimed(rt.engine, rt.broker, jobs)
        return IngestResult(case=case, report=report, created=True, link=link, contact=contact)


def _report_row(rt: Runtime, inbound: InboundReport) -> Report:
    region = str(rt.profile.city.get("phone_region", "CN"))
    received = as_utc(inbound.received_at) if inbound.received_at else utcnow()
    case_ref = inbound.case_ref or find_case_ref(f"{inbound.title or ''}\n{inbound.text}", rt.profile.code)
    extra = dict(inbound.extra)
    if case_ref:
        extra["case_ref"] = case_ref
    if inbound.in_reply_to:
        extra["in_reply_to"] = list(inbound.in_reply_to)
    for key in ("urgency", "complexity", "appeal_type"):
        if getattr(inbound, key):
            extra.setdefault(key, getattr(inbound, key))
    guess = guess_appeal_type(rt, inbound)
    if guess is not None:  # marked, so that everyone can tell the citizen's word from ours
        extra.update(appeal_type_inferred=True, appeal_type_confidence=guess.confidence,
                     appeal_type_cues=list(guess.cues))
    text, defects = inbound.text, list(inbound.defects)
    max_text = rt.settings.max_text_chars
    if len(text) > max_text:  # the whole message stays in raw
        text = text[:max_text]
        defects.append(f"text cut at {max_text} characters")
    files = list(inbound.attachments)
    max_files = rt.settings.max_attachments
    if len(files) > max_files:
        defects.append(f"{len(files) - max_files} attachments over the limit of {max_files} not kept")
        files = files[:max_files]
    report = Report(
        retrieval_code=new_retrieval_code(),
        channel=inbound.channel,
        external_id=_bounded_id(inbound.external_id),
        title=(inbound.title or None) and inbound.title[:300],
        text=text,
        received_at=received,
        name=None if inbound.anonymous else inbound.name,
        phone=normalize_phone(inbound.phone, region) or (inbound.phone or None),
        email=normalize_email(inbound.email),
        board_user=normalize_board_user(inbound.board_user),
        address=inbound.address,
        district=inbound.district,
        lat=inbound.lat,
        lon=inbound.lon,
        category_hint=inbound.category_hint,
        appeal_type=inbound.appeal_type or (guess.appeal_type if guess else None),
        addressed_unit=inbound.addressed_unit,
        public=inbound.public if inbound.public is not None else rt.profile.public_by_default(inbound.channel),
        message_id=inbound.message_id,
        call_id=inbound.call_id,
        recording_url=inbound.recording_url,
        attachments=[
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
            for a in files
        ],
        defects=defects,
        extra=extra,
        raw=inbound.raw or b"",
    )
    report.defects.extend(f"{name} cut to its column's length" for name in clip(report))
    return report


def guess_appeal_type(rt: Runtime, inbound: InboundReport) -> Guess | None:
    """The appeal type guessed from a report's words, for a channel whose citizen names none; None when the report
    has its own type, comes by the hotline, the profile's `[city] infer_appeal_type` is off, or nothing points."""
    if inbound.appeal_type or inbound.channel not in INFERRED_CHANNELS or not rt.profile.infer_appeal_type:
        return None
    return infer_appeal(inbound.title, inbound.text, rt.profile.appeal_aliases)


def _bounded_id(external_id: str | None) -> str | None:
    """An external id that fits its column; a longer one keeps a digest so distinct ids stay distinct."""
    if external_id is None:
        return None
    external_id = external_id.replace("\x00", "")  # as clip() stores it: a replay must find it
    if len(external_id) <= 200:
        return external_id
    return f"{external_id[:180]}#{hashlib.sha256(external_id.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


def clip(row: Any) -> list[str]:
    """Fit a row's strings to their columns: no NUL characters, no more than the column's length.

    PostgreSQL refuses both (SQLite takes them), so without this a stray byte was a 500 on one
    database only. Returns the names of the columns that were cut.
    """
    cut = []
    for column in row.__table__.columns:
        value = getattr(row, column.name, None)
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            value = value.replace("\x00", "")
            setattr(row, column.name, value)
        length = getattr(column.type, "length", None)
        if length and len(value) > length:
            setattr(row, column.name, value[:length])
            cut.append(column.name)
    return cut


def _replay(session: Session, inbound: InboundReport) -> IngestResult:
    report = session.exec(
        select(Report).where(Report.channel == inbound.channel, Report.external_id == _bounded_id(inbound.external_id))
    ).one()
    return _replayed(session, report)


def _replayed(session: Session, report: Report) -> IngestResult:
    case = session.get(Case, report.case_id)
    assert case is not None
    return IngestResult(case=resolve_case(session, case), report=report, created=False, link="replay")


def identities_of(report: Report) -> list[tuple[str, str]]:
    pairs = []
    if report.phone and report.phone.startswith("+"):
        pairs.append(("phone", report.phone))
    if report.email:
        pairs.append(("email", report.email))
    if report.board_user:
        pairs.append(("board", report.board_user))
    return pairs


def resolve_contact(session: Session, report: Report) -> Contact | None:
    """Find the contact behind any of the report's identities, link the others to it, or create one."""
    pairs = identities_of(report)
    if not pairs:
        return None
    rows = session.exec(
        select(Identity.kind, Identity.value, Contact).join(Contact, col(Contact.id) == Identity.contact_id)
        .where(col(Identity.value).in_([v for _, v in pairs]))
    ).all()
    known = [(kind, value, contact) for kind, value, contact in rows if (kind, value) in pairs]
    if known:
        contact = min((c for _, _, c in known), key=id_of)
    else:
        contact = Contact(name=report.name)
        session.add(contact)
        session.flush()
    have = {(kind, value) for kind, value, _ in known}
    new = [{"contact_id": contact.id, "kind": kind, "value": value, "created_at": utcnow()}
           for kind, value in pairs if (kind, value) not in have]
    # A concurrent request may link one first: the contact found first keeps it.
    insert_new(session, Identity, new)
    if report.name and not contact.name:
        contact.name = report.name
        session.add(contact)
    return contact


def resolve_case(session: Session, case: Case) -> Case:
    """Follow merge pointers to the surviving case."""
    seen = set()
    while case.merged_into_id is not None and case.id not in seen:
        seen.add(case.id)
        nxt = session.get(Case, case.merged_into_id)
        if nxt is None:
            break
        case = nxt
    return case


def find_by_number(session: Session, number: str) -> Case | None:
    case = session.exec(select(Case).where(Case.number == number.strip().upper())).first()
    return resolve_case(session, case) if case else None


def reporter_of(session: Session, number: str, code: str) -> tuple[Case, Report] | None:
    """The case a number leads to and the report whose own retrieval code ``code`` is, when the two agree
    (an absorbed case's number leads to the case it was merged into, where its reports now are)."""
    case = find_by_number(session, number) if number and number.strip() else None
    code = (code or "").strip().upper()
    if case is None or not code:
        return None
    for report in session.exec(select(Report).where(Report.retrieval_code == code)).all():
        owner = session.get(Case, report.case_id) if report.case_id is not None else None
        if owner is not None and resolve_case(session, owner).id == case.id:
            return case, report
    return None


def _find_case(session: Session, rt: Runtime, report: Report, contact: Contact | None, attach_to: int | None
               ) -> tuple[Case | None, str, Match | None]:
    if attach_to is not None:
        chosen = session.get(Case, attach_to)
        if chosen is not None:
            return resolve_case(session, chosen), "thread", None
    # A quoted number or a reply to our mail threads only for a reporter the case already has, or one who
    # quotes a retrieval code of the case with it; from anyone else it is an ordinary report that dedupe
    # judges (a case number is no secret: numbers are sequential and public on the board).
    ref = report.extra.get("case_ref")
    if ref:
        case = find_by_number(session, ref)
        if case is not None and (reported_by(session, case, contact) or quotes_a_code(session, case, report)):
            return case, "thread", None
    refs = report.extra.get("in_reply_to") or []
    if refs:
        sent = session.exec(
            select(Notification).where(col(Notification.message_id).in_(refs))
        ).first()
        if sent is not None and sent.case_id is not None:
            case = session.get(Case, sent.case_id)
            if case is not None and reported_by(session, resolve_case(session, case), contact):
                return resolve_case(session, case), "thread", None
    matcher: Matcher | None = rt.matcher
    # A report without words (a voice message before its transcript) has nothing to compare yet: dedupe runs when
    # its words come (gateway/channels/voice_inbound.add_transcript).
    if matcher is not None and not (report.channel == "voice" and not report.text.strip()):
        match = matcher(session, rt, report, contact)
        if match is not None and match.action == "attach" and match.case_id is not None:
            case = session.get(Case, match.case_id)
            if case is not None:
                return resolve_case(session, case), match.rule, match
        if match is not None:
            return None, "new", match
    return None, "new", None


def reported_by(session: Session, case: Case, contact: Contact | None) -> bool:
    """Whether the contact has a report on the case (merged cases' reports live on the survivor)."""
    if contact is None or contact.id is None or opened_here(session, case.id):
        return False
    return session.exec(select(Report.id).where(Report.case_id == case.id, Report.contact_id == contact.id)
                        .limit(1)).first() is not None


def quotes_a_code(session: Session, case: Case, report: Report) -> bool:
    """Whether the report's text carries the retrieval code of one of the case's reports."""
    said = f"{report.title or ''}\n{report.text}".upper()
    codes = session.exec(select(Report.retrieval_code).where(Report.case_id == case.id)).all()
    return any(code and code in said for code in codes)


OPENED_CASES = "intake_opened_cases"  # Session.info key: ids of the cases this session's transaction created


def opened_here(session: Session, case_id: int | None) -> bool:
    """Whether this session created the case (so no row of the case's own can exist yet)."""
    return case_id in session.info.get(OPENED_CASES, ())


def new_retrieval_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(6))


def open_case(session: Session, rt: Runtime, report: Report) -> Case:
    now = utcnow()
    case = Case(
        title=report.title or report.text[:40],
        summary=report.text,
        appeal_type=report.appeal_type,
        category=_category_code(rt, report.category_hint),
        district=report.district,
        address=report.address,
        lat=report.lat,
        lon=report.lon,
        channel=report.channel,
        public=report.public,
        urgency=report.extra.get("urgency"),
        complexity=report.extra.get("complexity") or "normal",
        created_at=now,
        updated_at=now,
        last_report_at=report.received_at,
    )
    clip(case)
    session.add(case)
    session.flush()
    assert case.id is not None
    session.info.setdefault(OPENED_CASES, set()).add(case.id)
    local = now.astimezone(rt.profile.tz)
    case.number = f"{rt.profile.code}{local:%Y%m%d}-{case.id:06d}"
    session.add(case)
    session.add(Event(case_id=case.id, kind="created", data={"channel": report.channel, "report_external_id": report.external_id}))
    if report.extra.get("appeal_type_inferred"):  # the deadline rule will rest on a guess: the timeline says so
        session.add(Event(case_id=case.id, kind="appeal_type_inferred", data={
            "appeal_type": report.appeal_type, "confidence": report.extra.get("appeal_type_confidence"),
            "cues": report.extra.get("appeal_type_cues", [])}))
    return case


def _category_code(rt: Runtime, hint: str | None) -> str | None:
    """The profile's category code for a hint given by code or by Chinese name (Case.category holds codes)."""
    category = rt.profile.category(hint)
    return category.code if category else None


def _attach(session: Session, case: Case, report: Report, link: str, match: Match | None) -> None:
    known = report.contact_id is not None and session.exec(
        select(Report.id).where(Report.case_id == case.id, Report.contact_id == report.contact_id).limit(1)
    ).first() is not None
    if not known:  # a reporter the case did not have
        case.reporter_count += 1
    case.report_count += 1
    case.updated_at = utcnow()
    case.last_report_at = max(as_utc(case.last_report_at), report.received_at)
    if case.status == "closed" and link in ("thread", "same_person"):
        case.status = "reopened"
        case.closed_at = None
    session.add(case)
    data: dict[str, Any] = {"channel": report.channel, "link": link}
    if match is not None:
        data.update(rule=match.rule, score=match.score, reasons=match.reasons)
    session.add(Event(case_id=id_of(case), kind="report_attached", data=data))


def _follow_up_jobs(session: Session, rt: Runtime, case: Case, report: Report, link: str,
                    resolve: Resolver | None = None) -> list:
    """The work that must happen after commit: dispatch a new case (or settle it), acknowledge the citizen."""
    jobs = []
    if resolve is not None:
        jobs.extend(resolve(session, case, report))
    elif link == "new":
        jobs.append(outbox.dispatch_job(session, id_of(case)))
    if rt.after_ingest is not None:
        jobs.extend(rt.after_ingest(session, rt, case, report, link))
    return jobs
