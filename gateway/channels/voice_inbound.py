"""Voice messages through Twilio, without a menu (GB/T 33358-2016 advises against IVR menus on government hotlines):
the greeting for the moment of the call, the recorded message stored as a report through the one create path
(acknowledged by a call-back on the operators' call list), and its words added when they come.

Transcription is a pluggable step (`HOTLINE_VOICE_TRANSCRIPTION`): `none`, and an operator listens to the recording
from the call-back item and types what was said; `twilio`, and Twilio's transcription callback brings the text.
Either way `add_transcript` puts the words on the report, and dedupe runs then (its case was opened without words,
so nothing could be compared), unless a person already handled the case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from adapters import voice as voice_adapter
from adapters.base import RawInbound
from gateway.casework import calendars
from gateway.casework.merging import merge_found
from gateway.clock import as_utc, utcnow
from gateway.intake.ingest import IngestResult, ingest, resolve_case
from gateway.intake.matching import as_match, dedupe_of
from gateway.models import Assignment, Case, Event, MergeRecord, Report, id_of
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# Case states in which the office or a unit has not yet acted: the words may still move the message to its case.
UNTOUCHED = ("new", "triage", "dispatched")
SYSTEM_STEPS = ("call_made", "transcript_added")  # a call-back or the words themselves are not handling the case


def greeting_key(session: Session, rt: Runtime, now: datetime | None = None) -> str:
    """The profile message to greet a caller with: a holiday, outside the profile's calling hours, or the usual."""
    calendar = calendars.current(session, rt)
    policy = rt.profile.call_policy
    local = as_utc(now or utcnow()).astimezone(rt.profile.tz)
    if calendar.is_holiday(local.date()):
        return "voice_holiday"
    if not calendar.is_working_day(local.date()) or not policy.start <= local.time() < policy.end:
        return "voice_after_hours"
    return "voice_greeting"


def receive_recording(rt: Runtime, raw: RawInbound) -> IngestResult:
    """Store the recorded message (one report per CallSid: a retried callback answers the same); the
    acknowledgement hook puts the call-back on the operators' call list. Raises the adapter's errors."""
    return ingest(rt, voice_adapter.parse(raw))


@dataclass
class TranscriptOutcome:
    case_number: str
    added: bool  # False: the report had its words already (a retried callback, or a second source)
    dedupe: str  # attach | propose | new | skipped (a person handled the case) | none (no words)


def handled(session: Session, case: Case) -> bool:
    """Whether a person already acted on the case: it moved past dispatch, was merged, a unit signed or answered,
    or staff did anything recorded on its timeline (other than the call-back and the words themselves)."""
    if case.status not in UNTOUCHED or case.merged_into_id is not None or case.report_count > 1:
        return True
    acted = session.exec(select(Assignment.id).where(Assignment.case_id == case.id,
                                                     col(Assignment.acknowledged_at).is_not(None)).limit(1)).first()
    if acted is not None:
        return True
    return session.exec(select(Event.id).where(Event.case_id == case.id, Event.actor != "system",
                                               col(Event.kind).not_in(SYSTEM_STEPS)).limit(1)).first() is not None


def add_transcript(rt: Runtime, call_sid: str, text: str, source: str, actor: str = "system") -> TranscriptOutcome:
    """Put a voice message's words on its report (once), then run dedupe unless a person handled the case."""
    text = (text or "").strip()[: rt.settings.max_text_chars]
    with Session(rt.engine, expire_on_commit=False) as session:
        report = session.exec(select(Report).where(Report.channel == "voice", Report.external_id == call_sid)
                              .with_for_update()).first()
        if report is None or report.case_id is None:
            raise LookupError(f"no voice message for call {call_sid}")
        case = resolve_case(session, session.get_one(Case, report.case_id))
        if report.text or not text:
            return TranscriptOutcome(str(case.number), added=False, dedupe="none")
        report.text = text
        report.extra = {**report.extra, "transcript": {"source": source, "at": utcnow().isoformat(), "by": actor}}
        session.add(report)
        own = case.id == report.case_id and case.report_count == 1
        if own and not case.summary:  # the case was this message alone: it now reads as what was said
            case.summary, case.title = text, text[:40]
            session.add(case)
        outcome = "skipped" if handled(session, case) else _dedupe(session, rt, case, report)
        case = resolve_case(session, case)  # the case it joined, when dedupe folded it in
        session.add(Event(case_id=id_of(case), kind="transcript_added", actor=actor,
                          data={"report_id": report.id, "source": source, "dedupe": outcome}))
        session.commit()
        number = case.number
    return TranscriptOutcome(str(number), added=True, dedupe=outcome)


def _dedupe(session: Session, rt: Runtime, case: Case, report: Report) -> str:
    """The matcher over the message's words, its own case left out; an automatic match folds the message's case
    into the matched one (an undoable merge), a grey-zone one is proposed to the office."""
    dedupe = dedupe_of(rt)
    dedupe.rebuild_case(session, id_of(case))  # the words are the case's features from now on
    match = as_match(dedupe.decide(session, report, exclude=[id_of(case)]))
    report.decision = {"action": match.action, "case_id": match.case_id, "rule": match.rule, "score": match.score,
                       "reasons": match.reasons, "after": "transcript"}
    session.add(report)
    if match.case_id is None or match.action not in ("attach", "propose"):
        return "new"
    if match.action == "propose":
        session.add(MergeRecord(survivor_case_id=match.case_id, absorbed_case_id=id_of(case), report_id=report.id,
                                status="proposed", origin="auto", score=match.score, rule=match.rule,
                                reasons=match.reasons))
        return "propose"
    merge_found(session, match.case_id, id_of(case), match.reasons, match.rule, match.score)
    return "attach"


def transcribed(rt: Runtime, raw: RawInbound) -> dict[str, Any]:
    """Twilio's transcription callback: the words, or a failure noted on the case for a person to listen."""
    found = voice_adapter.parse_transcription(raw)
    if found.status != "completed" or not found.text:
        with Session(rt.engine) as session:
            report = session.exec(select(Report).where(Report.channel == "voice",
                                                       Report.external_id == found.call_sid)).first()
            if report is None or report.case_id is None:
                raise LookupError(f"no voice message for call {found.call_sid}")
            session.add(Event(case_id=report.case_id, kind="transcript_failed", data={"report_id": report.id}))
            session.commit()
        return {"status": "failed"}
    outcome = add_transcript(rt, found.call_sid, found.text, "twilio")
    return {"status": "added" if outcome.added else "known", "case": outcome.case_number, "dedupe": outcome.dedupe}
