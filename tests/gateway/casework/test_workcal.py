"""The official working-day calendar and deadline arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.casework.workcal import CITY_TZ, CalendarDataError, WorkCalendar, default_calendar, due_time


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CITY_TZ)


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        # 2024
        (date(2024, 1, 1), False, "New Year"),
        (date(2024, 1, 2), True, "ordinary Tuesday"),
        (date(2024, 2, 4), True, "Spring Festival make-up Sunday"),
        (date(2024, 2, 9), True, "New Year's Eve is only encouraged off"),
        (date(2024, 2, 10), False, "Spring Festival"),
        (date(2024, 2, 16), False, "Spring Festival, a Friday"),
        (date(2024, 2, 18), True, "Spring Festival make-up Sunday"),
        (date(2024, 4, 5), False, "Qingming"),
        (date(2024, 4, 7), True, "Qingming make-up Sunday"),
        (date(2024, 4, 28), True, "Labour Day make-up Sunday"),
        (date(2024, 5, 3), False, "Labour Day"),
        (date(2024, 5, 11), True, "Labour Day make-up Saturday"),
        (date(2024, 6, 10), False, "Dragon Boat"),
        (date(2024, 9, 14), True, "Mid-Autumn make-up Saturday"),
        (date(2024, 9, 16), False, "Mid-Autumn"),
        (date(2024, 9, 29), True, "National Day make-up Sunday"),
        (date(2024, 10, 7), False, "National Day"),
        (date(2024, 10, 12), True, "National Day make-up Saturday"),
        # 2025
        (date(2025, 1, 1), False, "New Year"),
        (date(2025, 1, 26), True, "Spring Festival make-up Sunday"),
        (date(2025, 1, 27), True, "Monday before the Eve"),
        (date(2025, 1, 28), False, "Spring Festival Eve"),
        (date(2025, 2, 4), False, "Spring Festival last day"),
        (date(2025, 2, 5), True, "back to work"),
        (date(2025, 2, 8), True, "Spring Festival make-up Saturday"),
        (date(2025, 2, 9), False, "ordinary Sunday"),
        (date(2025, 4, 4), False, "Qingming"),
        (date(2025, 4, 27), True, "Labour Day make-up Sunday"),
        (date(2025, 5, 5), False, "Labour Day, a Monday"),
        (date(2025, 6, 2), False, "Dragon Boat, a Monday"),
        (date(2025, 9, 28), True, "National Day make-up Sunday"),
        (date(2025, 10, 8), False, "National Day + Mid-Autumn, a Wednesday"),
        (date(2025, 10, 11), True, "National Day make-up Saturday"),
        # 2026
        (date(2026, 1, 2), False, "New Year, a Friday"),
        (date(2026, 1, 4), True, "New Year make-up Sunday"),
        (date(2026, 2, 14), True, "Spring Festival make-up Saturday"),
        (date(2026, 2, 23), False, "Spring Festival, a Monday"),
        (date(2026, 2, 28), True, "Spring Festival make-up Saturday"),
        (date(2026, 4, 6), False, "Qingming, a Monday"),
        (date(2026, 5, 5), False, "Labour Day, a Tuesday"),
        (date(2026, 5, 9), True, "Labour Day make-up Saturday"),
        (date(2026, 6, 19), False, "Dragon Boat, a Friday"),
        (date(2026, 9, 20), True, "National Day make-up Sunday"),
        (date(2026, 9, 25), False, "Mid-Autumn, a Friday"),
        (date(2026, 10, 7), False, "National Day, a Wednesday"),
        (date(2026, 10, 10), True, "National Day make-up Saturday"),
        (date(2026, 12, 31), True, "last covered day"),
    ],
)
def test_official_days_are_classified(
    cal: WorkCalendar, day: date, working: bool, why: str
) -> None:
    assert cal.is_working_day(day) is working, why


def test_each_year_has_its_published_number_of_working_days(cal: WorkCalendar) -> None:
    counts = {}
    for year in (2024, 2025, 2026):
        day, n = date(year, 1, 1), 0
        while day.year == year:
            n += cal.is_working_day(day)
            day += timedelta(days=1)
        counts[year] = n
    assert counts == {2024: 251, 2025: 248, 2026: 248}


@pytest.mark.parametrize(
    ("start", "n", "due", "why"),
    [
        (
            sh(2025, 3, 3, 15),
            3,
            sh(2025, 3, 6, 15),
            "Monday 15:00 + 3 -> Thursday 15:00",
        ),
        (sh(2025, 3, 7, 15), 1, sh(2025, 3, 10, 15), "Friday skips the weekend"),
        (
            sh(2025, 3, 8, 10),
            1,
            sh(2025, 3, 11, 0),
            "Saturday starts Monday 00:00, due end of Monday",
        ),
        (sh(2025, 3, 3, 0), 3, sh(2025, 3, 6, 0), "three whole working days"),
        (sh(2025, 3, 3, 15), 0, sh(2025, 3, 3, 15), "zero days is now"),
        (
            sh(2025, 3, 3, 6),
            0.5,
            sh(2025, 3, 3, 18),
            "half a day is twelve working hours",
        ),
        (sh(2025, 3, 3, 18), 0.5, sh(2025, 3, 4, 6), "half a day runs over midnight"),
        (
            sh(2025, 1, 24, 15),
            3,
            sh(2025, 2, 5, 15),
            "Fri before Spring Festival: Sun 26, Mon 27, Wed 5 Feb",
        ),
        (sh(2025, 1, 27, 9), 5, sh(2025, 2, 10, 9), "make-up Saturday 8 Feb counts"),
        (
            sh(2025, 1, 30, 11),
            1,
            sh(2025, 2, 6, 0),
            "received during the festival: whole of 5 Feb",
        ),
        (
            sh(2024, 2, 8, 15),
            3,
            sh(2024, 2, 19, 15),
            "Fri 9 Feb, make-up Sun 18 Feb, Mon 19 Feb",
        ),
        (sh(2025, 4, 25, 12), 2, sh(2025, 4, 28, 12), "make-up Sunday 27 Apr counts"),
        (
            sh(2025, 9, 30, 15),
            3,
            sh(2025, 10, 11, 15),
            "National Day 8 days, due on make-up Sat 11 Oct",
        ),
        (
            sh(2026, 2, 13, 17),
            1,
            sh(2026, 2, 14, 17),
            "make-up Saturday before 2026 Spring Festival",
        ),
        (
            sh(2026, 2, 14, 17),
            1,
            sh(2026, 2, 24, 17),
            "2026 festival runs to Monday 23 Feb",
        ),
        (sh(2026, 12, 30, 10), 1, sh(2026, 12, 31, 10), "last covered day is usable"),
    ],
)
def test_working_days_are_added_over_weekends_and_holidays(
    cal: WorkCalendar, start: datetime, n: float, due: datetime, why: str
) -> None:
    assert cal.add_working_days(start, n) == due, why


def test_a_utc_input_is_counted_in_city_time_and_returned_in_utc(
    cal: WorkCalendar,
) -> None:
    # 2025-01-27 23:30 UTC is 07:30 on the 28th (Spring Festival Eve) in the city.
    start = datetime(2025, 1, 27, 23, 30, tzinfo=UTC)
    due = cal.add_working_days(start, 1)
    assert due.tzinfo is UTC
    assert due == sh(2025, 2, 6, 0)
    assert due == datetime(2025, 2, 5, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "mode", "due"),
    [
        (sh(2025, 3, 3, 10), 24, "working", sh(2025, 3, 4, 10)),
        (sh(2025, 3, 7, 10), 24, "working", sh(2025, 3, 10, 10)),
        (sh(2025, 3, 7, 10), 24, "calendar", sh(2025, 3, 8, 10)),
        (sh(2025, 1, 27, 16), 24, "working", sh(2025, 2, 5, 16)),
        (sh(2025, 1, 27, 16), 24, "calendar", sh(2025, 1, 28, 16)),
        (sh(2025, 2, 7, 9), 24, "working", sh(2025, 2, 8, 9)),
        (sh(2025, 3, 8, 10), 2, "working", sh(2025, 3, 10, 12)),
        (sh(2025, 3, 3, 10), 0, "working", sh(2025, 3, 3, 10)),
    ],
)
def test_hours_postpone_only_a_due_moment_on_a_day_off(
    cal: WorkCalendar, start: datetime, hours: float, mode: str, due: datetime
) -> None:
    assert cal.add_hours(start, hours, mode) == due


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        (date(2025, 3, 3), date(2025, 3, 3), 0),
        (date(2025, 3, 3), date(2025, 3, 10), 5),
        (date(2025, 3, 10), date(2025, 3, 3), -5),
        (date(2025, 1, 25), date(2025, 2, 9), 6),  # Sun 26, Mon 27; Wed 5..Fri 7, Sat 8
        (
            date(2025, 9, 27),
            date(2025, 10, 13),
            6,
        ),  # Sun 28, Mon 29, Tue 30; Thu 9, Fri 10, Sat 11
        (
            sh(2025, 3, 2, 20),
            datetime(2025, 3, 3, 16, tzinfo=UTC),
            1,
        ),  # city dates Mon 3 -> Tue 4
    ],
)
def test_working_days_between_counts_the_start_but_not_the_end(
    cal: WorkCalendar, a: date | datetime, b: date | datetime, count: int
) -> None:
    assert cal.working_days_between(a, b) == count


def test_adding_then_counting_working_days_round_trips_over_2025(
    cal: WorkCalendar,
) -> None:
    day = date(2025, 1, 1)
    while day.year == 2025:
        start = datetime(day.year, day.month, day.day, 10, tzinfo=CITY_TZ)
        for n in (1, 3, 5):
            assert (
                cal.working_days_between(start, cal.add_working_days(start, n)) == n
            ), (day, n)
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("rule", "mode", "due"),
    [
        ({"hours": 24}, "working", sh(2025, 2, 5, 16)),
        ({"hours": 24}, "calendar", sh(2025, 1, 28, 16)),
        ({"working_days": 3}, "working", sh(2025, 2, 7, 16)),
        ({"working_days": 5}, "calendar", sh(2025, 2, 1, 16)),
    ],
)
def test_due_time_applies_a_rule_under_a_calendar_mode(
    rule: dict[str, float], mode: str, due: datetime
) -> None:
    assert due_time(sh(2025, 1, 27, 16), rule, mode) == due


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"days": 3},
        {"hours": 24, "working_days": 1},
        {"hours": -1},
        {"working_days": -2},
    ],
)
def test_due_time_rejects_a_malformed_rule(rule: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        due_time(sh(2025, 3, 3, 10), rule, "working")


def test_an_unknown_mode_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="mode"):
        cal.add_hours(sh(2025, 3, 3, 10), 24, "5+2")


def test_a_naive_datetime_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        cal.add_working_days(datetime(2025, 3, 3, 10), 1)


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (date(2027, 1, 1), False, "New Year: statutory"),
        (date(2027, 1, 4), True, "an ordinary Monday: no notice bridges it"),
        (date(2027, 2, 8), False, "Spring Festival: statutory"),
        (date(2027, 2, 13), False, "a Saturday: no make-up day without the notice"),
        (date(2023, 1, 2), False, "a statutory day moved off the weekend (New Year on a Sunday)"),
        (date(2023, 12, 29), True, "an ordinary Friday before the bundled years"),
    ],
)
def test_a_year_without_a_notice_is_its_statutory_base(cal: WorkCalendar, day: date, working: bool, why: str) -> None:
    assert cal.is_working_day(day) is working, why
    assert not cal.is_official(day.year)


def test_a_deadline_past_the_notices_is_computed_and_named_provisional(cal: WorkCalendar) -> None:
    start = sh(2026, 12, 31, 10)
    assert cal.add_hours(start, 24, "working") == sh(2027, 1, 4, 10)  # Friday Jan 1 is a holiday
    assert cal.add_working_days(start, 1) == sh(2027, 1, 4, 10)
    assert cal.provisional_years(start, sh(2027, 1, 4, 10)) == (2027,)
    assert cal.provisional_years(sh(2026, 3, 1), sh(2026, 12, 31, 23)) == ()
    assert cal.working_days_between(date(2026, 12, 1), date(2027, 1, 5)) == 23 + 1  # Dec: 23, Jan 4: 1


def test_calendar_mode_does_not_need_the_holiday_data(cal: WorkCalendar) -> None:
    assert cal.due_time(sh(2026, 12, 31, 10), {"working_days": 5}, "calendar") == sh(
        2027, 1, 5, 10
    )


def test_the_default_calendar_is_loaded_once() -> None:
    assert default_calendar() is default_calendar()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            (
                'years = [2025]\n[[festival]]\nname = "x"\nfirst = 2025-01-01\nlast = 2025-01-01\n'
                "makeup = [2025-01-06]\n"
            ),
            "not a weekend",
        ),
        (
            'years = [2025]\n[[festival]]\nname = "x"\nfirst = 2025-01-03\nlast = 2025-01-01\n',
            "in order",
        ),
        (
            'years = [2025]\n[[festival]]\nname = "x"\nfirst = 2026-01-01\nlast = 2026-01-01\n',
            "outside",
        ),
        ("years = [2024, 2026]\n", "contiguous"),
        (
            'years = [2025, 2026]\n[[festival]]\nname = "x"\nfirst = 2025-01-01\nlast = 2025-01-01\n',
            "2026",
        ),
    ],
)
def test_an_inconsistent_calendar_file_is_refused(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "cal.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(CalendarDataError, match=message):
        WorkCalendar.load(path)
