"""How cases, reports and assignments look in JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.models import Assignment, Case, Department, Event, MergeRecord, Report
from gateway.runtime import current


def iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def national(category: str | None) -> dict[str, str | None]:
    """The category's GB/T 39666-2020 major class: its name, and its code where the standard's code is known."""
    major = current().profile.national_class(category)
    return {"national_class": major.name if major else None, "national_class_code": major.code if major else None}


def case_row(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "status": case.status,
        "title": case.title,
        "category": case.category,
        **national(case.category),
        "district": case.district,
        "appeal_type": case.appeal_type,
        "channel": case.channel,
        "reporter_count": case.reporter_count,
        "report_count": case.report_count,
        "created_at": iso(case.created_at),
        "due_at": iso(case.due_at),
    }


def case_summary(case: Case, report: Report) -> dict[str, Any]:
    """The case as the citizen whose request made ``report`` may see it: with that report's own code, never
    another reporter's."""
    return {**case_row(case), "retrieval_code": report.retrieval_code}


def report(r: Report) -> dict[str, Any]:
    return {
        "id": r.id,
        "channel": r.channel,
        "external_id": r.external_id,
        "title": r.title,
        "text": r.text,
        "received_at": iso(r.received_at),
        "call_id": r.call_id,
        "recording_url": r.recording_url,
        "link": r.link,
        "decision": r.decision or None,
        "attachments": r.attachments,
        "defects": r.defects,
    }


def assignment(a: Assignment, dept: Department | None) -> dict[str, Any]:
    return {
        "id": a.id,
        "department": dept.code if dept else None,
        "department_name": dept.name if dept else None,
        "role": a.role,
        "parent_assignment_id": a.parent_assignment_id,
        "status": a.status,
        "due_at": iso(a.due_at),
        "ack_due_at": iso(a.ack_due_at),
        "acknowledged_at": iso(a.acknowledged_at),
        "suspended_at": iso(a.suspended_at),
        "suspended_until": iso(a.suspended_until),
        "suspended_seconds": a.suspended_seconds,
        "dispatched_at": iso(a.dispatched_at),
        "signed_at": iso(a.signed_at),
        "replied_at": iso(a.replied_at),
        "reply": a.reply_text,
        "return_reason": a.return_reason,
    }


def case_detail(session: Session, case: Case, requested: str | None = None) -> dict[str, Any]:
    """The case with every report, assignment, event and merge record (for staff and the API)."""
    reports = session.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.received_at))).all()
    rows = session.exec(select(Assignment, Department).join(Department).where(Assignment.case_id == case.id)).all()
    events = session.exec(select(Event).where(Event.case_id == case.id).order_by(col(Event.id))).all()
    merges = session.exec(
        select(MergeRecord).where((MergeRecord.survivor_case_id == case.id) | (MergeRecord.absorbed_case_id == case.id))
    ).all()
    body = {
        **case_row(case),
        "summary": case.summary,
        "address": case.address,
        "street": case.street,
        "routing": case.routing,
        "reports": [report(r) for r in reports],
        "assignments": [assignment(a, d) for a, d in rows],
        "events": [{"kind": e.kind, "actor": e.actor, "data": e.data, "at": iso(e.at)} for e in events],
        "merges": [
            {"id": m.id, "status": m.status, "rule": m.rule, "score": m.score, "reasons": m.reasons,
             "survivor_case_id": m.survivor_case_id, "absorbed_case_id": m.absorbed_case_id, "report_id": m.report_id}
            for m in merges
        ],
    }
    if requested and requested.strip().upper() != case.number:
        body["resolved_from"] = requested.strip().upper()
    return body
