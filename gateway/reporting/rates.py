"""The rates units are ranked by: one module, one formula each, over one period [start, end).

Used by the twice-daily report (its window: since the previous report time), the rankings page (the chosen
range) and so the API that serves the report. Each rate is a fraction of two counts kept beside it, None
when there is nothing to divide by:

- 响应率 (response) = assignments whose 回告 was due in the period and answered (signed, contact made or
  replied) by then ÷ assignments whose 回告 was due in the period;
- 按期办结率 (on time) = assignments whose 办结 was due in the period and replied by then ÷ assignments whose
  办结 was due in the period;
- 解决率 (resolution) = follow-ups answered "solved" in the period ÷ follow-ups answered in the period;
- 满意率 (satisfaction) = (满意 + 基本满意) ÷ valid answers (满意, 基本满意, 不满意) given in the period;
- 重复来电率 (repeat) = cases opened in the period that the same person reported again within the profile's
  ``[schedule] repeat_window_hours`` (default 72) ÷ cases opened in the period;
- 即时办结率 (first contact) = hotline tickets received in the period whose matter the operator answered and
  closed on the call (the ticket opened a case marked ``closed_on_call``, gateway/casework/oncall.py) ÷ hotline
  tickets received in the period (every call's ticket: the form's and the call-centre system's, new or attached).
  Overall only: such a matter reaches no unit. Its answer counts in the first two rates as the 12345 centre's
  own assignment, met at the call.

Per unit: its own assignments for the first two; the cases it leads for the other three. Overall (the key
None): every assignment, follow-up and case. Cancelled assignments and merged-away cases count nowhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, astuple, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from gateway.clock import as_utc
from gateway.models import LEAD, Assignment, Case, FollowUp, Report, table_of

GOOD = ("满意", "基本满意")
VALID = ("满意", "基本满意", "不满意")  # an unreached or refused call is no answer about satisfaction


@dataclass
class Rates:
    ack_due: int = 0
    ack_on_time: int = 0
    done_due: int = 0
    done_on_time: int = 0
    answered: int = 0
    solved: int = 0
    valid: int = 0
    satisfied: int = 0
    cases: int = 0
    repeats: int = 0
    unreachable: int = 0  # phone follow-ups that reached nobody after the last attempt: in no rate, counted apart
    refused: int = 0  # phone follow-ups the citizen refused (拒访): no answer either
    tickets: int = 0
    on_call: int = 0

    def __add__(self, other: Rates) -> Rates:
        """The counts of two units together (a unit and its sub-units): every rate recomputed from them."""
        return Rates(*(a + b for a, b in zip(astuple(self), astuple(other))))

    @staticmethod
    def _of(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def response_rate(self) -> float | None:
        return self._of(self.ack_on_time, self.ack_due)

    @property
    def on_time_rate(self) -> float | None:
        return self._of(self.done_on_time, self.done_due)

    @property
    def resolution_rate(self) -> float | None:
        return self._of(self.solved, self.answered)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._of(self.satisfied, self.valid)

    @property
    def repeat_rate(self) -> float | None:
        return self._of(self.repeats, self.cases)

    @property
    def first_contact_rate(self) -> float | None:
        return self._of(self.on_call, self.tickets)

    def as_dict(self) -> dict[str, Any]:
        """The counts and the six rates, as the report and the API carry them."""
        return {**asdict(self), "response_rate": self.response_rate, "on_time_rate": self.on_time_rate,
                "resolution_rate": self.resolution_rate, "satisfaction_rate": self.satisfaction_rate,
                "repeat_rate": self.repeat_rate, "first_contact_rate": self.first_contact_rate}


def period_rates(session: Session, start: datetime, end: datetime, repeat_window: timedelta = timedelta(hours=72)
                 ) -> dict[int | None, Rates]:
    """The rates per department id, and overall under None, for the period [start, end)."""
    rates: dict[int | None, Rates] = defaultdict(Rates)
    _clock_counts(session, rates, start, end)
    leads = _leads(session, start, end)
    _followup_counts(session, rates, leads, start, end)
    _repeat_counts(session, rates, leads, start, end, repeat_window)
    rates[None].tickets, rates[None].on_call = first_contact_counts(session, start, end)
    return dict(rates)


def on_call(link: str, closed_on_call: bool) -> bool:
    """Whether a ticket is the call whose matter the operator closed on the line (it opened that case)."""
    return bool(closed_on_call) and link == "new"


def first_contact_counts(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """即时办结率's two counts: (hotline tickets received in the period, of them closed on the call)."""
    rows = session.exec(select(Report.link, Case.closed_on_call).join(Case, col(Case.id) == Report.case_id).where(
        Report.channel == "hotline", col(Report.received_at) >= start, col(Report.received_at) < end)).all()
    return len(rows), sum(on_call(link, closed) for link, closed in rows)


