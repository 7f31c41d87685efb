"""The numbers of the reports page: department rankings (on the rates of gateway.reporting.rates), hot issues,
volume by channel and category."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.models import Assignment, Case, Department, Report
from gateway.reporting.rates import Rates, period_rates


@dataclass
class Ranking:
    department: Department
    received: int  # assignments dispatched in the range, its sub-units' included
    rates: Rates  # the five rates of gateway.reporting.rates over the range, its sub-units' included
    sub_units: int = 0  # how many sub-units' figures are rolled up into this row


def rankings(session: Session, since: datetime, until: datetime, repeat_window: timedelta = timedelta(hours=72)
             ) -> list[Ranking]:
    """Every top-level department with assignments due or received in [since, until), its sub-units (街道, 处室)
    rolled up into it; best on-time completion first."""
    received = dict(session.exec(
        select(Assignment.department_id, func.count())
        .where(Assignment.status != "cancelled", col(Assignment.dispatched_at) >= since,
               col(Assignment.dispatched_at) < until)
        .group_by(col(Assignment.department_id))
    ).all())
    per_unit = period_rates(session, since, until, repeat_window)
    departments = {d.id: d for d in session.exec(select(Department)).all()}
    ids = {i for i in (set(received) | {k for k, r in per_unit.items() if r.ack_due or r.done_due}) & set(departments)
           if i is not None}
    rows: dict[int, Ranking] = {}
    for unit in ids:
        top = _top(departments, unit)
        row = rows.setdefault(top, Ranking(departments[top], 0, Rates()))
        row.received += int(received.get(unit, 0))
        row.rates = row.rates + per_unit.get(unit, Rates())
        row.sub_units += unit != top
    out = list(rows.values())
    out.sort(key=lambda r: (-(r.rates.on_time_rate or 0), -(r.rates.response_rate or 0), r.department.code))
    return out


def _top(departments: dict[int | None, Department], unit: int) -> int:
    """The top-level unit a department belongs to (itself when it has no parent)."""
    seen = {unit}
    while (parent := departments[unit].parent_id) is not None and parent in departments and parent not in seen:
        seen.add(parent)
        unit = parent
    return unit


def cumulative_replies(session: Session) -> int:
    """Every answer a department has given, all time."""
    return session.exec(select(func.count()).select_from(Assignment).where(col(Assignment.replied_at).is_not(None))).one()


def hot_issues(session: Session, since: datetime, limit: int = 10) -> list[Case]:
    """The cases with the most reporters among those reported on since `since`."""
    return list(session.exec(
        select(Case).where(col(Case.merged_into_id).is_(None), Case.last_report_at >= since, Case.reporter_count > 1)
        .order_by(col(Case.reporter_count).desc(), col(Case.last_report_at).desc()).limit(limit)
    ).all())


def days(since: datetime, until: datetime, tz: ZoneInfo) -> list[date]:
    first, last = as_utc(since).astimezone(tz).date(), as_utc(until).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _daily(pairs: list[tuple[datetime, str | None]], axis: list[date], tz: ZoneInfo) -> dict[str, list[int]]:
    """Count (time, key) pairs per key and local day, one value per day of the axis."""
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for at, key in pairs:
        counts[key or "—"][as_utc(at).astimezone(tz).date()] += 1
    return {key: [per_day[d] for d in axis] for key, per_day in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))}


def volume_by_channel(session: Session, since: datetime, axis: list[date], tz: ZoneInfo) -> dict[str, list[int]]:
    """Reports received per channel and local day."""
    pairs = session.exec(select(Report.received_at, Report.channel).where(Report.received_at >= since)).all()
    return _daily(list(pairs), axis, tz)


def volume_by_category(session: Session, since: datetime, axis: list[date], tz: ZoneInfo) -> dict[str, list[int]]:
    """New cases per category and local day."""
    pairs = session.exec(select(Case.created_at, Case.category).where(Case.created_at >= since, col(Case.merged_into_id).is_(None))).all()
    return _daily(list(pairs), axis, tz)
