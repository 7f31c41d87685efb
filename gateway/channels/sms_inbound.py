"""Inbound SMS after the signature check: keywords, case choice, segments and threading, then the one intake path."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters import sms as sms_adapter
from adapters.base import InboundReport, RawInbound
from dedupe.identity import normalize_phone
from gateway.casework.followup import answer_sms
from gateway.clock import as_utc, utcnow
from gateway.intake.ingest import IngestResult, ingest, resolve_case
from gateway.intake.matching import dedupe_of
from gateway.messaging.acknowledgement import ANSWERED_INLINE, ack_text
from gateway.models import OPEN_STATUSES, Case, Contact, Identity, Report, SmsMessage, id_of
from gateway.runtime import Runtime

MAX_CHOICES = 5


def receive(rt: Runtime, raw: RawInbound) -> str | None:
    """Handle one verified Twilio message; return the text to answer inline (TwiML), or None for silence.

    Raises adapters' Ignored (status callbacks) and AdapterError (unusable forms) to the transport.
    """
    inbound = sms_adapter.parse(raw)
    phone = normalize_phone(inbound.phone, str(rt.profile.city.get("phone_region", "CN")))
    with Session(rt.engine, expire_on_commit=False) as session:
        known = session.exec(select(SmsMessage).where(SmsMessage.sid == inbound.external_id)).first()
        if known is not None:  # Twilio retried a keyword, a choice or a pending message: same answer
            return known.answer or None
        stored = session.exec(select(Report.id).where(Report.channel == "sms",
                                                      Report.external_id == inbound.external_id)).first()
    if stored is not None or phone is None:
        return _answer(rt, _ingest(rt, inbound))
    word = inbound.extra.get("keyword")
    if word:
        return _keyword(rt, inbound, phone, word)
    choice = inbound.extra.get("choice")
    if choice is not None:
        answered = _choose(rt, inbound, phone, int(choice))
        if answered is not None:
            return answered
    followup = answer_sms(rt, phone, inbound.text)  # "1"/"3"/"满意" to a follow-up question is an answer, not a case
    if followup is not None:
        case_id, thanks = followup
        return _record(rt, SmsMessage(sid=str(inbound.external_id), phone=phone, kind="followup", case_id=case_id,
                                      answer=thanks))
    return _route(rt, raw, inbound, phone)


def _ingest(rt: Runtime, inbound: InboundReport) -> IngestResult:
    if rt.settings.sms_ack == "twiml":
        inbound.extra[ANSWERED_INLINE] = True
    return ingest(rt, inbound)


def _answer(rt: Runtime, result: IngestResult) -> str | None:
    """The inline acknowledgement: none for a joined segment, an opted-out sender or REST acknowledgements."""
    if not result.report.extra.get(ANSWERED_INLINE) or result.report.extra.get("sms_link") == "segment":
        return None
    if result.contact is not None:  # resolved in the ingest transaction: no second look-up
        if result.contact.opted_out_sms:
            return None
    elif _opted_out(rt, result.report.contact_id):
        return None
    return ack_text(rt, result.case, result.report, result.report.link)


def _opted_out(rt: Runtime, contact_id: int | None) -> bool:
    if contact_id is None:
        return False
    with Session(rt.engine) as session:
        contact = session.get(Contact, contact_id)
        return bool(contact and contact.opted_out_sms)


def _record(rt: Runtime, row: SmsMessage) -> str | None:
    """Store a non-report message once per MessageSid; a concurrent retry gets the first answer."""
    with Session(rt.engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            first = session.exec(select(SmsMessage).where(SmsMessage.sid == row.sid)).one()
            return first.answer or None
    return row.answer or None


def _contact(session: Session, phone: str) -> Contact:
    """The contact behind a phone number, created when the number is new."""
    identity = session.exec(select(Identity).where(Identity.kind == "phone", Identity.value == phone)).first()
    if identity is not None:
        contact = session.get(Contact, identity.contact_id)
        assert contact is not None
        return contact
    contact = Contact()
    session.add(contact)
    session.flush()
    session.add(Identity(contact_id=id_of(contact), kind="phone", value=phone))
    return contact


def _keyword(rt: Runtime, inbound: InboundReport, phone: str, word: str) -> str | None:
    """STOP/START store the opt-out on the contact; HELP answers the profile's help text."""
    with Session(rt.engine, expire_on_commit=False) as session:
        if session.exec(select(SmsMessage.id).where(SmsMessage.sid == inbound.external_id)).first() is None:
            contact = _contact(session, phone)
            if word in ("STOP", "START"):
                contact.opted_out_sms = word == "STOP"
                session.add(contact)
            try:
                session.commit()
            except IntegrityError:  # a concurrent first message from this number created the identity
                session.rollback()
                return _keyword(rt, inbound, phone, word)
    answer = rt.profile.message({"STOP": "stopped", "START": "started", "HELP": "help"}[word])
    return _record(rt, SmsMessage(sid=str(inbound.external_id), phone=phone, kind="keyword", answer=answer))


def _open_cases(session: Session, rt: Runtime, phone: str, now: datetime) -> list[Case]:
    """The sender's open cases with activity inside the thread window, most recent first."""
    hours = rt.settings.sms_thread_hours
    if hours <= 0:
        return []
    theirs = select(Report.case_id).where(Report.phone == phone)
    cases = session.exec(
        select(Case).where(col(Case.id).in_(theirs), col(Case.status).in_(OPEN_STATUSES),
                           Case.merged_into_id == None,  # noqa: E711
                           Case.last_report_at >= now - timedelta(hours=hours))
        .order_by(col(Case.last_report_at).desc()).limit(MAX_CHOICES)
    ).all()
    return list(cases)


