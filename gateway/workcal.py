"""The official Chinese working-day calendar and the deadline arithmetic built on it.

Pure: no Flask, database or queue. The holiday data lives in ``data/cn_calendar.toml``.

Definitions (all in the city's local time, Asia/Shanghai, whatever the input's zone):

* A **working day** is a Monday-Friday that is not an official holiday, or a weekend day
  that the State Council declared a make-up working day (调休上班).
* **Working time** is the union of the whole 24-hour spans of working days. "n working
  days" is n x 24 h of working time:

  - received at 15:00 on a working day, 3 working days -> 15:00 on the 3rd following
    working day (the rest of the first day plus the start of the last one make one day);
  - received on a non-working day (or a holiday), the clock starts at 00:00 of the next
    working day: received Saturday 10:00, 1 working day -> 00:00 Tuesday, which is the
    same instant as the end (24:00) of Monday. A due instant that lands exactly on
    midnight is returned as 00:00 of the following calendar day even when that day is
    not a working day: the deadline is "by the end of the last counted working day".
  - fractions are hours of working time: 0.5 working days = 12 h of working time.

* ``add_hours(start, h, "working")`` is deliberately simple: ``start + h`` calendar hours,
  and if that moment falls on a non-working day it moves to the same local time of the
  next working day. ``"calendar"`` mode (a "5+2" department) is ``start + h`` exactly.
* In ``"calendar"`` mode a rule of n working days is n x 24 calendar hours: weekends and
  holidays count and nothing is postponed. Calendar mode never consults the holiday data,
  so it works past the covered years; every working-mode operation raises
  :class:`CalendarRangeError` as soon as it needs a date outside them.

Inputs must be timezone-aware; results are in the input's timezone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

CITY_TZ: Final = ZoneInfo("Asia/Shanghai")
DEFAULT_PATH: Final = Path(__file__).with_name("data") / "cn_calendar.toml"

Mode = Literal["working", "calendar"]
WORKING: Final = "working"
CALENDAR: Final = "calendar"
MODES: Final = (WORKING, CALENDAR)

_DAY: Final = timedelta(days=1)


class CalendarRangeError(ValueError):
    """Raised when a working-day question is asked about a date the calendar does not cover."""

    def __init__(self, day: date, first: date, last: date) -> None:
        super().__init__(
            f"{day.isoformat()} is outside the official calendar data "
            f"({first.isoformat()}..{last.isoformat()}); add the State Council notice for "
            f"{day.year} to cn_calendar.toml"
        )
        self.day = day


class CalendarDataError(ValueError):
    """Raised when the calendar file is inconsistent (a typo there would move real deadlines)."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days for a span of whole years: holidays off, make-up weekend days on."""

    first: date
    last: date
    holidays: frozenset[date]
    makeup_days: frozenset[date]

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> WorkCalendar:
        """Read a calendar TOML file; the bundled national calendar by default."""
        with open(path or DEFAULT_PATH, "rb") as f:
            return cls.from_mapping(tomllib.load(f))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WorkCalendar:
        """Build and validate a calendar from the parsed TOML structure."""
        years = sorted(int(y) for y in data.get("years", ()))
        if not years:
            raise CalendarDataError("`years` must list the covered years")
        if years != list(range(years[0], years[-1] + 1)):
            raise CalendarDataError(f"covered years must be contiguous, got {years}")
        first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
        holidays: set[date] = set()
        makeup: set[date] = set()
        for fest in data.get("festival", ()):
            name = fest.get("name", "?")
            start, end = fest["first"], fest["last"]
            if not (isinstance(start, date) and isinstance(end, date)) or start > end:
                raise CalendarDataError(
                    f"{name}: `first`..`last` must be dates in order"
                )
            day = start
            while day <= end:
                holidays.add(day)
                day += _DAY
            for m in fest.get("makeup", ()):
                if not isinstance(m, date) or m.weekday() < 5:
                    raise CalendarDataError(
                        f"{name}: make-up day {m} is not a weekend date"
                    )
                makeup.add(m)
        for d in holidays | makeup:
            if not first <= d <= last:
                raise CalendarDataError(f"{d} lies outside the covered years {years}")
        if holidays & makeup:
            raise CalendarDataError(
                f"days both off and on: {sorted(holidays & makeup)}"
            )
        for y in years:
            if not any(d.year == y for d in holidays):
                raise CalendarDataError(f"year {y} is listed but has no holidays")
        return cls(first, last, frozenset(holidays), frozenset(makeup))

    # ------------------------------------------------------------------ days
    def _check(self, day: date) -> None:
        if not self.first <= day <= self.last:
            raise CalendarRangeError(day, self.first, self.last)

    def is_working_day(self, d: date) -> bool:
        """Tell whether ``d`` (a date, or an aware datetime read in city time) is a working day."""
        day = _local_date(d)
        self._check(day)
        if day in self.makeup_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, d: date) -> date:
        """Return the first working day strictly after ``d``."""
        day = d + _DAY
        while not self.is_working_day(day):
            day += _DAY
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Count working days in ``[a, b)``, negative when ``b`` is before ``a``.

        Datetimes are read as their city-time dates. Like ``numpy.busday_count``:
        the start day counts, the end day does not, so
        ``working_days_between(start, add_working_days(start, n))`` is ``n``.
        """
        da, db = _local_date(a), _local_date(b)
        if db < da:
            return -self.working_days_between(db, da)
        count, day = 0, da
        while day < db:
            count += self.is_working_day(day)
            day += _DAY
        return count

    # ------------------------------------------------------------------ deadlines
    def add_working_days(self, start: datetime, n: float) -> datetime:
        """Return the moment ``n`` working days (n x 24 h of working time) after ``start``.

        See the module docstring for the exact rule; the result is in ``start``'s zone.
        """
        if n < 0:
            raise ValueError(f"working days must be >= 0, got {n}")
        local = _to_city(start)
        day = local.date()
        if not self.is_working_day(day):
            day = self.next_working_day(day)
            local = datetime.combine(day, time(0), CITY_TZ)
        remaining = timedelta(days=n)
        while True:
            end_of_day = datetime.combine(day + _DAY, time(0), CITY_TZ)
            available = end_of_day - local
            if remaining <= available:
                return (local + remaining).astimezone(start.tzinfo)
            remaining -= available
            day = self.next_working_day(day)
            local = datetime.combine(day, time(0), CITY_TZ)

    def add_hours(self, start: datetime, hours: float, mode: str = WORKING) -> datetime:
        """Return ``start + hours``; in working mode a due moment on a day off moves to the next working day.

        The move keeps the local time of day: due Saturday 10:00 -> Monday 10:00.
        """
        _check_mode(mode)
        if hours < 0:
            raise ValueError(f"hours must be >= 0, got {hours}")
        local = _to_city(start) + timedelta(hours=hours)
        if mode == WORKING and not self.is_working_day(local.date()):
            day = self.next_working_day(local.date())
            local = datetime.combine(day, local.timetz())
        return local.astimezone(start.tzinfo)

    def due_time(
        self, received_at: datetime, rule: Mapping[str, Any], mode: str = WORKING
    ) -> datetime:
        """Return the deadline for ``rule`` ({"hours": h} or {"working_days": n}) under ``mode``."""
        _check_mode(mode)
        if len(rule) != 1 or not set(rule) <= {"hours", "working_days"}:
            raise ValueError(
                f"a deadline rule is exactly one of hours / working_days, got {dict(rule)}"
            )
        if "hours" in rule:
            return self.add_hours(received_at, float(rule["hours"]), mode)
        n = rule["working_days"]
        if mode == CALENDAR:
            _to_city(received_at)  # same awareness check as working mode
            if n < 0:
                raise ValueError(f"working days must be >= 0, got {n}")
            return received_at + timedelta(days=n)
        return self.add_working_days(received_at, n)


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """Return the bundled national calendar, read once per process on first use."""
    return WorkCalendar.load()


def due_time(
    received_at: datetime,
    rule: Mapping[str, Any],
    mode: str = WORKING,
    calendar: WorkCalendar | None = None,
) -> datetime:
    """Return the deadline for ``rule`` under ``mode`` on ``calendar`` (the national one by default)."""
    return (calendar or default_calendar()).due_time(received_at, rule, mode)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"calendar mode must be one of {MODES}, got {mode!r}")


def _to_city(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            "naive datetime: pass a timezone-aware one (UTC or Asia/Shanghai)"
        )
    return moment.astimezone(CITY_TZ)


def _local_date(d: date) -> date:
    if isinstance(d, datetime):
        return _to_city(d).date()
    return d


__all__ = [
    "CALENDAR",
    "CITY_TZ",
    "WORKING",
    "CalendarDataError",
    "CalendarRangeError",
    "WorkCalendar",
    "default_calendar",
    "due_time",
]
