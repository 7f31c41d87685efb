"""The assignment lifecycle: dispatched -> signed (签收) -> replied, returned (退单), extensions, re-dispatch.

Every function takes the runtime, opens its own session, commits, delivers its outbox rows after
the commit, and raises WorkflowError for an illegal transition. Rows are read FOR UPDATE so two
requests on one assignment take turns (SQLite serializes writers anyway).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session, col, select

from gateway import outbox
from gateway.casework import calendars
from gateway.casework.routing import office
from gateway.casework.sla import DEFAULT_ACKNOWLEDGE, DEFAULT_RULES, acknowledge_rule, clocks, due, rule_for
from gateway.clock import as_utc, utcnow
from gateway.errors import WorkflowError
from gateway.messaging import knowledge
from gateway.messaging.notify import queue_notification, queue_notifications
from gateway.models import (
    ASSIST,
    CLOSED_STATUSES,
    LEAD,
    SUB,
    Assignment,
    Case,
    Department,
    Event,
    Extension,
    Outbox,
    Reply,
    id_of,
)
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

ACTIVE = ("dispatched", "signed")

STEP_TITLES = {
    "dispatch": "新派工单", "reminder": "工单即将到期", "overdue": "工单已超期", "chase": "督办函：超期工单",
    "escalate": "超期工单升级督办", "returned": "工单被退回", "overruled": "退单未获同意，请继续办理",
    "extension": "延期申请", "extension_decided": "延期申请已处理", "reopened": "群众不满意，工单重办",
    "suspension": "挂起申请", "ack_overdue": "工单回告超时", "reply_review": "答复待审核", "reply_returned": "答复未通过审核",
}


def department_note(session: Session, rt: Runtime, case: Case, dept: Department, step: str, key: str,
                    detail: str = "") -> Outbox | None:
    """Queue one notification to one department on its own channel; the key makes it once per step."""
    return queue_notification(session, **department_note_values(rt, case, dept, step, key, detail))


def department_note_values(rt: Runtime, case: Any, dept: Department, step: str, key: str,
                           detail: str = "", due_at: datetime | None = None) -> dict[str, Any]:
    """The notification `department_note` queues, as keywords of `queue_notification` (`case`: a Case or a row
    with its id, number, title, summary and due_at). ``due_at``: the unit's own deadline, which the note gives
    instead of the case's (a new assignment's)."""
    channel = dept.delivery if dept.delivery in ("email", "webhook", "inapp") else "inapp"
    address = {"email": dept.email, "webhook": dept.webhook}.get(channel, dept.code)
    if not address:
        channel, address = "inapp", dept.code  # misconfigured channel: the workbench still shows it
    title = STEP_TITLES.get(step, step)
    due_at = due_at or case.due_at
    due_text = f"\n办理时限：{as_utc(due_at).astimezone(rt.profile.tz):%Y-%m-%d %H:%M}" if due_at else ""
    body = f"{title}\n工单号：{case.number}\n{case.title or ''}\n{case.summary}{due_text}\n{detail}".strip()
    return dict(dedupe_key=key, channel=channel, kind=step, body=body, address=address,
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
    dept = office_department(session, rt)
    return department_note(session, rt, case, dept, step, key, detail) if dept is not None else None


def office_department(session: Session, rt: Runtime) -> Department | None:
    """The coordinating office's department row, when the profile names one."""
    code = office(rt.profile)
    return session.exec(select(Department).where(Department.code == code)).first() if code else None


def provisional_events(case_id: int, warnings: list[str | None]) -> list[dict[str, Any]]:
    """An event's columns for every deadline computed on a provisional year (no notice imported yet), once each."""
    return [{"case_id": case_id, "kind": "calendar_provisional", "data": {"message": warning}}
            for warning in dict.fromkeys(w for w in warnings if w)]


def calendar_events(session: Session, case: Case, warnings: list[str | None]) -> None:
    """Record an Event for every deadline computed on a provisional year (no notice imported yet)."""
    for values in provisional_events(id_of(case), warnings):
        session.add(Event(**values))


