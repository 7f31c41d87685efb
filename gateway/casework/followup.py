"""The follow-up visit (回访): ask every reporter whether it was solved, read the answer, close or reopen.

One mechanism for every channel: a FollowUp row per reporter, asked by the cron sweep when due,
answered by SMS ("1"/"2"/"3" or the words), by a mail threaded to the question, or by the board
form (retrieval code). A dissatisfied answer reopens the case (重办) to the same lead.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from gateway import outbox
from gateway.clock import utcnow
from gateway.errors import WorkflowError
from gateway.intake.ingest import reporter_of
from gateway.messaging.calls import FIXED_LINE, by_phone, fold_reply, queue_call, script
from gateway.messaging.notify import queue_notification
from gateway.messaging.replies import ReplyTexts, round_reply
from gateway.models import LEAD, Assignment, Case, Department, Event, FollowUp, Notification, Outbox, Report, id_of
from gateway.runtime import Runtime, current

log = logging.getLogger(__name__)

SATISFIED, FAIRLY, DISSATISFIED = "满意", "基本满意", "不满意"
# A follow-up is done when answered, expired (nobody answered in time), or, by phone, when the citizen could not be
# reached after the last attempt (counted apart in the rates) or refused the visit (拒访).
UNREACHABLE, REFUSED = "unreachable", "refused"
DONE = ("answered", "expired", UNREACHABLE, REFUSED)
ANSWERS = {"1": SATISFIED, "2": FAIRLY, "3": DISSATISFIED}
MAX_ANSWER_CHARS = 12  # a longer text is a new message, not an answer
_PUNCT = re.compile(r"[\s\W_]+")
_UNSOLVED = ("未解决", "没有解决", "没解决", "不解决")


def parse_answer(text: str | None) -> tuple[str, bool] | None:
    """Read (satisfaction, solved) from a short answer: 1/2/3 or 满意/基本满意/不满意; None if it is not one."""
    lines = [ln for ln in unicodedata.normalize("NFKC", text or "").splitlines() if ln.strip() and not ln.startswith(">")]
    if not lines:
        return None
    word = _PUNCT.sub("", lines[0])
    if not word or len(word) > MAX_ANSWER_CHARS:
        return None
    if word in ANSWERS:
        satisfaction = ANSWERS[word]
    elif DISSATISFIED in word:
        satisfaction = DISSATISFIED
    elif FAIRLY in word:
        satisfaction = FAIRLY
    elif SATISFIED in word:
        satisfaction = SATISFIED
    else:
        return None
    solved = satisfaction != DISSATISFIED and not any(u in word for u in _UNSOLVED)
    return satisfaction, solved


def sweep() -> dict:
    """Ask the follow-ups that are due; let unanswered ones expire after [schedule] followup_answer_hours."""
    rt = current()
    now = utcnow()
    asked = expired = 0
    with Session(rt.engine, expire_on_commit=False) as session:
        due = session.exec(select(FollowUp).where(FollowUp.status == "pending", FollowUp.ask_at <= now)
                           .order_by(col(FollowUp.id)).limit(500)).all()
        rows: list[Outbox] = []
        for followup in due:
            case = session.get(Case, followup.case_id)
            if case is None or case.status != "replied":
                followup.status = "expired"  # reopened or merged meanwhile: this round is moot
                session.add(followup)
                continue
            if followup.channel == "phone":  # an operator asks, from the call list
                texts = ReplyTexts(session, followup.case_id, round_reply(session, followup.case_id, followup.round).data["text"])
                queue_call(session, dedupe_key=f"followup-{followup.id}", kind="followup", case_id=followup.case_id,
                           report_id=followup.report_id, contact_id=followup.contact_id, followup_id=followup.id,
                           phone=followup.address or "", name=_name(session, followup.report_id),
                           why=by_phone(session, rt, followup.address, followup.contact_id) or FIXED_LINE,
                           attempts=rt.profile.call_policy.attempts,
                           script=script(rt, "call_followup", number=case.number,
                                         reply=texts.for_reporter(followup.report_id, followup.contact_id)))
                fold_reply(session, followup.case_id, followup.address or "")
                followup.status, followup.asked_at = "asked", now
                session.add(followup)
                asked += 1
                continue
            subject = None
            if followup.channel == "email":
                reply = session.exec(select(Notification.subject).where(
                    Notification.case_id == case.id, Notification.kind == "reply",
                    Notification.address == followup.address)).first()
                subject = reply or f"[{case.number}]"
            row = queue_notification(session, dedupe_key=f"followup-{followup.id}", channel=followup.channel,
                                     kind="followup", body=rt.profile.message("followup", number=case.number),
                                     address=followup.address, subject=subject, case_id=case.id,
                                     contact_id=followup.contact_id)
            rows.extend([row] if row else [])
            followup.status, followup.asked_at = "asked", now
            session.add(followup)
            asked += 1
        outbox.commit_and_send(session, rt.broker, rows)
        hours = float(rt.profile.schedule.get("followup_answer_hours", 72))
        # A phone follow-up ends with its call item (answered, refused or unreachable), not by waiting.
        stale = session.exec(select(FollowUp).where(FollowUp.status == "asked", FollowUp.channel != "phone",
                                                    col(FollowUp.asked_at) <= now - timedelta(hours=hours))).all()
        for followup in stale:
            followup.status = "expired"
            session.add(followup)
            expired += 1
        session.commit()
        for case_id in sorted({f.case_id for f in stale}):
            settle(rt, case_id)
    return {"asked": asked, "expired": expired}


def _name(session: Session, report_id: int | None) -> str | None:
    report = session.get(Report, report_id) if report_id is not None else None
    return report.name if report is not None else None


def close_unanswered(rt: Runtime, followup_id: int, status: str, actor: str) -> bool:
    """A phone follow-up that ends without an answer: the citizen was unreachable after the last attempt, or
    refused the visit (拒访). Once (a conditional UPDATE), then the case settles like any other."""
    if status not in (UNREACHABLE, REFUSED):
        raise ValueError(f"status must be {UNREACHABLE} or {REFUSED}")
    with Session(rt.engine, expire_on_commit=False) as session:
        done = session.exec(
            update(FollowUp).where(col(FollowUp.id) == followup_id, col(FollowUp.status).in_(("pending", "asked")))
            .values(status=status, answered_at=utcnow()))
        if not done.rowcount:
            return False
        followup = session.get_one(FollowUp, followup_id)
        session.add(Event(case_id=followup.case_id, kind="followup_" + status, actor=actor,
                          data={"followup_id": followup_id, "channel": followup.channel}))
        session.commit()
        case_id = followup.case_id
    settle(rt, case_id)
    return True


def record(rt: Runtime, followup_id: int, satisfaction: str, solved: bool, text: str, actor: str = "citizen") -> bool:
    """Store one reporter's answer (once: a conditional UPDATE), then close or reopen the case."""
    with Session(rt.engine, expire_on_commit=False) as session:
        done = session.exec(
            update(FollowUp).where(col(FollowUp.id) == followup_id, col(FollowUp.status).in_(("pending", "asked")))
            .values(status="answered", satisfaction=satisfaction, solved=solved, answer_text=text[:500],
                    answered_at=utcnow()))
        if not done.rowcount:
            return False
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        session.add(Event(case_id=followup.case_id, kind="followup_answered", actor=actor, data={
            "followup_id": followup_id, "channel": followup.channel, "satisfaction": satisfaction, "solved": solved}))
        session.commit()
        case_id = followup.case_id
    settle(rt, case_id)
    return True


