"""Supervision (督办): the deadline ladder walked by a cron job over open assignments.

Levels (Assignment.supervision_level): 1 reminded ([sla] reminder_before_hours before the
deadline), 2 overdue (at the deadline), 3 chased in writing (the next working day,
[sla] chase_after_working_days), 4 escalated to the office ([sla] escalate_after_working_days
working days after the deadline). Each step is an Event and one notification (dedupe keys
make it once per step and round). The walk is an indexed query on (status, due_at).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, select

from gateway import outbox
from gateway.clock import as_utc, utcnow
from gateway.models import Assignment, Case, Department, Event, Outbox
from gateway.runtime import current
from gateway.sla import working_days_after
from gateway.workflow import ACTIVE, assignment_note, calendar_events, office_note

log = logging.getLogger(__name__)

REMINDED, OVERDUE, CHASED, ESCALATED = 1, 2, 3, 4
STEPS = {REMINDED: "reminder", OVERDUE: "overdue", CHASED: "chase", ESCALATED: "escalate"}
BATCH = 500


def sweep() -> dict:
    """Move every open assignment up its ladder as far as the clock says; return how many steps were taken."""
    rt = current()
    sla = rt.profile.sla
    now = utcnow()
    horizon = now + timedelta(hours=float(sla.get("reminder_before_hours", 4)))
    chase_days = int(sla.get("chase_after_working_days", 1))
    escalate_days = int(sla.get("escalate_after_working_days", 3))
    steps = 0
    with Session(rt.engine, expire_on_commit=False) as session:
        open_rows = session.exec(
            select(Assignment).where(Assignment.status.in_(ACTIVE), Assignment.due_at <= horizon,  # type: ignore[attr-defined]
                                     Assignment.supervision_level < ESCALATED)
            .order_by(Assignment.due_at).limit(BATCH)  # type: ignore[arg-type]
        ).all()
        rows: list[Outbox] = []
        for assignment in open_rows:
            due_at = as_utc(assignment.due_at)  # type: ignore[arg-type]
            dept = session.get(Department, assignment.department_id)
            case = session.get(Case, assignment.case_id)
            assert dept is not None and case is not None
            target, warning = REMINDED, None
            if now >= due_at:
                late, warning = working_days_after(due_at.astimezone(rt.profile.tz).date(), now, dept.calendar)
                target = ESCALATED if late >= escalate_days else CHASED if late >= chase_days else OVERDUE
            for level in range(assignment.supervision_level + 1, target + 1):
                if level == REMINDED and target > REMINDED:
                    continue  # already late: a reminder would come after the fact
                steps += 1
                step = STEPS[level]
                session.add(Event(case_id=case.id, kind=step, data={
                    "assignment_id": assignment.id, "department": dept.code, "due_at": due_at.isoformat(),
                    "level": level}))
                row = assignment_note(session, rt, assignment, step, f"办理时限：{due_at.astimezone(rt.profile.tz):%Y-%m-%d %H:%M}")
                rows.extend([row] if row else [])
                if level == ESCALATED:
                    row = office_note(session, rt, case, "escalate",
                                      f"office-escalate-{assignment.id}-{assignment.dispatch_count}",
                                      f"{dept.name} 超期未办结")
                    rows.extend([row] if row else [])
            if target > assignment.supervision_level:
                calendar_events(session, case, [warning])
                assignment.supervision_level = target
                session.add(assignment)
        session.commit()
        outbox.deliver(session, rt.broker, rows)
    return {"steps": steps, "checked": len(open_rows)}
