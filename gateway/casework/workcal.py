"""The official Chinese working-day calendar, the notice reader, and the deadline arithmetic built on it.

Pure: no Flask, database or queue. The bundled years live in ``data/cn_calendar.toml``; more come from
the State Council's yearly notices, read by :func:`parse_notice` (the gateway stores them in its
database, ``gateway/casework/calendars.py``).

Definitions (all in the city's local time, Asia/Shanghai, whatever the input's zone):

* A **working day** is a Monday-Friday that is not an official holiday, or a weekend day
  that the State Council declared a make-up working day (调休上班).
* A year that no notice covers is **provisional**: its days off are the statutory holidays of the
  ``holidays`` package (with the days it moves off a weekend), and it has no make-up days. It is never
  counted in plain calendar days; :meth:`WorkCalendar.provisional_years` names it so the caller can flag
  the deadline and recompute it when the notice arrives.
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
  holidays count and nothing is postponed.

Inputs must be timezone-aware; results are in the input's timezone.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import holidays

CITY_TZ: Final = ZoneInfo("Asia/Shanghai")
DEFAULT_PATH: Final = Path(__file__).parents[1] / "data" / "cn_calendar.toml"

Mode = Literal["working", "calendar"]
WORKING: Final = "working"
CALENDAR: Final = "calendar"
MODES: Final = (WORKING, CALENDAR)

_DAY: Final = timedelta(days=1)


class CalendarDataError(ValueError):
    """Raised when calendar data is inconsistent (a typo there would move real deadlines)."""


class NoticeError(CalendarDataError):
    """Raised when a State Council notice cannot be read; the message names the line."""


@dataclass(frozen=True)
class Festival:
    """One numbered item of a notice: the days off (first..last) and the weekend days worked (调休上班)."""

    name: str
    first: date
    last: date
    makeup: tuple[date, ...] = ()

    def days_off(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class YearDays:
    """The official days of one year, as its State Council notice sets them."""

    year: int
    festivals: tuple[Festival, ...]

    @property
    def holidays(self) -> frozenset[date]:
        return frozenset(d for f in self.festivals for d in f.days_off())

    @property
    def makeup_days(self) -> frozenset[date]:
        return frozenset(d for f in self.festivals for d in f.makeup)

    @classmethod
    def checked(cls, year: int, festivals: Iterable[Festival]) -> YearDays:
        """Validate the festivals of one year: ranges in order, make-up days on weekends, no day both off and on."""
        items = tuple(festivals)
        if not items:
            raise CalendarDataError(f"year {year} is listed but has no holidays")
        for f in items:
            if f.first > f.last:
                raise CalendarDataError(f"{f.name}: `first`..`last` must be dates in order")
            for m in f.makeup:
                if m.weekday() < 5:
                    raise CalendarDataError(f"{f.name}: make-up day {m} is not a weekend date")
            for d in (f.first, f.last, *f.makeup):
                if not (d.year == year or (d.year == year - 1 and d.month == 12)):  # 元旦 may start on 12月31日
                    raise CalendarDataError(f"{f.name}: {d} lies outside the covered years [{year}]")
        days = cls(year, items)
        if days.holidays & days.makeup_days:
            raise CalendarDataError(f"days both off and on: {sorted(days.holidays & days.makeup_days)}")
        return days


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """The base of a year no notice covers: its statutory holidays (the `holidays` package, with the days it
    moves off a weekend), without the bridged days and make-up working weekends that only a notice sets."""
    days = holidays.country_holidays("CN", years=year, language="en_US")
    return frozenset(d for d, name in days.items() if not name.startswith("Day off (substituted"))


@dataclass(frozen=True)
class WorkCalendar:
    """Working days for any year: the official years from the notices; any other year on its statutory base,
    which is *provisional* (deadlines are computed and flagged, never in plain calendar days)."""

    years: Mapping[int, YearDays]
    _off: frozenset[date] = field(init=False, repr=False, compare=False)
    _on: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A notice may reach into a neighbouring year (元旦 from 12月31日): its days count by date.
        object.__setattr__(self, "_off", frozenset(d for y in self.years.values() for d in y.holidays))
        object.__setattr__(self, "_on", frozenset(d for y in self.years.values() for d in y.makeup_days))

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
        by_year: dict[int, list[Festival]] = {y: [] for y in years}
        for fest in data.get("festival", ()):
            name, first, last = fest.get("name", "?"), fest["first"], fest["last"]
            if not (isinstance(first, date) and isinstance(last, date)):
                raise CalendarDataError(f"{name}: `first`..`last` must be dates in order")
            makeup = tuple(fest.get("makeup", ()))
            if any(not isinstance(m, date) for m in makeup):
                raise CalendarDataError(f"{name}: make-up days must be dates")
            if last.year not in by_year:
                raise CalendarDataError(f"{last} lies outside the covered years {years}")
            by_year[last.year].append(Festival(name, first, last, makeup))
        return cls({y: YearDays.checked(y, by_year[y]) for y in years})

    def with_years(self, extra: Iterable[YearDays]) -> WorkCalendar:
        """This calendar with more official years (an imported notice replaces its year)."""
        return WorkCalendar({**self.years, **{y.year: y for y in extra}})

    # ------------------------------------------------------------------ days
    def is_official(self, year: int) -> bool:
        """Whether a notice covers ``year`` (else its days are the provisional base)."""
        return year in self.years

    def provisional_years(self, a: date, b: date) -> tuple[int, ...]:
        """The years between two days (or aware datetimes, read in city time) that no notice covers."""
        first, last = sorted((_local_date(a), _local_date(b)))
        return tuple(y for y in range(first.year, last.year + 1) if y not in self.years)

    def is_working_day(self, d: date) -> bool:
        """Tell whether ``d`` (a date, or an aware datetime read in city time) is a working day."""
        day = _local_date(d)
        if day in self._on:
            return True
        if day.weekday() >= 5 or day in self._off:
            return False
        return day.year in self.years or day not in statutory_holidays(day.year)

    def is_holiday(self, d: date) -> bool:
        """Whether ``d`` (a date, or an aware datetime read in city time) is an official day off (a festival of a
        notice, or a statutory holiday of a year no notice covers), as against an ordinary weekend."""
        day = _local_date(d)
        if day in self._on:
            return False
        return day in self._off or (day.year not in self.years and day in statutory_holidays(day.year))

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

_NUMERAL_ITEM: Final = re.compile(r"^\s*[一二三四五六七八九十]+、\s*(?P<name>[^：:]+?)\s*[：:](?P<body>.+)$")
_TITLE_YEAR: Final = re.compile(r"(\d{4})年(?:元旦、春节等)?部分节假日安排")
_DATE: Final = re.compile(
    r"(?:(?P<y>\d{4})年)?(?:(?P<m>\d{1,2})月)?(?P<d>\d{1,2})日(?:[（(](?P<note>[^）)]*)[）)])?")
_WEEKDAYS: Final = "一二三四五六日"
_TOTAL: Final = re.compile(r"共(\d+)天")


def parse_notice(text: str, year: int | None = None) -> YearDays:
    """Read a State Council holiday notice as published (国务院办公厅关于YYYY年部分节假日安排的通知).

    Each numbered item gives a festival: ``一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。``
    The days off are the date or range of the sentence that says 放假, the make-up working days every
    date of a sentence that says 上班. Weekdays in brackets and 共N天 are checked against the dates, so a
    misread or mistyped notice is refused with the line named instead of moving real deadlines.
    """
    found = _TITLE_YEAR.search(text)
    if found and year is not None and int(found.group(1)) != year:
        raise NoticeError(f"the notice is for {found.group(1)}, not {year}")
    if year is not None:
        notice_year = year
    elif found is not None:
        notice_year = int(found.group(1))
    else:
        raise NoticeError("no year: the title (国务院办公厅关于YYYY年部分节假日安排的通知) is missing; give the year")
    festivals = []
    for number, line in enumerate(text.splitlines(), 1):
        item = _NUMERAL_ITEM.match(line.strip())
        if item is not None:
            festivals.append(_festival(item.group("name"), item.group("body"), notice_year, f"line {number}: {line.strip()}"))
    if not festivals:
        raise NoticeError("no numbered festival items (一、元旦：…) found in the notice")
    try:
        return YearDays.checked(notice_year, festivals)
    except NoticeError:
        raise
    except CalendarDataError as exc:
        raise NoticeError(str(exc)) from exc


def _festival(name: str, body: str, year: int, where: str) -> Festival:
    off: list[date] = []
    makeup: list[date] = []
    for sentence in re.split(r"[。；;]", body):
        dates = _dates(sentence, year, where)
        if "放假" in sentence and not off:
            head = sentence[: sentence.index("放假")]
            ranged = [d for d, pos in dates if pos < len(head)]
            if not ranged:
                raise NoticeError(f"{where}: no date before 放假")
            if len(ranged) > 2 or (len(ranged) == 2 and "至" not in head):
                raise NoticeError(f"{where}: expected one day or a range 'A至B' before 放假")
            off = [ranged[0], ranged[-1]]
            total = _TOTAL.search(sentence) or re.search(r"放假(\d+)天", sentence)
            days = (off[1] - off[0]).days + 1
            if total is not None and int(total.group(1)) != days:
                raise NoticeError(f"{where}: {off[0]}..{off[1]} is {days} days, the notice says {total.group(1)}")
        elif "上班" in sentence:
            makeup.extend(d for d, _ in dates)
    if not off:
        raise NoticeError(f"{where}: no days off (放假) found")
    if off[0] > off[1]:
        raise NoticeError(f"{where}: the range {off[0]}..{off[1]} ends before it starts")
    return Festival(name.strip(), off[0], off[1], tuple(makeup))


def _dates(sentence: str, year: int, where: str) -> list[tuple[date, int]]:
    """The dates of one sentence with their positions; a missing month or year is the previous date's."""
    out: list[tuple[date, int]] = []
    y, m = year, None
    for found in _DATE.finditer(sentence):
        y = int(found.group("y")) if found.group("y") else y
        m = int(found.group("m")) if found.group("m") else m
        if m is None:
            raise NoticeError(f"{where}: {found.group(0)!r} has no month")
        try:
            day = date(y, m, int(found.group("d")))
        except ValueError as exc:
            raise NoticeError(f"{where}: {found.group(0)!r} is not a date ({exc})") from exc
        said = re.search(r"(?:周|星期)([一二三四五六日天])", found.group("note") or "")
        if said is not None:
            weekday = _WEEKDAYS.index(said.group(1).replace("天", "日"))
            if weekday != day.weekday():
                raise NoticeError(f"{where}: {day} is a 周{_WEEKDAYS[day.weekday()]}, the notice says 周{said.group(1)}")
        out.append((day, found.start()))
    return out


def notice_lines(days: YearDays) -> list[str]:
    """A year's festivals as readable lines (what `hotline calendar show` prints)."""
    lines = []
    for f in days.festivals:
        span = f"{f.first:%m-%d}" if f.first == f.last else f"{f.first:%m-%d}..{f.last:%m-%d}"
        if f.first.year != f.last.year:
            span = f"{f.first}..{f.last}"
        worked = "、".join(f"{d:%m-%d}" for d in f.makeup)
        lines.append(f"{f.name}: {span} 放假 ({len(f.days_off())} 天)" + (f"; {worked} 上班" if worked else ""))
    return lines


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """Return the bundled national calendar (no imported notices), read once per process on first use."""
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
    "Festival",
    "NoticeError",
    "WorkCalendar",
    "YearDays",
    "default_calendar",
    "due_time",
    "parse_notice",
]
