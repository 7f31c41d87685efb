"""Deadlines on the official calendar, per department mode, with a loud fallback past the covered years."""

from __future__ import annotations

from datetime import datetime

from gateway.casework.sla import due, rule_for, working_days_after
from gateway.casework.workcal import default_calendar
from gateway.config import BUNDLED_PROFILE
from gateway.profile import load_profile
from tests.kits.dispatch_kit import CITY

PROFILE = load_profile(BUNDLED_PROFILE)
CAL = default_calendar()  # the bundled years, no imported notice


def test_the_seed_rules_choose_by_appeal_type_department_count_and_complexity():
    assert rule_for(PROFILE, "咨询", 1) == ("consultation", {"hours": 24})
    assert rule_for(PROFILE, "投诉", 2) == ("single", {"hours": 24})
    assert rule_for(PROFILE, "投诉", 3) == ("joint", {"working_days": 3})
    assert rule_for(PROFILE, "咨询", 3, "complex") == ("complex", {"working_days": 5})


def test_three_working_days_skip_the_labour_day_holiday():
    start = datetime(2026, 4, 29, 10, tzinfo=CITY)  # Wednesday before 劳动节 (May 1-5)
    # 14 h of Wednesday, all of Thursday 30, all of Wednesday May 6, 10 h of Thursday May 7
    assert due(start, {"working_days": 3}, "working", CAL).at == datetime(2026, 5, 7, 10, tzinfo=CITY)


def test_a_five_plus_two_department_counts_every_day():
    start = datetime(2026, 4, 29, 10, tzinfo=CITY)
    assert due(start, {"working_days": 5}, "5+2", CAL).at == datetime(2026, 5, 4, 10, tzinfo=CITY)


def test_twenty_four_hours_ending_on_a_holiday_move_to_the_next_working_day():
    start = datetime(2026, 4, 30, 15, tzinfo=CITY)
    assert due(start, {"hours": 24}, "working", CAL).at == datetime(2026, 5, 6, 15, tzinfo=CITY)


def test_past_the_notices_deadlines_use_the_statutory_base_and_say_provisional(caplog):
    # Tue 2026-12-29 15:00 + 3 working days: 9 h Tue, Wed 30, Thu 31, then Fri Jan 1 (元旦) and the weekend
    # are skipped: Mon Jan 4 15:00 (plain calendar days would have said Fri Jan 1, a holiday).
    result = due(datetime(2026, 12, 29, 15, tzinfo=CITY), {"working_days": 3}, "working", CAL)
    assert result.at == datetime(2027, 1, 4, 15, tzinfo=CITY) and result.provisional == (2027,)
    assert result.warning and "no State Council notice for 2027" in result.warning
    assert "provisional deadline" in caplog.text
    # A 5-day case on 2027-02-04 does not end inside 春节 (Feb 5-10 on the statutory base).
    spring = due(datetime(2027, 2, 4, 10, tzinfo=CITY), {"working_days": 5}, "working", CAL)
    assert spring.at == datetime(2027, 2, 17, 10, tzinfo=CITY)  # 14 h Thu 4, Thu 11, Fri 12, Mon 15, Tue 16, 10 h Wed 17
    # A deadline inside the bundled years is official.
    assert due(datetime(2026, 6, 1, 10, tzinfo=CITY), {"hours": 24}, "working", CAL).provisional == ()


def test_working_days_after_a_deadline_count_a_make_up_saturday():
    days, warning = working_days_after(datetime(2026, 5, 7).date(), datetime(2026, 5, 9, 9, tzinfo=CITY), "working", CAL)
    assert (days, warning) == (2, None)  # Friday 8 and the make-up Saturday 9
