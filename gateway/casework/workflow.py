"""The assignment lifecycle: dispatched -> signed (签收) -> replied, returned (退单), extensions, re-dispatch.

Every function takes the runtime, opens its own session, commits, delivers its outbox rows after
the commit, and raises WorkflowError for an illegal transition. Rows are read FOR UPDATE so two
requests on one assignment take turns (SQLite serializes writers anyway).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session, col, select

from gateway import outbox
from gateway.casework import calendars
from gateway.casework.routing import office
from gateway.casework.sla import due, rule_for
from gateway.clock import as_utc, utcnow
from gateway.errors import WorkflowError
from gateway.messaging.notify import queue_notification
from gateway.models import ASSIST, CLOSED_STATUSES, LEAD, Assignment, Case, Department, Event, Extension, Outbox, id_of
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

ACTIVE = ("dispatched", "signed")

STEP_TITLES = {
    "dispatch": "新派工单", "reminder": "工单即将到期", "overdue": "工单已超期", "chase": "督办函：超期工单",
    "escalate": "超期工单升级督办", "returned": "工单被退回", "overruled": "退单未获同意，请继续办理",
    "extension": "延期申请", "extension_decided": "延期申请已处理", "reopened": "群众不满意，工单重办",
}


def department_note(session: Session, rt: Runtime, case: Case, dept: Department, step: str, key: str,
                    detail: str = "") -> Outbox | None:
    """Queue one notification to one department on its own channel; the key makes it once per step."""
    channel = dept.delivery if dept.delivery in ("email", "webhook", "inapp") else "inapp"
    address = {"email": dept.email, "webhook": dept.webhook}.get(channel, dept.code)
    if not address:
        channel, address = "inapp", dept.code  # misconfigured channel: the workbench still shows it
    title = STEP_TITLES.get(step, step)
    due_text = f"\n办理时限：{as_utc(case.due_at).astimezone(rt.profile.tz):%Y-%m-%d %H:%M}" if case.due_at else ""
    body = f"{title}\n工单号：{case.number}\n{case.title or ''}\n{case.summary}{due_text}\n{detail}".strip()
    return queue_notification(session, dedupe_key=key, channel=channel, kind=step, body=body, address=address,
                              subject=f"[{case.number}] {title}", case_id=case.id, department_id=dept.id)


def assignment_note(session: Session, rt: Runtime, assignment: Assignment, step: str, detail: str = "") -> Outbox | None:
    """Notify the department of an assignment about one step of its current round."""
    case = session.get(Case, assignment.case_id)
    dept = session.get(Department, assignment.department_id)
    assert case is not None and dept is not None
    key = f"dept-{assignment.id}-{assignment.dispatch_count}-{step}"
    return department_note(session, rt, case, dept, step, key, detail)


def office_note(session: Session, rt: Runtime, case: Case, step: str, key: str, detail: str = "") -> Outbox | None:
    """Notify the coordinating office (督办)."""
    code = office(rt.profile)
    dept = session.exec(select(Department).where(Department.code == code)).first() if code else None
    return department_note(session, rt, case, dept, step, key, detail) if dept is not None else None


def calendar_events(session: Session, case: Case, warnings: list[str | None]) -> None:
    """Record an Event for every deadline computed on a provisional year (no notice imported yet)."""
    for warning in dict.fromkeys(w for w in warnings if w):
        session.add(Event(case_id=id_of(case), kind="calendar_provisional", data={"message": warning}))


def assign(session: Session, rt: Runtime, case: Case, departments: list[tuple[Department, str]],
           now: datetime, team: int | None = None, step: str = "dispatch") -> tuple[list[Outbox], str]:
    """Create (or re-activate) one assignment per department with its due time and notify each once.

    ``team`` is how many departments handle the case (it chooses the SLA rule); default: these.
    """
    rule_name, rule = rule_for(rt.profile, case.appeal_type, team or len(departments), case.complexity)
    cal = calendars.current(session, rt)
    rows: list[Outbox] = []
    warnings: list[str | None] = []
    for dept, role in departments:
        deadline = due(now, dept.sla or rule, dept.calendar, cal)
        warnings.append(deadline.warning)
        assignment = session.exec(select(Assignment).where(Assignment.case_id == case.id,
                                                           Assignment.department_id == dept.id)).first()
        if assignment is None:
            assignment = Assignment(case_id=id_of(case), department_id=id_of(dept))
        elif assignment.status in ACTIVE:
            assignment.role = role  # still working on it: its clock runs on, under the case's rule now
            rerule(session, case, assignment, dept, rule_name, rule, cal)
            continue
        else:
            assignment.dispatch_count += 1
        assignment.role, assignment.status, assignment.dispatched_at = role, "dispatched", now
        assignment.due_at, assignment.supervision_level = deadline.at, 0
        assignment.signed_at = assignment.replied_at = assignment.returned_at = None
        assignment.return_reason = assignment.reply_text = None
        assignment.reason = {"sla": rule_name if not dept.sla else "department", "rule": dept.sla or rule,
                             "calendar": dept.calendar, "calendar_provisional": list(deadline.provisional),
                             "case_rule": rule}
        session.add(assignment)
        session.flush()
        rows.extend(r for r in [assignment_note(session, rt, assignment, step)] if r)
    case_due = due(now, rule, "working", cal)
    warnings.append(case_due.warning)
    case.due_at = case_due.at
    calendar_events(session, case, warnings)
    return rows, rule_name


def rerule(session: Session, case: Case, assignment: Assignment, dept: Department, rule_name: str,
           rule: dict[str, Any], cal: Any) -> bool:
    """Move an open assignment to the case's rule when the case became joint or complex (its clock still
    starts at its dispatch); a unit's own SLA stays. An event says from what to what. True when it moved."""
    reason = dict(assignment.reason or {})
    if dept.sla or reason.get("sla") in (rule_name, "department"):
        session.add(assignment)
        return False
    start, before = as_utc(assignment.dispatched_at), assignment.due_at
    deadline = due(start, rule, dept.calendar, cal)
    previous = reason.get("sla")
    reason.update({"sla": rule_name, "rule": rule, "case_rule": rule, "calendar_provisional": list(deadline.provisional)})
    assignment.due_at, assignment.reason, assignment.supervision_level = deadline.at, reason, 0
    session.add(assignment)
    _event(session, case, "rule_changed", "system", assignment_id=assignment.id, department=dept.code,
           before_rule=previous, rule=rule_name, before=as_utc(before).isoformat() if before else None,
           after=deadline.at.isoformat())
    return True


