"""The operators' measures on the reports page, per operator over a period [start, end) (the page's days):

- tickets: the hotline tickets they took (every call's ticket, the form's and the call-centre system's,
  by the ticket's operator id, else the staff account that saved the form);
- 即时办结率: of those, the ones closed on the call, with its two counts (gateway/reporting/rates.py);
- time on the form: from opening the form to saving it (the form carries its signed opening time; stored on
  the report as ``form_seconds``), median and mean over the tickets that have it;
- follow-up calls completed: the phone work list's follow-up items the operator ended with the citizen reached
  (gateway/reporting/calls.py), keyed by the operator's user name.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.models import Case, Report
from gateway.reporting.calls import followup_calls_completed
from gateway.reporting.rates import on_call

UNKNOWN = "—"

@dataclass
class OperatorMeasures:
    operator: str
    tickets: int = 0
    on_call: int = 0  # closed on the call (即时办)
    form_seconds: list[float] = field(default_factory=list)
    follow_up_calls: int = 0

    @property
    def first_contact_rate(self) -> float | None:
        return round(self.on_call / self.tickets, 4) if self.tickets else None

    @property
    def median_form_seconds(self) -> float | None:
        return round(statistics.median(self.form_seconds), 1) if self.form_seconds else None

    @property
    def mean_form_seconds(self) -> float | None:
        return round(statistics.fmean(self.form_seconds), 1) if self.form_seconds else None


def operator_measures(session: Session, start: datetime, end: datetime) -> list[OperatorMeasures]:
    """Per operator, most tickets first; the operators of the follow-up calls are listed too."""
    rows = session.exec(select(Report.extra, Report.link, Case.closed_on_call).join(Case, col(Case.id) == Report.case_id)
                        .where(Report.channel == "hotline", col(Report.received_at) >= start,
                               col(Report.received_at) < end)).all()
    found: dict[str, OperatorMeasures] = {}
    for extra, link, closed in rows:
        who = str(extra.get("operator_id") or extra.get("operator_user") or UNKNOWN)
        row = found.setdefault(who, OperatorMeasures(who))
        row.tickets += 1
        row.on_call += on_call(link, closed)
        seconds = extra.get("form_seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            row.form_seconds.append(float(seconds))
    for who, done in followup_calls_completed(session, start, end).items():
        name = who.removeprefix("user:")
        found.setdefault(name, OperatorMeasures(name)).follow_up_calls = done
    return sorted(found.values(), key=lambda r: (-r.tickets, r.operator))
