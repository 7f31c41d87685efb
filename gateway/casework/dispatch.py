"""RQ jobs: module-level functions that take ids, open their own session, and are idempotent."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, col, select

from gateway import outbox
from gateway.casework.learned_router import predict
from gateway.casework.routing import route
from gateway.casework.workflow import assign
from gateway.clock import utcnow
from gateway.models import Assignment, Case, Department, Event, Report
from gateway.runtime import current

log = logging.getLogger(__name__)


def dispatch_case(case_id: int) -> dict:
    """Route a case (rules, then a confident model) and create the LEAD/ASSIST assignments with due times."""
    rt = current()
    # No autoflush: what the job changes goes out in assign's one flush and the commit's.
    with Session(rt.engine, expire_on_commit=False, autoflush=False) as session:
        case = session.exec(select(Case).where(Case.id == case_id).with_for_update()).first()
        if case is None:
            raise LookupError(f"case {case_id} does not exist")
        existing = session.exec(select(Assignment.id).where(Assignment.case_id == case_id)).first()
        if existing is not None or case.status != "new":
            return {"case": case.number, "skipped": "already dispatched"}
        addressed = session.exec(select(Report.addressed_unit).where(  # the first report that addresses a unit
            Report.case_id == case_id, col(Report.addressed_unit).isnot(None), Report.addressed_unit != "")
            .order_by(col(Report.id)).limit(1)).first()
        text = f"{case.title or ''}\n{case.summary}"
        prediction = None if rt.profile.category(case.category) else predict(rt, case.title, case.summary)
        decision = route(rt.profile, text, category_hint=case.category, address=case.address,
                         district_hint=case.district, addressed_unit=addressed, prediction=prediction)
        case.category = decision.category
        case.district = case.district or decision.district
        case.street = case.street or decision.street
        case.routing = decision.as_dict()
        case.updated_at = now = utcnow()
        rows: list = []
        if decision.triage:
            case.status = "triage"
            session.add(Event(case_id=case_id, kind="triage", data=decision.as_dict()))
        else:
            codes = [code for code, _ in decision.departments]
            found = {d.code: d for d in session.exec(select(Department).where(col(Department.code).in_(codes))).all()}
            team = [(found[code], role) for code, role in decision.departments if code in found]
            rows, rule_name = assign(session, rt, case, team, now)
            case.status = "dispatched"
            session.add(Event(case_id=case_id, kind="dispatched", data={**decision.as_dict(), "sla": rule_name}))
        session.add(case)
        outbox.commit_and_send(session, rt.broker, rows)
        return {"case": case.number, "status": case.status, "departments": decision.as_dict()["departments"]}


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