def set_complexity(rt: Runtime, case_id: int, complex_: bool, actor: str) -> Case:
    """The office marks a case especially complex (or not): every open assignment moves to the rule that now
    applies, with an event each."""
    with Session(rt.engine, expire_on_commit=False) as session:
        case = _open_case(session, case_id)
        wanted = "complex" if complex_ else "normal"
        if case.complexity == wanted:
            return case
        case.complexity = wanted
        session.add(case)
        open_ = session.exec(select(Assignment, Department).join(Department).where(
            Assignment.case_id == case.id, col(Assignment.status).in_(ACTIVE))).all()
        team = session.exec(select(Assignment.id).where(Assignment.case_id == case.id,
                                                        Assignment.status != "cancelled")).all()
        rule_name, rule = rule_for(rt.profile, case.appeal_type, len(team), case.complexity)
        cal = calendars.current(session, rt)
        for assignment, dept in open_:
            rerule(session, case, assignment, dept, rule_name, rule, cal)
        if open_:
            case.due_at = due(as_utc(min(a.dispatched_at for a, _ in open_)), rule, "working", cal).at
        _event(session, case, "complexity", actor, complexity=wanted, sla=rule_name)
        _finish(session, rt, [])
        return case


def recompute_deadlines(rt: Runtime, year: int) -> list[int]:
    """After a year's notice is imported: recompute the open assignments whose deadline was provisional for
    that year (and their case's), with an event each; returns their ids."""
    since = datetime(year - 1, 12, 31, tzinfo=timezone.utc)  # a deadline touches a year only if it ends in it
    with Session(rt.engine) as session:
        cal = calendars.current(session, rt)
        rows = session.exec(select(Assignment).where(col(Assignment.status).in_(ACTIVE),
                                                     col(Assignment.due_at) >= since)
                            .order_by(col(Assignment.id))).all()
        changed = []
        for assignment in rows:
            reason = dict(assignment.reason or {})
            if year not in reason.get("calendar_provisional", ()):
                continue
            start, before = as_utc(assignment.dispatched_at), assignment.due_at
            deadline = due(start, reason["rule"], reason.get("calendar"), cal)
            reason["calendar_provisional"] = list(deadline.provisional)
            assignment.due_at, assignment.reason = deadline.at, reason
            session.add(assignment)
            case = session.get(Case, assignment.case_id)
            assert case is not None
            if reason.get("case_rule"):
                case.due_at = due(start, reason["case_rule"], "working", cal).at
                session.add(case)
            dept = session.get(Department, assignment.department_id)
            _event(session, case, "deadline_recomputed", "calendar", assignment_id=assignment.id,
                   department=dept.code if dept else None, notice=year,
                   before=as_utc(before).isoformat() if before else None, after=deadline.at.isoformat())
            changed.append(id_of(assignment))
        session.commit()
    return changed


