"""The numbers of the reports page: department rankings, hot issues, volume by channel and category."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.models import Assignment, Case, Department, Report

# A seam for the dispatch branch's follow-ups: (session, since) -> {department_id: (satisfied, answered)},
# where satisfied counts "satisfied" and "basically satisfied" answers. Absent: satisfaction shows "—".
SatisfactionSource = Callable[[Session, datetime], dict[int, tuple[int, int]]]


@dataclass
class Ranking:
    department: Department
    received: int
    in_time: int
    replied: int
    satisfied: int
    answered: int

    @property
    def response_rate(self) -> float | None:
        return self.in_time / self.received if self.received else None

    @property
    def resolution_rate(self) -> float | None:
        return self.replied / self.received if self.received else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None


def _in_time() -> Any:
    """1 when the assignment was signed or replied before its due time (or had none), else 0."""
    answered = or_(col(Assignment.signed_at).is_not(None), col(Assignment.replied_at).is_not(None))
    return case(
        (and_(col(Assignment.due_at).is_(None), answered), 1),
        (or_(col(Assignment.signed_at) <= Assignment.due_at, col(Assignment.replied_at) <= Assignment.due_at), 1),
        else_=0,
    )


def rankings(session: Session, since: datetime, satisfaction: SatisfactionSource | None = None) -> list[Ranking]:
    """Every department that received assignments since `since`, best resolution rate first."""
    rows = session.exec(
        select(Assignment.department_id, func.count(), func.sum(_in_time()), func.count(col(Assignment.replied_at)))
        .where(Assignment.status != "cancelled", col(Assignment.dispatched_at) >= since)
        .group_by(col(Assignment.department_id))
    ).all()
    departments = {d.id: d for d in session.exec(select(Department)).all()}
    scores = satisfaction(session, since) if satisfaction else {}
    out = [Ranking(departments[dept_id], received, int(in_time or 0), replied, *scores.get(dept_id, (0, 0)))
           for dept_id, received, in_time, replied in rows if dept_id in departments]
    out.sort(key=lambda r: (-(r.resolution_rate or 0), -(r.response_rate or 0), r.department.code))
    return out


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
