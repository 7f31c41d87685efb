"""RQ jobs: module-level functions that take ids, open their own session, and are idempotent."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from gateway import outbox
from gateway.clock import utcnow
from gateway.models import Assignment, Case, Department, Event
from gateway.routing import route
from gateway.runtime import current
from gateway.sla import due, rule_for

log = logging.getLogger(__name__)


def dispatch_case(case_id: int) -> dict:
    """Route a case to its departments and create the LEAD/ASSIST assignments with due times."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise LookupError(f"case {case_id} does not exist")
        existing = session.exec(select(Assignment).where(Assignment.case_id == case_id)).all()
        if existing or case.status not in ("new", "reopened"):
            return {"case": case.number, "skipped": "already dispatched"}
        decision = route(rt.profile, f"{case.title or ''}\n{case.summary}", category_hint=case.category,
                         address=case.address, district_hint=case.district)
        codes = [code for code, _ in decision.departments]
        departments = {d.code: d for d in session.exec(select(Department).where(Department.code.in_(codes))).all()}  # type: ignore[attr-defined]
        now = utcnow()
        rule_name, rule = rule_for(rt.profile, case.appeal_type, len(codes), case.complexity)
        for code, role in decision.departments:
            dept = departments.get(code)
            if dept is None:
                continue
            dept_rule = dept.sla or rule
            session.add(Assignment(case_id=case.id, department_id=dept.id, role=role, status="dispatched",
                                   dispatched_at=now, due_at=due(now, dept_rule, dept.calendar),
                                   reason={"route": decision.reasons, "sla": rule_name}))
        case.category = decision.category
        case.district = case.district or decision.district
        case.street = case.street or decision.street
        case.routing = decision.as_dict()
        case.status = "triage" if decision.triage else "dispatched"
        case.due_at = due(now, rule)
        case.updated_at = now
        session.add(case)
        session.add(Event(case_id=case.id, kind="dispatched", data={**decision.as_dict(), "sla": rule_name}))
        session.commit()
        return {"case": case.number, "departments": codes}


def sweep_outbox(older_than_seconds: float = 5.0) -> int:
    """Enqueue outbox rows that Redis did not take at intake time."""
    rt = current()
    with Session(rt.engine, expire_on_commit=False) as session:
        rows = outbox.pending(session, older_than_seconds)
        return outbox.deliver(session, rt.broker, rows) if rows else 0