def _open_case(session: Session, case_id: int) -> Case:
    """The case, locked for this transaction; a closed or merged one is refused."""
    case = session.exec(select(Case).where(Case.id == case_id).with_for_update()).first()
    if case is None:
        raise LookupError(f"case {case_id} does not exist")
    if case.status in CLOSED_STATUSES:
        raise WorkflowError(f"case {case.number} is {case.status}")
    return case


def _assignment(session: Session, assignment_id: int) -> tuple[Assignment, Case]:
    assignment = session.exec(select(Assignment).where(Assignment.id == assignment_id).with_for_update()).first()
    if assignment is None:
        raise LookupError(f"assignment {assignment_id} does not exist")
    case = session.get(Case, assignment.case_id)
    assert case is not None
    return assignment, case


def _finish(session: Session, rt: Runtime, rows: list[Outbox | None]) -> None:
    outbox.commit_and_send(session, rt.broker, rows)


def _event(session: Session, case: Case, kind: str, actor: str, **data: Any) -> None:
    session.add(Event(case_id=id_of(case), kind=kind, actor=actor, data=data))


def sign(rt: Runtime, assignment_id: int, actor: str) -> Assignment:
    """Sign for an assignment (签收); signing again changes nothing."""
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.status == "signed":
            return assignment
        if assignment.status != "dispatched":
            raise WorkflowError(f"assignment {assignment_id} is {assignment.status}; only a dispatched one can be signed")
        assignment.status, assignment.signed_at = "signed", utcnow()
        session.add(assignment)
        _event(session, case, "signed", actor, assignment_id=assignment.id)
        _finish(session, rt, [])
        return assignment


