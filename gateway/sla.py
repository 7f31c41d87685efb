"""Deadlines from the city profile's SLA rules on the official calendar, computed once and stored.

A rule is {"hours": h} or {"working_days": n}. A department's calendar is "working" (the
official Chinese calendar of gateway/workcal.py) or "5+2" (weekends count, nothing is
postponed). Past the years the calendar covers, working-day arithmetic falls back to
calendar days and says so loudly (a log line and an Event): dispatch never crashes on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.profile import Profile
from gateway.workcal import CALENDAR, CITY_TZ, WORKING, CalendarRangeError, default_calendar

log = logging.getLogger(__name__)

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "consultation": {"hours": 24},
    "single": {"hours": 24},
    "joint": {"working_days": 3},
    "complex": {"working_days": 5},
}


@dataclass(frozen=True)
class Due:
    """A deadline and, when the official calendar did not cover it, the warning to record."""

    at: datetime
    warning: str | None = None


def calendar_warning(exc: CalendarRangeError) -> str:
    """The loud message for a year the bundled calendar lacks."""
    return f"calendar for {exc.day.year} missing: update gateway/data/cn_calendar.toml (calendar days used instead)"


def mode_of(calendar: str | None) -> str:
    """The workcal mode of a department calendar setting ("5+2" counts every day)."""
    return CALENDAR if calendar in ("5+2", CALENDAR) else WORKING


def rule_for(profile: Profile, appeal_type: str | None, departments: int, complexity: str = "normal") -> tuple[str, dict[str, Any]]:
    """Which SLA rule applies: consultation, 1-2 departments, joint handling, or especially complex."""
    if complexity == "complex":
        name = "complex"
    elif appeal_type == "咨询":
        name = "consultation"
    elif departments > 2:
        name = "joint"
    else:
        name = "single"
    return name, dict(profile.sla.get(name) or DEFAULT_RULES[name])


def due(start: datetime, rule: dict[str, Any], calendar: str | None = "working") -> Due:
    """The moment a rule's time runs out; calendar days (with a warning) past the covered years."""
    mode = mode_of(calendar)
    try:
        return Due(default_calendar().due_time(start, rule, mode))
    except CalendarRangeError as exc:
        warning = calendar_warning(exc)
        log.error("SLA: %s", warning)
        return Due(default_calendar().due_time(start, rule, CALENDAR), warning)


def working_days_after(day: date, moment: datetime, calendar: str | None = "working") -> tuple[int, str | None]:
    """How many working days after ``day`` have begun by ``moment`` (the due day itself not counted)."""
    start = day + timedelta(days=1)
    end = moment.astimezone(CITY_TZ).date() + timedelta(days=1)
    if mode_of(calendar) == CALENDAR:
        return max(0, (end - start).days), None
    try:
        return max(0, default_calendar().working_days_between(start, end)), None
    except CalendarRangeError as exc:
        warning = calendar_warning(exc)
        log.error("SLA: %s", warning)
        return max(0, (end - start).days), warning