def settle(rt: Runtime, case_id: int) -> str:
    """Reopen a replied case someone is dissatisfied with; close it when every follow-up is done."""
    with Session(rt.engine, expire_on_commit=False) as session:
        case = session.exec(select(Case).where(Case.id == case_id).with_for_update()).first()
        if case is None or case.status != "replied":
            return case.status if case else "missing"
        latest = session.exec(select(FollowUp.round).where(FollowUp.case_id == case_id)
                              .order_by(col(FollowUp.round).desc())).first()
        rows = session.exec(select(FollowUp).where(FollowUp.case_id == case_id, FollowUp.round == latest)).all()
        unhappy = [f for f in rows if f.status == "answered" and (f.satisfaction == DISSATISFIED or f.solved is False)]
        notes: list[Outbox] = []
        if unhappy:
            notes = _reopen(session, rt, case, unhappy)
        elif rows and all(f.status in DONE for f in rows):
            case.status, case.closed_at = "closed", utcnow()
            session.add(case)
            session.add(Event(case_id=id_of(case), kind="closed", data={
                "why": "lead replied and follow-up done", "round": latest,
                "answered": sum(f.status == "answered" for f in rows), "expired": sum(f.status == "expired" for f in rows),
                "unreachable": sum(f.status == UNREACHABLE for f in rows), "refused": sum(f.status == REFUSED for f in rows)}))
        outbox.commit_and_send(session, rt.broker, notes)
        return case.status