def reply(rt: Runtime, assignment_id: int, text: str, actor: str) -> Assignment:
    """Reply: an assisting unit's reply is input for the lead; the lead's reply is the case's answer to citizens."""
    text = (text or "").strip()
    if not text:
        raise WorkflowError("a reply needs text")
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.status not in ACTIVE:
            raise WorkflowError(f"assignment {assignment_id} is {assignment.status}; it cannot reply")
        if case.status in CLOSED_STATUSES:
            raise WorkflowError(f"case {case.number} is {case.status}")
        now = utcnow()
        assignment.signed_at = assignment.signed_at or now  # replying implies signing
        assignment.status, assignment.replied_at, assignment.reply_text = "replied", now, text
        session.add(assignment)
        rows: list[Outbox | None] = []
        if assignment.role == ASSIST:
            _event(session, case, "assist_input", actor, assignment_id=assignment.id, text=text)
        else:
            inputs = session.exec(select(Assignment).where(Assignment.case_id == case.id, Assignment.role == ASSIST,
                                                           Assignment.status != "cancelled")).all()
            replies = session.exec(select(Event.id).where(Event.case_id == case.id, Event.kind == "replied")).all()
            round_no = len(replies) + 1
            case.status, case.updated_at = "replied", now
            session.add(case)
            _event(session, case, "replied", actor, assignment_id=assignment.id, text=text, round=round_no,
                   assist_inputs=[a.id for a in inputs if a.status == "replied"],
                   assist_missing=[a.id for a in inputs if a.status != "replied"])
            rows.append(outbox.add(session, "send_reply", [case.id, round_no],
                                   f"reply-{case.id}-{round_no}", "deliver"))
        _finish(session, rt, rows)
        return assignment


