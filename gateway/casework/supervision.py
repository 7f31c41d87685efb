"""Supervision (督办): the deadline ladder walked by a cron job over open assignments.

Levels (Assignment.supervision_level): 1 reminded ([sla] reminder_before_hours before the
deadline), 2 overdue (at the deadline), 3 chased in writing (the next working day,
[sla] chase_after_working_days), 4 escalated to the office ([sla] escalate_after_working_days
working days after the deadline). Each step is an Event and one notification (dedupe keys
make it once per step and round). The walk is an indexed query on (status, due_at).

The other clock, 回告 (the unit's first answer), has one step: an unsigned assignment whose ack_due_at has
passed with no contact recorded gets an `ack_overdue` event and a notification (indexed on (status,
ack_due_at)). A paused assignment (挂起) takes no step on either clock; a pause whose date has come is
ended by the sweep, and its time moves both clocks on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import insert as sa_insert
from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from gateway import outbox
from gateway.casework import calendars
from gateway.casework.sla import working_days_after
from gateway.casework.workflow import ACTIVE, assignment_note, department_note_values, office_department, resume
from gateway.clock import as_utc, utcnow
from gateway.db import among
from gateway.errors import WorkflowError
from gateway.messaging.notify import queue_notifications
from gateway.models import Assignment, Case, Department, Event, Outbox, table_of
from gateway.runtime import Runtime, current

log = logging.getLogger(__name__)

REMINDED, OVERDUE, CHASED, ESCALATED = 1, 2, 3, 4
STEPS = {REMINDED: "reminder", OVERDUE: "overdue", CHASED: "chase", ESCALATED: "escalate"}
BATCH = 500


def sweep(batch: int = BATCH) -> dict:
    """Move every open assignment up its ladder as far as the clock says; return how many steps were taken.

    One pass over every open assignment due within the reminder horizon, ``batch`` at a time in
    (status, due_at, id) order, each batch its own transaction: rows already at their level are passed
    over, not fetched again, so a backlog larger than a batch is never stuck behind its oldest rows.
    """
    rt = current()
    now = utcnow()
    horizon = horizon_of(rt.profile, now)
    steps = checked = 0
    late: dict = {}
    for status in ACTIVE:  # one status at a time: the (status, due_at) index gives the rows in order, unsorted
        after: tuple | None = None  # (due_at, id) of the last row of the previous batch
        while True:
            with Session(rt.engine, expire_on_commit=False) as session:
                rows = session.exec(due_batch(status, horizon, after, batch)).all()
                if rows:
                    steps += _walk(session, rt, rows, now, late)
            checked += len(rows)
            if len(rows) < batch:
                break
            after = (rows[-1][1], rows[-1][0])
    resumed = _resume_due(rt, now)
    acks = _ack_overdue(rt, now, batch)
    return {"steps": steps, "checked": checked, "ack_overdue": acks, "resumed": resumed}


def _resume_due(rt: Runtime, now: datetime) -> int:
    """End the pauses (挂起) whose date has come: the clocks run again."""
    with Session(rt.engine) as session:
        ids = session.exec(select(Assignment.id).where(col(Assignment.suspended_until).isnot(None),
                                                       col(Assignment.suspended_until) <= now)).all()
    for assignment_id in ids:
        if assignment_id is None:
            continue
        try:
            resume(rt, assignment_id, "system")
        except WorkflowError:
            continue  # resumed by the unit or the office meanwhile
    return len(ids)


def _ack_overdue(rt: Runtime, now: datetime, batch: int) -> int:
    """Tell each unit whose 回告 is overdue (not signed, no contact recorded), once per round."""
    told = 0
    while True:
        with Session(rt.engine, expire_on_commit=False) as session:
            rows = session.exec(select(Assignment).where(
                Assignment.status == "dispatched", col(Assignment.ack_due_at) <= now, Assignment.ack_level == 0,
                col(Assignment.acknowledged_at).is_(None), col(Assignment.suspended_at).is_(None))
                .order_by(col(Assignment.ack_due_at)).limit(batch)).all()
            notes: list[Outbox] = []
            for assignment in rows:
                ack_due = as_utc(assignment.ack_due_at or now)
                session.add(Event(case_id=assignment.case_id, kind="ack_overdue", data={
                    "assignment_id": assignment.id, "ack_due_at": ack_due.isoformat()}))
                row = assignment_note(session, rt, assignment, "ack_overdue",
                                      f"回告时限：{ack_due.astimezone(rt.profile.tz):%Y-%m-%d %H:%M}")
                notes.extend([row] if row else [])
                assignment.ack_level = 1
                session.add(assignment)
            outbox.commit_and_send(session, rt.broker, notes)
        told += len(rows)
        if len(rows) < batch:
            return told


def horizon_of(profile: Any, now: datetime) -> datetime:
    """The latest due time a sweep at ``now`` looks at: reminders go out this long before it."""
    return now + timedelta(hours=float(profile.sla.get("reminder_before_hours", 4)))


def due_batch(status: str, horizon: datetime, after: tuple | None = None, batch: int = BATCH) -> Any:
    """The sweep's query: the next ``batch`` assignments of one status due before ``horizon`` and not yet
    escalated, in (due_at, id) order after ``after``, as (id, due_at, department_id, level) rows."""
    query = select(Assignment.id, Assignment.due_at, Assignment.department_id, Assignment.supervision_level).where(
        Assignment.status == status, col(Assignment.due_at) <= horizon, Assignment.supervision_level < ESCALATED,
        col(Assignment.suspended_at).is_(None))  # paused (挂起): no step
    if after is not None:
        # due_at >= x on its own too, so that the index range starts there (not at the first row)
        query = query.where(Assignment.due_at >= after[0], or_(Assignment.due_at > after[0],
                                                              Assignment.id > after[1]))
    return query.order_by(col(Assignment.due_at), col(Assignment.id)).limit(batch)


def _walk(session: Session, rt: Runtime, batch: list, now: datetime, late: dict) -> int:
    """Take the steps one batch of assignments, (id, due_at, department_id, level) rows, is due for;
    commit them and send their notifications.

    ``late`` caches working days late by (due day, calendar) for the whole sweep; the assignment and
    its case are read only for an assignment that takes a step."""
    sla = rt.profile.sla
    chase_days = int(sla.get("chase_after_working_days", 1))
    escalate_days = int(sla.get("escalate_after_working_days", 3))
    cal = calendars.current(session, rt)
    depts = {d.id: d for d in session.exec(select(Department).where(col(Department.id).in_({r[2] for r in batch}))).all()}
    moves = {}
    for assignment_id, due, department_id, level in batch:
        due_at = as_utc(due)
        dept = depts[department_id]
        target, warning = REMINDED, None
        if now >= due_at:
            key = (due_at.astimezone(rt.profile.tz).date(), dept.calendar)
            if key not in late:
                late[key] = working_days_after(key[0], now, dept.calendar, cal)
            days, warning = late[key]
            target = ESCALATED if days >= escalate_days else CHASED if days >= chase_days else OVERDUE
        if target > level:
            moves[assignment_id] = (dept, due_at, target, warning)
    if not moves:
        return 0
    # Read again: one replied, or walked by another sweep, since the batch was listed is left alone.
    a, c = table_of(Assignment), table_of(Case)
    current_rows = session.execute(
        sa_select(a.c.id, a.c.case_id, a.c.dispatch_count, a.c.supervision_level, c.c.number, c.c.title,
                  c.c.summary, c.c.due_at)
        .join(c, c.c.id == a.c.case_id)
        .where(among(session, a.c.id, moves), a.c.status.in_(ACTIVE)).order_by(a.c.id)).all()
    office_dept: Any = ()  # read once, when the first escalation needs it
    events: list[dict] = []
    notes: list[dict] = []
    levels: dict[int, list[int]] = {}
    stamp = utcnow()
    steps = 0
    for row in current_rows:
        dept, due_at, target, warning = moves[row.id]
        if row.supervision_level >= target:
            continue
        case = _CaseRow(row.case_id, row.number, row.title, row.summary, row.due_at)
        due_text = f"办理时限：{due_at.astimezone(rt.profile.tz):%Y-%m-%d %H:%M}"
        for level in range(row.supervision_level + 1, target + 1):
            if level == REMINDED and target > REMINDED:
                continue  # already late: a reminder would come after the fact
            steps += 1
            step = STEPS[level]
            events.append({"case_id": row.case_id, "kind": step, "actor": "system", "at": stamp, "data": {
                "assignment_id": row.id, "department": dept.code, "due_at": due_at.isoformat(), "level": level}})
            notes.append(department_note_values(rt, case, dept, step, f"dept-{row.id}-{row.dispatch_count}-{step}",
                                                due_text))
            if level == ESCALATED:
                if office_dept == ():
                    office_dept = office_department(session, rt)
                if office_dept is not None:
                    notes.append(department_note_values(rt, case, office_dept, "escalate",
                                                        f"office-escalate-{row.id}-{row.dispatch_count}",
                                                        f"{dept.name} 超期未办结"))
        if warning:
            events.append({"case_id": row.case_id, "kind": "calendar_provisional", "actor": "system", "at": stamp,
                           "data": {"message": warning}})
        levels.setdefault(target, []).append(row.id)
    if events:
        session.execute(sa_insert(table_of(Event)), events)
    rows = queue_notifications(session, notes)
    for target, ids in levels.items():
        session.execute(sa_update(a).where(among(session, a.c.id, ids)).values(supervision_level=target))
    outbox.commit_and_send(session, rt.broker, rows)
    return steps


class _CaseRow(NamedTuple):
    """What a department's notification says of its case (`department_note_values`)."""

    id: int
    number: str
    title: str | None
    summary: str
    due_at: datetime | None
