"""The twice-daily report (12:00 and 20:00 city time by default): per department and overall.

Counts per department, from its assignments (cancelled ones left out):
- ``received``: assignments dispatched in the report window (since the previous report time);
- ``replied``: assignments replied in the window; ``cumulative_replied``: replied up to now;
- ``overdue``: open assignments (dispatched or signed) whose due time has passed, paused ones (挂起) left out;
- ``suspended``: open assignments paused (挂起) at the end of the window;
- ``total``: every assignment received up to now.
Rates over the window, each one formula of gateway/reporting/rates.py (with the counts it divides):
``response_rate`` 响应率, ``on_time_rate`` 按期办结率, ``resolution_rate`` 解决率, ``satisfaction_rate`` 满意率,
``repeat_rate`` 重复来电率. "Overall" is the same over all departments.

Per GB/T 39666-2020 major class (``national_classes``, all twelve in the standard's order, zeros too, each with
its ``code`` where known): ``received``, cases opened in the window, and ``total``, cases opened up to its end
(a case merged into another counts once, as its survivor). Cases with no category yet (new, or waiting for
triage) are ``unclassified``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway import outbox
from gateway.casework.routing import office
from gateway.clock import utcnow
from gateway.messaging.notify import queue_notification
from gateway.models import Assignment, Case, DailyReport, Department, Outbox
from gateway.profile import Profile, national_classes
from gateway.reporting.rates import Rates, period_rates
from gateway.runtime import Runtime, current

log = logging.getLogger(__name__)



def report_times(rt: Runtime) -> list[time]:
    """The [schedule] reports times (city time), sorted."""
    return sorted(time.fromisoformat(t) for t in rt.profile.schedule.get("reports", ["12:00", "20:00"]))


def cron_entries(rt: Runtime) -> list[str]:
    """Cron strings (minute hour) of the report times, in city time."""
    return [f"{t.minute} {t.hour} * * *" for t in report_times(rt)]


def slot_window(rt: Runtime, now: datetime) -> tuple[datetime, datetime]:
    """The latest report time at or before ``now`` and the one before it (aware, city time)."""
    local = now.astimezone(rt.profile.tz)
    moments = [datetime.combine(local.date() + timedelta(days=d), t, rt.profile.tz)
               for d in (-2, -1, 0) for t in report_times(rt)]
    past = [m for m in moments if m <= local]
    return past[-2], past[-1]


def figures(session: Session, start: datetime, end: datetime, repeat_window: timedelta = timedelta(hours=72)
            ) -> dict[int | None, dict[str, Any]]:
    """The counts and rates per department id (and None for overall) for the window [start, end)."""
    live = col(Assignment.status) != "cancelled"
    query = sa_select(  # SQLAlchemy's select: SQLModel's is typed for up to four columns
        col(Assignment.department_id),
        func.count(),
        func.sum(when((col(Assignment.dispatched_at) >= start, 1), else_=0)),
        func.sum(when(((col(Assignment.replied_at) >= start) & (col(Assignment.replied_at) < end), 1), else_=0)),
        func.sum(when((col(Assignment.replied_at) < end, 1), else_=0)),
        func.sum(when((col(Assignment.status).in_(("dispatched", "signed")) & (col(Assignment.due_at) < end)
                       & col(Assignment.suspended_at).is_(None), 1), else_=0)),  # a paused one is not late
        func.sum(when((col(Assignment.status).in_(("dispatched", "signed")) & col(Assignment.suspended_at).isnot(None)
                       & (col(Assignment.suspended_at) < end), 1), else_=0)),
    ).where(live, col(Assignment.dispatched_at) < end).group_by(col(Assignment.department_id))
    rows: dict[int | None, list[int]] = {}
    for dept_id, *counts in session.execute(query).all():
        rows[dept_id] = [int(c or 0) for c in counts]
    rows[None] = [sum(r[i] for r in rows.values()) for i in range(6)] if rows else [0] * 6
    rates = period_rates(session, start, end, repeat_window)
    result: dict[int | None, dict[str, Any]] = {}
    for dept_id in set(rows) | set(rates):
        total, received, replied, cumulative, overdue, suspended = rows.get(dept_id, [0] * 6)
        result[dept_id] = {"received": received, "replied": replied, "overdue": overdue, "suspended": suspended,
                           "cumulative_replied": cumulative, "total": total,
                           **rates.get(dept_id, Rates()).as_dict()}
    return result


def by_national_class(session: Session, profile: Profile, start: datetime, end: datetime) -> dict[str, Any]:
    """Cases received in [start, end) and up to ``end`` per GB/T 39666-2020 major class, and those without one."""
    query = (sa_select(col(Case.category), func.count(), func.sum(when((col(Case.created_at) >= start, 1), else_=0)))
             .where(col(Case.merged_into_id).is_(None), col(Case.created_at) < end)
             .group_by(col(Case.category)))
    counts = {major.name: {"received": 0, "total": 0} for major in national_classes()}
    unclassified = {"received": 0, "total": 0}
    for category, total, received in session.execute(query).all():
        major = profile.national_class(category)
        slot = counts[major.name] if major else unclassified
        slot["received"] += int(received or 0)
        slot["total"] += int(total)
    return {"national_classes": [{"name": m.name, "code": m.code, **counts[m.name]} for m in national_classes()],
            "unclassified": unclassified}


def make_report(slot: str | None = None) -> dict:
    """Build, store and deliver the report of the latest report time (idempotent per slot)."""
    rt = current()
    now = utcnow() if slot is None else datetime.fromisoformat(slot).replace(tzinfo=rt.profile.tz)
    start, end = slot_window(rt, now)
    name = f"{end:%Y-%m-%d %H:%M}"
    with Session(rt.engine, expire_on_commit=False) as session:
        known = session.exec(select(DailyReport).where(DailyReport.slot == name)).first()
        if known is not None:
            return {"slot": name, "id": known.id, "skipped": "exists"}
        per_dept = figures(session, start, end, rt.profile.repeat_window)
        departments = {d.id: d for d in session.exec(select(Department)).all()}
        data: dict[str, Any] = {
            "slot": name, "timezone": str(rt.profile.tz), "from": start.isoformat(), "to": end.isoformat(),
            "overall": per_dept.pop(None),
            "departments": {departments[d].code: {"name": departments[d].name, **f}
                            for d, f in sorted(per_dept.items(), key=lambda kv: departments[kv[0]].code)},
            **by_national_class(session, rt.profile, start, end),
        }
        report = DailyReport(slot=name, generated_at=utcnow(), data=data)
        session.add(report)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return {"slot": name, "skipped": "exists"}
        rows: list[Outbox] = []
        for code, body in data["departments"].items():
            dept = next(d for d in departments.values() if d.code == code)
            if dept.delivery in ("email", "webhook"):
                rows.extend(_send(session, rt, dept, name, {"slot": name, "department": code, **body}))
        head = next((d for d in departments.values() if d.code == office(rt.profile)), None)
        if head is not None:
            rows.extend(_send(session, rt, head, name, data))
        outbox.commit_and_send(session, rt.broker, rows)
        return {"slot": name, "id": report.id, "departments": len(data["departments"])}


def _send(session: Session, rt: Runtime, dept: Department, slot: str, body: dict[str, Any]) -> list[Outbox]:
    channel = dept.delivery if dept.delivery in ("email", "webhook") else "inapp"
    address = {"email": dept.email, "webhook": dept.webhook}.get(channel) or dept.code
    row = queue_notification(session, dedupe_key=f"report-{slot}-{dept.code}", channel=channel, kind="report",
                             body=json.dumps(body, ensure_ascii=False, indent=1), address=address,
                             subject=f"12345 工单日报 {slot}", department_id=dept.id)
    return [row] if row else []