def return_assignment(rt: Runtime, assignment_id: int, reason: str, actor: str) -> Assignment:
    """Return a case that is not the department's (退单), with a reason, inside the profile's window."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("a return needs a reason")
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.status not in ACTIVE:
            raise WorkflowError(f"assignment {assignment_id} is {assignment.status}; it cannot be returned")
        now = utcnow()
        window = float(rt.profile.sla.get("return_window_hours", 24))
        if now > as_utc(assignment.dispatched_at) + timedelta(hours=window):
            raise WorkflowError(f"the return window of {window:g} hours after dispatch has passed")
        assignment.status, assignment.returned_at, assignment.return_reason = "returned", now, reason
        session.add(assignment)
        if assignment.role == LEAD:
            case.status, case.updated_at = "triage", now  # no lead: the office decides
            session.add(case)
        _event(session, case, "returned", actor, assignment_id=assignment.id, role=assignment.role, reason=reason)
        row = office_note(session, rt, case, "returned", f"office-returned-{assignment.id}-{assignment.dispatch_count}",
                          f"退单理由：{reason}")
        _finish(session, rt, [row])
        return assignment


def overrule_return(rt: Runtime, assignment_id: int, actor: str) -> Assignment:
    """The office refuses a return: the department handles the case after all, with a new due time."""
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.status != "returned":
            raise WorkflowError(f"assignment {assignment_id} is {assignment.status}, not returned")
        dept = session.get(Department, assignment.department_id)
        assert dept is not None
        active = session.exec(select(Assignment).where(Assignment.case_id == case.id,
                                                       col(Assignment.status).in_(ACTIVE))).all()
        if assignment.role == LEAD and any(a.role == LEAD for a in active):
            raise WorkflowError(f"case {case.number} already has another lead")
        reason = assignment.return_reason
        team = session.exec(select(Assignment.id).where(Assignment.case_id == case.id,
                                                        Assignment.status != "cancelled")).all()
        rows, _ = assign(session, rt, case, [(dept, assignment.role)], utcnow(), team=len(team))
        if assignment.role == LEAD:
            case.status = "dispatched"
            session.add(case)
        _event(session, case, "return_overruled", actor, assignment_id=assignment.id, return_reason=reason)
        _finish(session, rt, list(rows))
        return assignment


def redispatch(rt: Runtime, case_id: int, departments: list[tuple[str, str]], actor: str) -> list[Assignment]:
    """The office dispatches (or re-dispatches) a case: exactly one lead; others assist; the rest are cancelled."""
    roles = [role for _, role in departments]
    if roles.count(LEAD) != 1 or any(r not in (LEAD, ASSIST) for r in roles):
        raise WorkflowError("name exactly one lead; every other department assists")
    codes = [code for code, _ in departments]
    if len(set(codes)) != len(codes):
        raise WorkflowError("a department is named twice")
    with Session(rt.engine, expire_on_commit=False) as session:
        case = _open_case(session, case_id)
        found = {d.code: d for d in session.exec(select(Department).where(col(Department.code).in_(codes))).all()}
        unknown = [c for c in codes if c not in found or not found[c].active]
        if unknown:
            raise WorkflowError(f"unknown or inactive departments: {unknown}")
        now = utcnow()
        chosen = {found[c].id for c in codes}
        for old in session.exec(select(Assignment).where(Assignment.case_id == case.id,
                                                         col(Assignment.status).in_(ACTIVE))).all():
            if old.department_id not in chosen:
                old.status = "cancelled"
                session.add(old)
        rows, rule_name = assign(session, rt, case, [(found[c], r) for c, r in departments], now)
        case.status, case.updated_at = "dispatched", now
        case.routing = {**(case.routing or {}), "departments": [{"code": c, "role": r} for c, r in departments],
                        "triage": False,
                        "reasons": [*(case.routing or {}).get("reasons", []), {"rule": "office", "actor": actor}]}
        session.add(case)
        _event(session, case, "redispatched", actor, departments=[{"code": c, "role": r} for c, r in departments],
               sla=rule_name)
        _finish(session, rt, list(rows))
        return list(session.exec(select(Assignment).where(Assignment.case_id == case.id,
                                                          col(Assignment.department_id).in_(chosen))).all())


def request_extension(rt: Runtime, assignment_id: int, until: datetime, reason: str, actor: str) -> Extension:
    """Ask for more time, before the deadline; the office decides."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("an extension request needs a reason")
    until = as_utc(until)
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.status not in ACTIVE:
            raise WorkflowError(f"assignment {assignment_id} is {assignment.status}")
        now = utcnow()
        current_due = as_utc(assignment.due_at) if assignment.due_at else None
        if current_due is not None and now >= current_due:
            raise WorkflowError("the deadline has passed: an extension must be asked for before it")
        if current_due is not None and until <= current_due:
            raise WorkflowError("the requested time is not later than the current deadline")
        pending = session.exec(select(Extension.id).where(Extension.assignment_id == assignment_id,
                                                          Extension.status == "pending")).first()
        if pending is not None:
            raise WorkflowError(f"extension {pending} is still waiting for a decision")
        extension = Extension(assignment_id=assignment_id, requested_until=until, reason=reason, requested_by=actor,
                              requested_at=now)
        session.add(extension)
        session.flush()
        _event(session, case, "extension_requested", actor, assignment_id=assignment_id, extension_id=extension.id,
               until=until.isoformat(), reason=reason)
        row = office_note(session, rt, case, "extension", f"office-extension-{extension.id}", f"申请延期至 {until.isoformat()}：{reason}")
        _finish(session, rt, [row])
        return extension


def decide_extension(rt: Runtime, extension_id: int, approve: bool, actor: str) -> Extension:
    """Approve (the due time moves) or reject an extension request."""
    with Session(rt.engine, expire_on_commit=False) as session:
        extension = session.exec(select(Extension).where(Extension.id == extension_id).with_for_update()).first()
        if extension is None:
            raise LookupError(f"extension {extension_id} does not exist")
        if extension.status != "pending":
            raise WorkflowError(f"extension {extension_id} is already {extension.status}")
        assignment, case = _assignment(session, extension.assignment_id)
        now = utcnow()
        extension.status, extension.decided_by, extension.decided_at = ("approved" if approve else "rejected"), actor, now
        session.add(extension)
        if approve and assignment.status in ACTIVE:
            assignment.due_at = extension.requested_until
            assignment.supervision_level = 0  # the ladder starts again from the new deadline
            session.add(assignment)
        _event(session, case, "extension_decided", actor, extension_id=extension.id, assignment_id=assignment.id,
               approved=bool(approve))
        row = department_note(session, rt, case, session.get_one(Department, assignment.department_id),
                              "extension_decided", f"dept-extension-{extension.id}",
                              "延期已批准" if approve else "延期未批准")
        _finish(session, rt, [row])
        return extension