def _reopen(session: Session, rt: Runtime, case: Case, unhappy: list[FollowUp]) -> list[Outbox]:
    """重办: the same lead gets the case again with a new due time; the unhappy reporters are told."""
    from gateway.casework.workflow import assign

    lead = session.exec(select(Assignment).where(Assignment.case_id == case.id, Assignment.role == LEAD,
                                                 Assignment.status == "replied")
                        .order_by(col(Assignment.replied_at).desc())).first()
    case.status, case.updated_at = "reopened", utcnow()
    rows: list[Outbox] = []
    if lead is not None:
        dept = session.get(Department, lead.department_id)
        assert dept is not None
        team = session.exec(select(Assignment.id).where(Assignment.case_id == case.id,
                                                        Assignment.status != "cancelled")).all()
        rows, _ = assign(session, rt, case, [(dept, LEAD)], utcnow(), team=len(team), step="reopened")
        case.status = "reopened"
    session.add(case)
    session.add(Event(case_id=id_of(case), kind="reopened", data={
        "followups": [f.id for f in unhappy], "lead_assignment_id": lead.id if lead else None,
        "due_at": case.due_at.isoformat() if case.due_at else None}))
    for f in unhappy:
        if f.channel == "phone":
            continue  # told on the follow-up call itself, by the operator who recorded the answer
        row = queue_notification(session, dedupe_key=f"reopened-{f.id}", channel=f.channel, kind="reopened",
                                 body=rt.profile.message("followup_reopened", number=case.number), address=f.address,
                                 case_id=case.id, contact_id=f.contact_id)
        rows.extend([row] if row else [])
    return rows


def answer_sms(rt: Runtime, phone: str, text: str) -> tuple[int, str] | None:
    """Record a short SMS answer from a number with an open follow-up: (case id, thanks text), else None."""
    parsed = parse_answer(text)
    if parsed is None:
        return None
    with Session(rt.engine) as session:
        followup = session.exec(select(FollowUp).where(FollowUp.channel == "sms", FollowUp.address == phone,
                                                       FollowUp.status == "asked")
                                .order_by(col(FollowUp.asked_at).desc())).first()
        if followup is None:
            return None
        followup_id, case_id = id_of(followup), followup.case_id
        number = session.get_one(Case, case_id).number
    record(rt, followup_id, *parsed, text=text)
    return case_id, rt.profile.message("followup_thanks", number=number)


def answer_email(rt: Runtime, sender: str | None, in_reply_to: list[str], text: str) -> str | None:
    """Record a mail answering our follow-up question (threaded to it); return the case number, else None."""
    parsed = parse_answer(text)
    if parsed is None or not sender or not in_reply_to:
        return None
    with Session(rt.engine) as session:
        question = session.exec(select(Notification).where(Notification.kind == "followup",
                                                           col(Notification.message_id).in_(in_reply_to))).first()
        if question is None or question.case_id is None:
            return None
        followup = session.exec(select(FollowUp).where(FollowUp.case_id == question.case_id, FollowUp.channel == "email",
                                                       FollowUp.address == sender.lower(), FollowUp.status == "asked")).first()
        if followup is None:
            return None
        followup_id = id_of(followup)
        number = session.get_one(Case, question.case_id).number
    record(rt, followup_id, *parsed, text=text)
    return number


def waiting_board_followup(session: Session, case: Case, report: Report) -> FollowUp | None:
    """The board follow-up of this report's reporter that still waits for an answer, if any."""
    mine = col(FollowUp.report_id) == report.id
    if report.contact_id is not None:
        mine = or_(mine, col(FollowUp.contact_id) == report.contact_id)
    return session.exec(select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.channel == "board", mine,
                                               col(FollowUp.status).in_(("pending", "asked")))
                        .order_by(col(FollowUp.id))).first()


def answer_board(rt: Runtime, number: str, retrieval_code: str, answer: str) -> FollowUp:
    """Record a board or web form answer, authorised by the reporter's own retrieval code: it counts for that
    reporter's follow-up alone."""
    parsed = parse_answer(answer)
    if parsed is None:
        raise ValueError("answer must be 1, 2, 3, 满意, 基本满意 or 不满意")
    with Session(rt.engine, expire_on_commit=False) as session:
        found = reporter_of(session, number, retrieval_code)
        if found is None:
            raise LookupError("no case with this number and retrieval code")
        case, report = found
        followup = waiting_board_followup(session, case, report)
        if followup is None:
            raise WorkflowError(f"case {case.number} has no follow-up waiting for an answer")
    record(rt, id_of(followup), *parsed, text=answer)
    with Session(rt.engine, expire_on_commit=False) as session:
        stored = session.get(FollowUp, followup.id)
        assert stored is not None
        return stored



def case_satisfaction(session: Session, case_ids: list[int]) -> dict[int, str]:
    """The latest answered satisfaction label of each case (for the public board)."""
    from gateway.models import FollowUp

    if not case_ids:
        return {}
    rows = session.exec(
        select(FollowUp.case_id, FollowUp.satisfaction)
        .where(col(FollowUp.case_id).in_(case_ids), FollowUp.status == "answered")
        .order_by(col(FollowUp.answered_at))
    ).all()
    return {case_id: label for case_id, label in rows if label}
