"""The numbers of the reports page: department rankings (on the rates of gateway.reporting.rates), hot issues,
volume by channel and category."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.models import Assignment, Case, Department, Report, table_of
from gateway.reporting.rates import Rates, period_rates


@dataclass
class Ranking:
    department: Department
    received: int  # assignments dispatched in the range, its sub-units' included
    rates: Rates  # the five rates of gateway.reporting.rates over the range, its sub-units' included
    sub_units: int = 0  # how many sub-units' figures are rolled up into this row


def rankings(session: Session, since: datetime, until: datetime, repeat_window: timedelta = timedelta(hours=72)
             ) -> tuple[list[Ranking], Rates]:
    """Every top-level department with assignments due or received in [since, until), its sub-units (街道, 处室)
    rolled up into it, best on-time completion first; and the rates of the whole city (first contact included)."""
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
    return out, per_unit.get(None, Rates())


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


def _daily(counted: Iterable[tuple[datetime, str | None, int]], axis: list[date], tz: ZoneInfo) -> dict[str, list[int]]:
    """Add up (time, key, count) per key and local day, one value per day of the axis."""
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for at, key, n in counted:
        counts[key or "—"][as_utc(at).astimezone(tz).date()] += n
    return {key: [per_day[d] for d in axis] for key, per_day in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))}


def _per_hour(session: Session, at: Any, key: Any, where: list[Any], axis: list[date], tz: ZoneInfo
              ) -> Iterable[tuple[datetime, str | None, int]]:
    """(time, key, count) of the rows ``where`` selects: counted per UTC hour in the database when every day of the
    axis is a whole number of hours from UTC in ``tz`` (an hour then lies in one local day), else one per row. At a
    million cases a 30-day page counts about 250,000 reports: 0.67 s of CPU one by one (docs/BENCHMARKS.md)."""
    if any((tz.utcoffset(datetime.combine(d, time())) or timedelta()).total_seconds() % 3600 for d in axis):
        return ((moment, value, 1) for moment, value in session.connection().execute(core_select(at, key).where(*where)))
    if session.get_bind().dialect.name == "postgresql":
        hour = func.to_char(func.timezone("UTC", at), "YYYY-MM-DD HH24")
    else:  # SQLite keeps a moment as UTC text (models.UTCDateTime)
        hour = func.strftime("%Y-%m-%d %H", at)
    rows = session.connection().execute(core_select(hour, key, func.count()).where(*where).group_by(hour, key))
    return ((datetime.strptime(h, "%Y-%m-%d %H").replace(tzinfo=timezone.utc), value, int(n)) for h, value, n in rows)


def volume_by_channel(session: Session, since: datetime, axis: list[date], tz: ZoneInfo) -> dict[str, list[int]]:
    """Reports received per channel and local day."""
    r = table_of(Report)
    return _daily(_per_hour(session, r.c.received_at, r.c.channel, [r.c.received_at >= since], axis, tz), axis, tz)


def volume_by_category(session: Session, since: datetime, axis: list[date], tz: ZoneInfo) -> dict[str, list[int]]:
    """New cases per category and local day."""
    c = table_of(Case)
    where = [c.c.created_at >= since, c.c.merged_into_id.is_(None)]
    return _daily(_per_hour(session, c.c.created_at, c.c.category, where, axis, tz), axis, tz)