@dataclass
class Round:
    """What a (re-)dispatch decides before it writes: the case's SLA rule, each department's new round
    (`new_round`'s columns), the case's own deadline, and the calendar's warnings about all of them."""

    rule_name: str
    rule: dict[str, Any]
    ack_rule: dict[str, Any]
    cal: Any
    rounds: list[dict[str, Any]]  # one per department, in the order given
    case_due: datetime
    warnings: list[str | None]


def plan_round(rt: Runtime, cal: Any, case: Any, departments: list[tuple[Department, str]], now: datetime,
               team: int | None = None) -> Round:
    """The rule and the clocks of a round for these departments (``case``: a Case, or a row with its appeal type,
    complexity and urgency). ``team`` is how many departments handle the case (it chooses the SLA rule);
    default: these. Computes; writes nothing."""
    rule_name, rule = rule_for(rt.profile, case.appeal_type, team or len(departments), case.complexity, case.urgency)
    ack_rule = acknowledge_rule(rt.profile, rule_name)
    rounds, warnings = [], []
    for dept, role in departments:
        values, clock_warnings = new_round(dept, role, now, rule_name, rule, ack_rule, cal)
        rounds.append(values)
        warnings.extend(clock_warnings)
    case_due = due(now, rule, "working", cal)
    warnings.append(case_due.warning)
    return Round(rule_name, rule, ack_rule, cal, rounds, case_due.at, warnings)


def assign(session: Session, rt: Runtime, case: Case, departments: list[tuple[Department, str]],
           now: datetime, team: int | None = None, step: str = "dispatch") -> tuple[list[Outbox], str]:
    """Create (or re-activate) one assignment per department with its due time and notify each once.

    ``team`` is how many departments handle the case (it chooses the SLA rule); default: these. A case's
    first dispatch by the router takes `gateway.casework.dispatch`'s path, on the same plan.
    """
    plan = plan_round(rt, calendars.for_deadlines(session, rt), case, departments, now, team)
    rows: list[Outbox] = []
    known = {a.department_id: a for a in session.exec(select(Assignment).where(
        Assignment.case_id == case.id, col(Assignment.department_id).in_([id_of(d) for d, _ in departments])))}
    notify: list[tuple[Assignment, Department]] = []
    for (dept, role), values in zip(departments, plan.rounds):
        assignment = known.get(id_of(dept))
        if assignment is None:
            assignment = Assignment(case_id=id_of(case), department_id=id_of(dept))
        elif assignment.status in ACTIVE:
            assignment.role = role  # still working on it: its clock runs on, under the case's rule now
            rerule(session, case, assignment, dept, plan.rule_name, plan.rule, plan.cal, plan.ack_rule)
            continue
        else:
            assignment.dispatch_count += 1
        for name, value in values.items():
            setattr(assignment, name, value)
        session.add(assignment)
        notify.append((assignment, dept))
    if notify:
        session.flush()  # one flush gives the new assignments their ids, which the notifications' keys name
        rows.extend(queue_notifications(session, [
            department_note_values(rt, case, dept, step, f"dept-{a.id}-{a.dispatch_count}-{step}", due_at=a.due_at)
            for a, dept in notify]))
    case.due_at = plan.case_due
    calendar_events(session, case, plan.warnings)
    return rows, plan.rule_name