def _route(rt: Runtime, raw: RawInbound, inbound: InboundReport, phone: str) -> str | None:
    """Thread a segment or a text onto the sender's open case, ask when there are several, else open one."""
    now = as_utc(inbound.received_at) if inbound.received_at else utcnow()
    cases: list[Case] = []
    if not inbound.case_ref:
        # (SQLite: a session holds the write lock until closed, so decide here and write after.)
        with Session(rt.engine, expire_on_commit=False) as session:
            seconds = rt.settings.sms_segment_seconds
            previous = session.exec(
                select(Report).where(Report.channel == "sms", Report.phone == phone,
                                     Report.received_at >= now - timedelta(seconds=seconds))
                .order_by(col(Report.received_at).desc())
            ).first() if seconds > 0 else None
            if previous is not None and previous.case_id is not None:
                case = resolve_case(session, session.get_one(Case, previous.case_id))
                inbound.case_ref, inbound.extra["sms_link"] = case.number, "segment"
            else:
                # A text that clearly names another problem or place than an open case is not about it:
                # it goes to dedupe like any report (the same person about another matter: a new case).
                matcher = dedupe_of(rt)
                cases = [c for c in _open_cases(session, rt, phone, now)
                         if not matcher.names_another_matter(session, id_of(c), inbound)]
                if len(cases) == 1:
                    inbound.case_ref, inbound.extra["sms_link"] = cases[0].number, "open_case"
    if len(cases) > 1:
        return _ask(rt, raw, inbound, phone, cases)
    result = _ingest(rt, inbound)
    if result.created and result.report.extra.get("sms_link") == "segment":
        _join_segments(rt, result.case.id)
    return _answer(rt, result)


def _join_segments(rt: Runtime, case_id: int | None) -> None:
    """Rebuild the case summary from its first SMS and the segments joined onto it, in carrier order."""
    with Session(rt.engine) as session:
        case = session.get(Case, case_id)
        reports = session.exec(select(Report).where(Report.case_id == case_id).order_by(col(Report.id))).all()
        if case is None or not reports or reports[0].channel != "sms":
            return
        parts = [reports[0]] + [r for r in reports[1:] if r.extra.get("sms_link") == "segment"]
        case.summary = sms_adapter.segments_join([r.text for r in parts])
        session.add(case)
        session.commit()


def _choice_list(rt: Runtime, cases: list[Case]) -> str:
    items = [f"{i}. {c.number} {(c.title or '')[:12]}".rstrip() for i, c in enumerate(cases, 1)]
    items.append(f"{len(cases) + 1}. {rt.profile.message('new_case_choice')}")
    return rt.profile.message("choose_case", choices="；".join(items))


def _ask(rt: Runtime, raw: RawInbound, inbound: InboundReport, phone: str, cases: list[Case]) -> str | None:
    """Keep the message as pending and ask which case it is about (the choice is stored, not in memory)."""
    answer = _choice_list(rt, cases)
    payload = {"form": {k: list(v) for k, v in raw.form.items()}, "body": raw.body.decode("utf-8", "replace"),
               "received_at": (inbound.received_at or utcnow()).isoformat()}
    row = SmsMessage(sid=str(inbound.external_id), phone=phone, kind="pending", state="pending", form=payload,
                     choices=[c.id for c in cases], answer=answer)
    return _record(rt, row)


def _pending_inbound(row: SmsMessage) -> InboundReport:
    payload: dict[str, Any] = row.form
    raw = RawInbound(channel="sms", body=str(payload.get("body", "")).encode("utf-8"), form=payload.get("form", {}),
                     received_at=datetime.fromisoformat(payload["received_at"]) if payload.get("received_at") else None)
    return sms_adapter.parse(raw)


def _choose(rt: Runtime, inbound: InboundReport, phone: str, choice: int) -> str | None:
    """Attach the sender's pending messages to the case they picked; None when nothing is pending."""
    with Session(rt.engine, expire_on_commit=False) as session:
        pending = list(session.exec(select(SmsMessage).where(SmsMessage.phone == phone, SmsMessage.state == "pending")
                                    .order_by(col(SmsMessage.id))).all())
        if not pending:
            return None
        offered, question = pending[-1].choices, pending[-1].answer
        valid = 1 <= choice <= len(offered) + 1
        target = session.get(Case, offered[choice - 1]) if valid and choice <= len(offered) else None
        number = resolve_case(session, target).number if target is not None else None
    if not valid:  # ask again
        return _record(rt, SmsMessage(sid=str(inbound.external_id), phone=phone, kind="choice", answer=question))
    # Ingest first (idempotent per pending MessageSid), then mark done: a crash in between loses nothing.
    first: IngestResult | None = None
    for row in pending:
        message = _pending_inbound(row)
        message = replace(message, case_ref=number, extra={**message.extra, "sms_link": "chosen"})
        result = _ingest(rt, message)
        first = first or result
        number = number or result.case.number
    assert first is not None
    with Session(rt.engine) as session:
        session.execute(update(SmsMessage).where(col(SmsMessage.id).in_([r.id for r in pending]))
                        .values(state="done", case_id=first.case.id))
        session.commit()
    answer = _answer(rt, first) or ""
    return _record(rt, SmsMessage(sid=str(inbound.external_id), phone=phone, kind="choice", case_id=first.case.id,
                                  answer=answer))