def _clock_counts(session: Session, rates: dict[int | None, Rates], start: datetime, end: datetime) -> None:
    """响应率's and 按期办结率's counts, per unit in the database (GROUP BY): at a million cases a 30-day period
    holds about 80,000 assignments, 0.77 s of CPU when each row came to Python (docs/BENCHMARKS.md)."""
    a = table_of(Assignment)
    conn = session.connection()
    for due, done, count_name, met_name in ((a.c.ack_due_at, a.c.acknowledged_at, "ack_due", "ack_on_time"),
                                            (a.c.due_at, a.c.replied_at, "done_due", "done_on_time")):
        met = func.sum(case((and_(done.isnot(None), done <= due), 1), else_=0))  # answered by the time it was due
        counted = conn.execute(core_select(a.c.department_id, func.count(), met)
                               .where(a.c.status != "cancelled", due >= start, due < end).group_by(a.c.department_id))
        for dept_id, count, on_time in counted:
            for key in (dept_id, None):
                setattr(rates[key], count_name, getattr(rates[key], count_name) + int(count))
                setattr(rates[key], met_name, getattr(rates[key], met_name) + int(on_time or 0))


def _leads(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Case id -> the department leading it, for the cases the period's follow-ups and new cases touch."""
    answered = select(FollowUp.case_id).where(col(FollowUp.answered_at) >= start, col(FollowUp.answered_at) < end)
    opened = select(Case.id).where(col(Case.created_at) >= start, col(Case.created_at) < end)
    rows = session.exec(select(Assignment.case_id, Assignment.department_id).where(
        Assignment.role == LEAD, Assignment.status != "cancelled",
        col(Assignment.case_id).in_(answered.union(opened)))).all()
    return dict(rows)


def _followup_counts(session: Session, rates: dict[int | None, Rates], leads: dict[int, int], start: datetime,
                     end: datetime) -> None:
    answers = session.exec(select(FollowUp.case_id, FollowUp.satisfaction, FollowUp.solved).where(
        FollowUp.status == "answered", col(FollowUp.answered_at) >= start, col(FollowUp.answered_at) < end)).all()
    ended = session.exec(select(FollowUp.case_id, FollowUp.status).where(
        col(FollowUp.status).in_(("unreachable", "refused")), col(FollowUp.answered_at) >= start,
        col(FollowUp.answered_at) < end)).all()
    for case_id, status in ended:
        for key in {leads.get(case_id), None}:
            if status == "unreachable":
                rates[key].unreachable += 1
            else:
                rates[key].refused += 1
    for case_id, satisfaction, solved in answers:
        for key in {leads.get(case_id), None}:
            r = rates[key]
            r.answered += 1
            r.solved += bool(solved)
            if satisfaction in VALID:
                r.valid += 1
                r.satisfied += satisfaction in GOOD


def _repeat_counts(session: Session, rates: dict[int | None, Rates], leads: dict[int, int], start: datetime,
                   end: datetime, window: timedelta) -> None:
    in_period = select(Case.id).where(col(Case.created_at) >= start, col(Case.created_at) < end,
                                      col(Case.merged_into_id).is_(None))
    cases = session.exec(in_period).all()
    if not cases:
        return
    # A case is repeated when one person reported it again within the window of their first report: their second
    # report decides. The database numbers each person's reports of each case by time and returns the first two
    # of those who reported more than once (window functions, SQLite 3.25+ and PostgreSQL), instead of every
    # report of the period's cases (about 250,000 rows at a million cases: 1.4 s of CPU, docs/BENCHMARKS.md).
    # The period's cases as a subquery, not as a list of ids (one bound parameter each: PostgreSQL's driver
    # takes 65,535).
    r = table_of(Report)
    person = (r.c.case_id, r.c.contact_id)
    numbered = (core_select(r.c.case_id, r.c.contact_id, r.c.received_at,
                            func.row_number().over(partition_by=person, order_by=r.c.received_at).label("n"),
                            func.count().over(partition_by=person).label("reports"))
                .where(r.c.case_id.in_(in_period), r.c.contact_id.isnot(None)).subquery())
    firsts = session.connection().execute(
        core_select(numbered.c.case_id, numbered.c.contact_id, numbered.c.received_at)
        .where(numbered.c.reports > 1, numbered.c.n <= 2)
        .order_by(numbered.c.case_id, numbered.c.contact_id, numbered.c.n))
    first: dict[tuple[int, int], datetime] = {}
    repeated: set[int | None] = set()
    for case_id, contact_id, at in firsts:
        key = (case_id, contact_id)
        if key not in first:
            first[key] = as_utc(at)
        elif as_utc(at) - first[key] <= window:
            repeated.add(case_id)
    for opened in cases:
        if opened is None:
            continue
        for unit in {leads.get(opened), None}:
            rates[unit].cases += 1
            rates[unit].repeats += opened in repeated