def new_round(dept: Department, role: str, now: datetime, rule_name: str, rule: dict[str, Any],
              ack_rule: dict[str, Any], cal: Any) -> tuple[dict[str, Any], list[str | None]]:
    """The columns an assignment's new round sets (dispatched ``now``, both clocks from ``now``, the reason they
    say what they say) and the calendar's warnings about them: a first dispatch's row, or a re-dispatch's."""
    ack, deadline = clocks(now, dept.sla or rule, ack_rule, dept.calendar, cal)
    values = {"role": role, "status": "dispatched", "dispatched_at": now, "due_at": deadline.at,
              "supervision_level": 0, "ack_due_at": ack.at, "ack_level": 0, "acknowledged_at": None,
              "suspended_at": None, "suspended_until": None, "signed_at": None, "replied_at": None,
              "returned_at": None, "return_reason": None, "reply_text": None,
              "reason": {"sla": rule_name if not dept.sla else "department", "rule": dept.sla or rule,
                         "calendar": dept.calendar,
                         "calendar_provisional": sorted(set(deadline.provisional) | set(ack.provisional)),
                         "case_rule": rule, "acknowledge": ack_rule}}
    return values, [ack.warning, deadline.warning]


def rerule(session: Session, case: Case, assignment: Assignment, dept: Department, rule_name: str,
           rule: dict[str, Any], cal: Any, ack_rule: dict[str, Any] | None = None) -> bool:
    """Move an open assignment to the case's rule when the case became joint or complex (its clock still
    starts at its dispatch); a unit's own SLA stays. An event says from what to what. True when it moved."""
    reason = dict(assignment.reason or {})
    if dept.sla or reason.get("sla") in (rule_name, "department"):
        session.add(assignment)
        return False
    start, before = as_utc(assignment.dispatched_at), assignment.due_at
    ack_rule = ack_rule or reason.get("acknowledge") or DEFAULT_ACKNOWLEDGE["single"]
    ack, deadline = clocks(start, rule, ack_rule, dept.calendar, cal)
    previous = reason.get("sla")
    reason.update({"sla": rule_name, "rule": rule, "case_rule": rule, "acknowledge": ack_rule,
                   "calendar_provisional": sorted(set(deadline.provisional) | set(ack.provisional))})
    assignment.due_at, assignment.reason, assignment.supervision_level = _resumed(assignment, deadline.at), reason, 0
    if assignment.acknowledged_at is None:
        assignment.ack_due_at = _resumed(assignment, ack.at)
    session.add(assignment)
    _event(session, case, "rule_changed", "system", assignment_id=assignment.id, department=dept.code,
           before_rule=previous, rule=rule_name, before=as_utc(before).isoformat() if before else None,
           after=deadline.at.isoformat())
    return True


def set_complexity(rt: Runtime, case_id: int, complex_: bool, actor: str) -> Case:
    """The office marks a case especially complex (or not): every open assignment moves to the rule that now
    applies, with an event each."""
    return _set_flag(rt, case_id, "complexity", "complex" if complex_ else "normal", actor)


def set_urgency(rt: Runtime, case_id: int, urgent: bool, actor: str) -> Case:
    """The office marks a case urgent (紧急, or not): every open assignment moves to the rule that now applies."""
    return _set_flag(rt, case_id, "urgency", "urgent" if urgent else "normal", actor)


def _set_flag(rt: Runtime, case_id: int, field: str, wanted: str, actor: str) -> Case:
    with Session(rt.engine, expire_on_commit=False) as session:
        case = _open_case(session, case_id)
        if (getattr(case, field) or "normal") == wanted:
            return case
        setattr(case, field, wanted)
        session.add(case)
        open_ = session.exec(select(Assignment, Department).join(Department).where(
            Assignment.case_id == case.id, col(Assignment.status).in_(ACTIVE))).all()
        team = session.exec(select(Assignment.id).where(Assignment.case_id == case.id,
                                                        Assignment.status != "cancelled")).all()
        rule_name, rule = rule_for(rt.profile, case.appeal_type, len(team), case.complexity, case.urgency)
        cal = calendars.for_deadlines(session, rt)
        for assignment, dept in open_:
            if assignment.role == SUB:
                continue  # a sub-unit's clocks stay inside its unit's, which moves
            rerule(session, case, assignment, dept, rule_name, rule, cal, acknowledge_rule(rt.profile, rule_name))
        if open_:
            case.due_at = due(as_utc(min(a.dispatched_at for a, _ in open_)), rule, "working", cal).at
        _event(session, case, field, actor, **{field: wanted}, sla=rule_name)
        _finish(session, rt, [])
        return case


