"""RQ jobs: module-level functions that take ids, open their own session, and are idempotent."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from gateway import outbox
from gateway.casework import calendars
from gateway.casework.learned_router import predict
from gateway.casework.routing import route
from gateway.casework.workflow import Round, department_note_values, plan_round, provisional_events
from gateway.clock import utcnow
from gateway.messaging.notify import queue_notifications
from gateway.models import Assignment, Case, Department, Event, Outbox, Report, id_of, table_of
from gateway.runtime import Runtime, current

log = logging.getLogger(__name__)


def dispatch_case(case_id: int) -> dict:
    """Route a case (rules, then a confident model) and create the LEAD/ASSIST assignments with due times.

    The worker's hottest job, in SQLAlchemy Core (docs/BENCHMARKS.md): one statement reads the case, whether it
    has an assignment, the unit its first report addressed and whether the calendar changed; the assignments go
    in with RETURNING, the events in one statement, the case is updated by one. The rule and the clocks are
    `workflow.plan_round`'s, as the office's re-dispatch (`workflow.assign`) computes them.

    A calendar notice stored while the job runs (PostgreSQL) never leaves it with a deadline on the old
    calendar: its read takes the calendar's lock (an import's recompute waits for this commit), and its update
    of the case answers whether the calendar is still the one read; if not, the job starts again."""
    rt = current()
    for _ in range(3):
        done = _dispatch(rt, case_id)
        if done is not None:
            return done
    raise RuntimeError(f"case {case_id}: the calendar changed under three tries of its dispatch in a row")


def _dispatch(rt: Runtime, case_id: int) -> dict | None:
    """One try of `dispatch_case`: None when the calendar changed after it was read (rolled back)."""
    with Session(rt.engine, expire_on_commit=False, autoflush=False) as session:
        conn = session.connection()
        read = _statements(conn.dialect.name == "postgresql")
        case = conn.execute(read.case, {"case_id": case_id}).first()
        if case is None:
            raise LookupError(f"case {case_id} does not exist")
        outbox.mark_done(session, outbox.dispatch_job_id(case_id))  # commits with the job's work (jobs.Job.marks_done)
        if case.dispatched or case.status != "new":
            session.commit()
            return {"case": case.number, "skipped": "already dispatched"}
        text = f"{case.title or ''}\n{case.summary}"
        prediction = None if rt.profile.category(case.category) else predict(rt, case.title, case.summary)
        decision = route(rt.profile, text, category_hint=case.category, address=case.address,
                         district_hint=case.district, addressed_unit=case.addressed, prediction=prediction)
        routing = decision.as_dict()
        now = utcnow()
        changes: dict[str, Any] = {"category": decision.category, "district": case.district or decision.district,
                                   "street": case.street or decision.street, "routing": routing, "updated_at": now}
        rows: list[Outbox] = []
        stamp = (case.notices, case.notices_at)
        if decision.triage:
            changes["status"] = "triage"
            events = [{"case_id": case_id, "kind": "triage", "data": routing}]
        else:
            codes = [code for code, _ in decision.departments]
            found = {d.code: d for d in session.exec(select(Department).where(col(Department.code).in_(codes))).all()}
            team = [(found[code], role) for code, role in decision.departments if code in found]
            plan = plan_round(rt, calendars.current(session, rt, stamp), case, team, now)
            ids = _insert_assignments(conn, read, case_id, team, plan)
            rows = queue_notifications(session, [
                department_note_values(rt, case, dept, "dispatch", f"dept-{ids[id_of(dept)]}-1-dispatch",
                                       due_at=values["due_at"]) for (dept, _), values in zip(team, plan.rounds)])
            changes.update(status="dispatched", due_at=plan.case_due)
            events = [*provisional_events(case_id, plan.warnings),  # why before what, as the re-dispatch writes them
                      {"case_id": case_id, "kind": "dispatched", "data": {**routing, "sla": plan.rule_name}}]
        updated = conn.execute(read.update_case, {"case_key": case_id, **changes})
        if read.checks_calendar and not decision.triage and tuple(updated.one()) != stamp:
            session.rollback()  # a notice was stored after the read: plan again on it
            log.info("dispatch of case %s: the calendar changed while it ran; starting again", case_id)
            return None
        conn.execute(read.insert_event, [{"actor": "system", "at": now, **event} for event in events])
        outbox.commit_and_send(session, rt.broker, rows)
        return {"case": case.number, "status": changes["status"], "departments": routing["departments"]}


def _insert_assignments(conn: Any, read: _Statements, case_id: int, team: list[tuple[Department, str]],
                        plan: Round) -> dict[int, int]:
    """The case's first assignments, one statement with RETURNING: their ids by department id. The case row is
    held (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the database) and had none: a collision
    with the unique (case, department) key is an error that rolls the job back, never a silent skip."""
    if not team:
        return {}
    rows = [{**_FRESH, **values, "case_id": case_id, "department_id": id_of(dept)}
            for (dept, _), values in zip(team, plan.rounds)]
    returned = conn.execute(read.insert_assignment, rows).all()
    return {department_id: assignment_id for assignment_id, department_id in returned}


# An assignment's columns that a first round leaves at their start (`new_round` sets the others).
_FRESH: dict[str, Any] = {"parent_assignment_id": None, "suspended_seconds": 0, "delivered_at": None,
                          "delivery_error": None, "dispatch_count": 1}


@dataclass(frozen=True)
class _Statements:
    case: Any
    update_case: Any
    insert_assignment: Any
    insert_event: Any
    checks_calendar: bool  # PostgreSQL: the read takes the calendar's lock, the update returns its stamp


@functools.cache
def _statements(postgres: bool) -> _Statements:
    """The job's Core statements, built once per process (SQLAlchemy then finds each compiled in its cache).

    On PostgreSQL the read takes the calendar's lock (`calendars.hold_column`) in the same round trip, and the
    case's update returns the calendar's stamp as its own snapshot sees it: a statement after the lock, so a
    notice stored since the read shows there. SQLite needs neither: the job holds the database from its start."""
    cases, reports, assignments, events = (table_of(model) for model in (Case, Report, Assignment, Event))
    key: Any = bindparam("case_id")
    addressed = (core_select(reports.c.addressed_unit)  # the first report that addresses a unit
                 .where(reports.c.case_id == key, reports.c.addressed_unit.isnot(None), reports.c.addressed_unit != "")
                 .order_by(reports.c.id).limit(1).scalar_subquery())
    stamp = [column.label(name) for column, name in zip(calendars.stamp_columns(), ("notices", "notices_at"))]
    hold = [calendars.hold_column().label("calendar_held")] if postgres else []
    read = (core_select(cases.c.id, cases.c.number, cases.c.title, cases.c.summary, cases.c.status, cases.c.category,
                   cases.c.district, cases.c.street, cases.c.address, cases.c.appeal_type, cases.c.complexity,
                   cases.c.urgency, cases.c.due_at, exists().where(assignments.c.case_id == key).label("dispatched"),
                   addressed.label("addressed"), *hold, *stamp)
            .where(cases.c.id == key).with_for_update(of=cases))
    update_case = update(cases).where(cases.c.id == bindparam("case_key"))
    return _Statements(
        case=read,
        update_case=update_case.returning(*calendars.stamp_columns()) if postgres else update_case,
        insert_assignment=insert(assignments).returning(assignments.c.id, assignments.c.department_id),
        insert_event=insert(events),
        checks_calendar=postgres,
    )


def dispatch_failed(args: list[Any], error: str) -> None:
    """The `dispatch_case` job's final handler (gateway.jobs): the case's timeline says why it waits."""
    with Session(current().engine) as session:
        if session.get(Case, int(args[0])) is not None:
            session.add(Event(case_id=int(args[0]), kind="dispatch_failed", data={"error": error}))
            session.commit()


def sweep_outbox(older_than_seconds: float = 5.0) -> int:
    """Enqueue outbox rows that Redis did not take at intake time, and re-send jobs a Redis restart lost."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        rows = outbox.pending(session, older_than_seconds)
        # A job sent a while ago, not done, and gone from Redis was lost with Redis's memory (a job that runs
        # or failed is still in Redis; one that finished marked its row done): send it again (jobs are idempotent).
        limit = rt.settings.outbox_lost_seconds
        rows += outbox.lost(session, rt.broker, older_than_seconds=max(older_than_seconds, limit))
        return outbox.deliver(session, rt.broker, rows) if rows else 0
