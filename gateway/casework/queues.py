"""The work queues as query clauses: open, due soon, overdue assignments; shared by console, workbench and API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col, select

from gateway.models import Assignment

OPEN_ASSIGNMENT = ("dispatched", "signed", "overdue")  # still owes an answer


def is_open() -> Any:
    return col(Assignment.status).in_(OPEN_ASSIGNMENT)


def overdue(now: datetime) -> Any:
    """Assignments past their due time without an answer (or marked overdue by the sweep)."""
    return or_(col(Assignment.status) == "overdue",
               and_(col(Assignment.status).in_(("dispatched", "signed")), col(Assignment.due_at) < now))


def due_soon(now: datetime, hours: float) -> Any:
    """Open assignments whose time runs out within the reminder window."""
    return and_(col(Assignment.status).in_(("dispatched", "signed")), col(Assignment.due_at) >= now,
                col(Assignment.due_at) < now + timedelta(hours=hours))


def overdue_case_ids(now: datetime) -> Any:
    """A subquery of the cases with at least one overdue assignment."""
    return select(Assignment.case_id).where(overdue(now))


def workbench_tabs(now: datetime, hours: float) -> dict[str, Any]:
    """Each tab of a department's queue and the clause that fills it."""
    return {
        "to_sign": Assignment.status == "dispatched",
        "in_progress": Assignment.status == "signed",
        "due_soon": due_soon(now, hours),
        "overdue": overdue(now),
        "done": col(Assignment.status).in_(("replied", "returned")),
    }