def recompute_deadlines(rt: Runtime, year: int) -> list[int]:
    """After a year's notice is imported: recompute the open assignments whose deadline was provisional for
    that year (and their case's), with an event each; returns their ids."""
    since = datetime(year - 1, 12, 31, tzinfo=timezone.utc)  # a deadline touches a year only if it ends in it
    calendars.wait_for_deadline_writers(rt.engine)  # deadlines computed on the calendar before the notice
    with Session(rt.engine) as session:
        cal = calendars.for_deadlines(session, rt)  # another year's import waits for this one
        rows = session.exec(select(Assignment).where(col(Assignment.status).in_(ACTIVE),
                                                     col(Assignment.due_at) >= since)
                            .order_by(col(Assignment.id))).all()
        changed = []
        for assignment in rows:
            reason = dict(assignment.reason or {})
            if year not in reason.get("calendar_provisional", ()):
                continue
            start, before = as_utc(assignment.dispatched_at), assignment.due_at
            ack_rule = reason.get("acknowledge") or DEFAULT_ACKNOWLEDGE["single"]
            ack, deadline = clocks(start, reason["rule"], ack_rule, reason.get("calendar"), cal)
            reason["calendar_provisional"] = sorted(set(deadline.provisional) | set(ack.provisional))
            if not _extended(session, assignment):
                assignment.due_at = _resumed(assignment, deadline.at)
            if assignment.acknowledged_at is None:
                assignment.ack_due_at = _resumed(assignment, ack.at)
            assignment.reason = reason
            session.add(assignment)
            case = session.get(Case, assignment.case_id)
            assert case is not None
            if reason.get("case_rule"):
                case.due_at = due(start, reason["case_rule"], "working", cal).at
                session.add(case)
            dept = session.get(Department, assignment.department_id)
            _event(session, case, "deadline_recomputed", "calendar", assignment_id=assignment.id,
                   department=dept.code if dept else None, notice=year,
                   before=as_utc(before).isoformat() if before else None, after=iso_or_none(assignment.due_at),
                   ack_after=iso_or_none(assignment.ack_due_at))
            changed.append(id_of(assignment))
        session.commit()
    return changed


def iso_or_none(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def _resumed(assignment: Assignment, at: datetime) -> datetime:
    """A clock computed from the dispatch, moved on by the time the assignment has been paused (挂起)."""
    return at + timedelta(seconds=assignment.suspended_seconds or 0)


def _extended(session: Session, assignment: Assignment) -> bool:
    """Whether the office approved more time (延期): then 办结 is that, not the rule's."""
    return session.exec(select(Extension.id).where(Extension.assignment_id == assignment.id, Extension.kind == "extension",
                                                   Extension.status == "approved",
                                                   col(Extension.decided_at) >= assignment.dispatched_at)).first() is not None


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


def _active(session: Session, assignment_id: int) -> tuple[Assignment, Case]:
    """The assignment and its case, locked, when the unit is still working on it (dispatched or signed)."""
    assignment, case = _assignment(session, assignment_id)
    if assignment.status not in ACTIVE:
        raise WorkflowError(f"assignment {assignment_id} is {assignment.status}")
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
        assignment.acknowledged_at = assignment.acknowledged_at or assignment.signed_at  # 回告: signing answers
        session.add(assignment)
        _event(session, case, "signed", actor, assignment_id=assignment.id)
        _finish(session, rt, [])
        return assignment


# Reply types (答复类型): the label citizens and the office see; every one but 阶段性答复 completes the assignment.
REPLY_KINDS = {"final": "办结答复", "interim": "阶段性答复", "not_accepted": "不予受理", "out_of_scope": "不属于受理范围",
               "explanation": "解释说明"}
NEEDS_REASON = ("not_accepted", "out_of_scope")


def reply(rt: Runtime, assignment_id: int, text: str, actor: str, kind: str = "final", reason: str | None = None,
          until: datetime | None = None) -> Assignment:
    """Reply: an assisting unit's reply is input for the lead; the lead's reply is the case's answer to citizens,
    at once, or once the office approved it when the profile's `[city] review_replies` is on. A 阶段性答复
    (interim) keeps the assignment open until ``until``, its new 办结; 不予受理 / 不属于受理范围 need a reason."""
    text, reason = (text or "").strip(), (reason or "").strip() or None
    if not text:
        raise WorkflowError("a reply needs text")
    if kind not in REPLY_KINDS:
        raise WorkflowError(f"unknown reply type {kind!r}; expected one of {', '.join(REPLY_KINDS)}")
    if kind in NEEDS_REASON and not reason:
        raise WorkflowError(f"a {REPLY_KINDS[kind]} reply needs a reason")
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.status not in ACTIVE:
            raise WorkflowError(f"assignment {assignment_id} is {assignment.status}; it cannot reply")
        if case.status in CLOSED_STATUSES:
            raise WorkflowError(f"case {case.number} is {case.status}")
        now = utcnow()
        if kind == "interim" and (until is None or as_utc(until) <= now):
            raise WorkflowError("an interim reply needs the date of the final one, in the future")
        if session.exec(select(Reply.id).where(Reply.assignment_id == assignment.id, Reply.status == "pending")).first():
            raise WorkflowError("a reply of this assignment is still waiting for the office's review")
        assignment.signed_at = assignment.signed_at or now  # replying implies signing
        assignment.acknowledged_at = assignment.acknowledged_at or now  # ... and answers
        if assignment.suspended_at is not None:  # the reply ends a pause: its time is counted
            _unpause(assignment, now)
        review = assignment.role == LEAD and bool(rt.profile.city.get("review_replies"))
        row = Reply(case_id=id_of(case), assignment_id=id_of(assignment), department_id=assignment.department_id,
                    role=assignment.role, kind=kind if assignment.role == LEAD else "final", text=text, reason=reason,
                    until=as_utc(until) if until else None, written_by=actor, written_at=now,
                    status="pending" if review else "approved" if assignment.role == LEAD else "input")
        session.add(row)
        session.flush()
        _written(session, assignment, row, now)
        if row.kind != "interim":
            _close_sub_units(session, case, assignment, actor)
        rows: list[Outbox | None] = []
        if assignment.role == SUB:
            _event(session, case, "sub_input", actor, assignment_id=assignment.id, text=text, reply_id=row.id,
                   parent_assignment_id=assignment.parent_assignment_id)
        elif assignment.role == ASSIST:
            _event(session, case, "assist_input", actor, assignment_id=assignment.id, text=text, reply_id=row.id)
        elif review:
            _event(session, case, "reply_submitted", actor, assignment_id=assignment.id, reply_id=row.id, reply_kind=kind)
            rows.append(office_note(session, rt, case, "reply_review", f"office-review-{row.id}",
                                    f"{REPLY_KINDS[kind]}待审核：{text[:200]}"))
        else:
            rows.extend(_publish(session, case, assignment, row, actor, now))
        _finish(session, rt, rows)
        return assignment


def _written(session: Session, assignment: Assignment, row: Reply, now: datetime) -> None:
    """The assignment as the reply leaves it: answered (all types but interim), or open until the stated date."""
    if row.kind == "interim":
        assignment.status = "signed"
        if row.until is not None and (assignment.due_at is None or as_utc(assignment.due_at) < row.until):
            assignment.due_at, assignment.supervision_level = row.until, 0  # 办结 is the promised date now
    else:
        assignment.status, assignment.replied_at, assignment.reply_text = "replied", now, row.text
    session.add(assignment)


def citizen_text(row: Reply) -> str:
    """What citizens read: the unit's text, with its type when it is not a plain 办结答复, and the reason."""
    if row.kind == "final":
        return row.text
    reason = f"（理由：{row.reason}）" if row.reason else ""
    return f"【{REPLY_KINDS[row.kind]}】{row.text}{reason}"


def _publish(session: Session, case: Case, assignment: Assignment, row: Reply, actor: str,
             now: datetime) -> list[Outbox | None]:
    """The lead's reply goes to the citizens: a new round, an Event, the send_reply job."""
    inputs = session.exec(select(Assignment).where(Assignment.case_id == case.id, Assignment.role == ASSIST,
                                                   Assignment.status != "cancelled")).all()
    replies = session.exec(select(Event.id).where(Event.case_id == case.id, Event.kind == "replied")).all()
    round_no = len(replies) + 1
    row.round, row.status = round_no, "approved"
    session.add(row)
    knowledge.add_reply(session, case, row)  # the operators' knowledge base (masked; answers to a matter only)
    case.status, case.updated_at = ("in_progress" if row.kind == "interim" else "replied"), now
    session.add(case)
    _event(session, case, "replied", actor, assignment_id=assignment.id, text=citizen_text(row), round=round_no,
           reply_kind=row.kind, reply_id=row.id,
           assist_inputs=[a.id for a in inputs if a.status == "replied"],
           assist_missing=[a.id for a in inputs if a.status != "replied"])
    return [outbox.add(session, "send_reply", [case.id, round_no], f"reply-{case.id}-{round_no}", "deliver")]


def review_reply(rt: Runtime, reply_id: int, approve: bool, actor: str, comment: str = "") -> Reply:
    """The office's review (审核) of a lead's reply: approved, it goes to the citizens; sent back, the unit
    writes it again (the comment says why) and its assignment is open again."""
    comment = (comment or "").strip()
    if not approve and not comment:
        raise WorkflowError("a reply sent back needs a comment for the unit")
    with Session(rt.engine, expire_on_commit=False) as session:
        row = session.exec(select(Reply).where(Reply.id == reply_id).with_for_update()).first()
        if row is None:
            raise LookupError(f"reply {reply_id} does not exist")
        if row.status != "pending":
            raise WorkflowError(f"reply {reply_id} is {row.status}, not waiting for review")
        assignment, case = _assignment(session, row.assignment_id)
        now = utcnow()
        row.reviewed_by, row.reviewed_at, row.review_comment = actor, now, comment or None
        rows: list[Outbox | None] = []
        if approve:
            rows.extend(_publish(session, case, assignment, row, actor, now))
        else:
            row.status = "returned"
            session.add(row)
            if assignment.status == "replied":
                assignment.status, assignment.replied_at, assignment.reply_text = "signed", None, None
                session.add(assignment)
            _event(session, case, "reply_returned", actor, assignment_id=assignment.id, reply_id=row.id,
                   reason=comment)
            dept = session.get(Department, assignment.department_id)
            assert dept is not None
            rows.append(department_note(session, rt, case, dept, "reply_returned", f"dept-review-{row.id}",
                                        f"答复未通过审核：{comment}"))
        _finish(session, rt, rows)
        return row


def sub_units(session: Session, department_id: int) -> list[Department]:
    """Every active unit under a department (its children, their children ...), by code."""
    found: list[Department] = []
    level = [department_id]
    while level:
        children = session.exec(select(Department).where(col(Department.parent_id).in_(level), Department.active)
                                .order_by(col(Department.code))).all()
        found.extend(children)
        level = [d.id for d in children if d.id is not None]
    return found


def pass_on(rt: Runtime, assignment_id: int, codes: list[str], actor: str, note: str = "") -> list[Assignment]:
    """A unit passes its assignment on to sub-units (街道, 处室): each gets its own assignment whose two clocks
    end no later than the unit's own; the unit keeps its assignment, sees their progress and answers for them
    (their replies are its input)."""
    if not codes:
        raise WorkflowError("name at least one sub-unit to pass the assignment on to")
    with Session(rt.engine, expire_on_commit=False) as session:
        parent, case = _active(session, assignment_id)
        allowed = {d.code: d for d in sub_units(session, parent.department_id)}
        unknown = [c for c in codes if c not in allowed]
        if unknown:
            raise WorkflowError(f"not sub-units of this unit: {', '.join(unknown)}")
        now = utcnow()
        if parent.status == "dispatched":  # passing it on is taking it up
            parent.status, parent.signed_at = "signed", now
            session.add(parent)
        cal = calendars.for_deadlines(session, rt)
        reason = dict(parent.reason or {})
        rule = reason.get("rule") or DEFAULT_RULES["single"]
        ack_rule = reason.get("acknowledge") or DEFAULT_ACKNOWLEDGE["single"]
        rows: list[Outbox | None] = []
        made = []
        for code in dict.fromkeys(codes):
            dept = allowed[code]
            ack, done = clocks(now, rule, ack_rule, dept.calendar, cal)
            due_at = min(done.at, as_utc(parent.due_at)) if parent.due_at else done.at
            ack_at = min(ack.at, due_at)
            child = session.exec(select(Assignment).where(Assignment.case_id == case.id,
                                                          Assignment.department_id == dept.id)).first()
            if child is not None and child.status in ACTIVE:
                continue  # already working on it
            child = child or Assignment(case_id=id_of(case), department_id=id_of(dept))
            child.role, child.status, child.parent_assignment_id, child.dispatched_at = SUB, "dispatched", parent.id, now
            child.due_at, child.ack_due_at, child.supervision_level, child.ack_level = due_at, ack_at, 0, 0
            child.signed_at = child.replied_at = child.acknowledged_at = child.returned_at = None
            child.reply_text = child.return_reason = None
            child.reason = {"sla": "sub_unit", "rule": rule, "acknowledge": ack_rule, "calendar": dept.calendar,
                            "passed_on_by": parent.department_id, "note": note[:500],
                            "calendar_provisional": sorted(set(done.provisional) | set(ack.provisional))}
            session.add(child)
            session.flush()
            made.append(child)
            rows.append(assignment_note(session, rt, child, "dispatch", f"上级单位转办：{note}".strip("：")))
        _event(session, case, "passed_on", actor, assignment_id=parent.id, units=[a.department_id for a in made],
               note=note[:500])
        _finish(session, rt, rows)
        return made


def _close_sub_units(session: Session, case: Case, parent: Assignment, actor: str) -> None:
    """The unit has answered for its sub-units: what they still had open is cancelled (nobody chases it)."""
    open_ = session.exec(select(Assignment).where(Assignment.parent_assignment_id == parent.id,
                                                  col(Assignment.status).in_(ACTIVE))).all()
    for child in open_:
        child.status = "cancelled"
        session.add(child)
    if open_:
        _event(session, case, "sub_units_closed", actor, assignment_id=parent.id, closed=[a.id for a in open_])


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


def record_contact(rt: Runtime, assignment_id: int, note: str, actor: str) -> Assignment:
    """The unit has reached the citizen (回告 by contact, before signing or replying); a note says how."""
    note = (note or "").strip()
    if not note:
        raise WorkflowError("a contact record needs a note (when and how the citizen was reached)")
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _active(session, assignment_id)
        now = utcnow()
        first = assignment.acknowledged_at is None
        assignment.acknowledged_at = assignment.acknowledged_at or now
        session.add(assignment)
        _event(session, case, "contacted", actor, assignment_id=assignment.id, note=note[:1000], first=first)
        _finish(session, rt, [])
        return assignment


def request_suspension(rt: Runtime, assignment_id: int, until: datetime, reason: str, actor: str) -> Extension:
    """Ask the office to pause both clocks (挂起) until ``until`` at the latest, e.g. while the citizen is away."""
    return request_extension(rt, assignment_id, until, reason, actor, kind="suspension")


def resume(rt: Runtime, assignment_id: int, actor: str) -> Assignment:
    """End a pause (挂起): both clocks run again, moved on by the time paused."""
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _assignment(session, assignment_id)
        if assignment.suspended_at is None:
            raise WorkflowError(f"assignment {assignment_id} is not suspended")
        paused = _unpause(assignment, utcnow())
        session.add(assignment)
        _event(session, case, "resumed", actor, assignment_id=assignment.id, paused_seconds=paused,
               due_at=iso_or_none(assignment.due_at), ack_due_at=iso_or_none(assignment.ack_due_at))
        _finish(session, rt, [])
        return assignment


def _unpause(assignment: Assignment, now: datetime) -> int:
    """Count the pause that ends now into the assignment's clocks; returns its seconds."""
    paused = max(0, int((now - as_utc(assignment.suspended_at or now)).total_seconds()))
    assignment.suspended_seconds = (assignment.suspended_seconds or 0) + paused
    assignment.due_at = as_utc(assignment.due_at) + timedelta(seconds=paused) if assignment.due_at else None
    if assignment.acknowledged_at is None and assignment.ack_due_at is not None:
        assignment.ack_due_at = as_utc(assignment.ack_due_at) + timedelta(seconds=paused)
    assignment.suspended_at = assignment.suspended_until = None
    return paused


def request_extension(rt: Runtime, assignment_id: int, until: datetime, reason: str, actor: str,
                      kind: str = "extension") -> Extension:
    """Ask for more time (延期), before the deadline, or for a pause (挂起); the office decides."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(f"a{'n extension' if kind == 'extension' else ' suspension'} request needs a reason")
    until = as_utc(until)
    with Session(rt.engine, expire_on_commit=False) as session:
        assignment, case = _active(session, assignment_id)
        now = utcnow()
        current_due = as_utc(assignment.due_at) if assignment.due_at else None
        if current_due is not None and now >= current_due:
            raise WorkflowError(f"the deadline has passed: a{'n extension' if kind == 'extension' else ' suspension'} "
                                "must be asked for before it")
        if kind == "extension" and current_due is not None and until <= current_due:
            raise WorkflowError("the requested time is not later than the current deadline")
        if kind == "suspension" and (until <= now or assignment.suspended_at is not None):
            raise WorkflowError("a pause needs a date to resume by, in the future, and the clocks must be running")
        pending = session.exec(select(Extension.id).where(Extension.assignment_id == assignment_id,
                                                          Extension.status == "pending")).first()
        if pending is not None:
            raise WorkflowError(f"extension {pending} is still waiting for a decision")
        extension = Extension(assignment_id=assignment_id, requested_until=until, reason=reason, requested_by=actor,
                              requested_at=now, kind=kind)
        session.add(extension)
        session.flush()
        _event(session, case, f"{kind}_requested", actor, assignment_id=assignment_id, extension_id=extension.id,
               until=until.isoformat(), reason=reason)
        asked = "申请延期至" if kind == "extension" else "申请挂起至"
        row = office_note(session, rt, case, kind, f"office-{kind}-{extension.id}", f"{asked} {until.isoformat()}：{reason}")
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
        suspension = extension.kind == "suspension"
        if approve and assignment.status in ACTIVE and suspension:
            assignment.suspended_at, assignment.suspended_until = now, extension.requested_until  # both clocks stop
            session.add(assignment)
        elif approve and assignment.status in ACTIVE:
            assignment.due_at = extension.requested_until  # 办结 only: 回告 keeps its time
            assignment.supervision_level = 0  # the ladder starts again from the new deadline
            session.add(assignment)
        _event(session, case, f"{extension.kind}_decided", actor, extension_id=extension.id,
               assignment_id=assignment.id, approved=bool(approve))
        word = "挂起" if suspension else "延期"
        row = department_note(session, rt, case, session.get_one(Department, assignment.department_id),
                              "extension_decided", f"dept-extension-{extension.id}",
                              f"{word}已批准" if approve else f"{word}未批准")
        _finish(session, rt, [row])
        return extension
