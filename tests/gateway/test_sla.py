"""Deadlines on the official calendar, per department mode, with a loud fallback past the covered years."""

from __future__ import annotations

from datetime import datetime

from gateway.config import BUNDLED_PROFILE
from gateway.profile import load_profile
from gateway.sla import due, rule_for, working_days_after
from tests.gateway.dispatchkit import CITY

PROFILE = load_profile(BUNDLED_PROFILE)


def test_the_seed_rules_choose_by_appeal_type_department_count_and_complexity():
    assert rule_for(PROFILE, "咨询", 1) == ("consultation", {"hours": 24})
    assert rule_for(PROFILE, "投诉", 2) == ("single", {"hours": 24})
    assert rule_for(PROFILE, "投诉", 3) == ("joint", {"working_days": 3})
    assert rule_for(PROFILE, "咨询", 3, "complex") == ("complex", {"working_days": 5})


def test_three_working_days_skip_the_labour_day_holiday():
    start = datetime(2026, 4, 29, 10, tzinfo=CITY)  # Wednesday before 劳动节 (May 1-5)
    # 14 h of Wednesday, all of Thursday 30, all of Wednesday May 6, 10 h of Thursday May 7
    assert due(start, {"working_days": 3}).at == datetime(2026, 5, 7, 10, tzinfo=CITY)


def test_a_five_plus_two_department_counts_every_day():
    start = datetime(2026, 4, 29, 10, tzinfo=CITY)
    assert due(start, {"working_days": 5}, "5+2").at == datetime(2026, 5, 4, 10, tzinfo=CITY)


def test_twenty_four_hours_ending_on_a_holiday_move_to_the_next_working_day():
    start = datetime(2026, 4, 30, 15, tzinfo=CITY)
    assert due(start, {"hours": 24}).at == datetime(2026, 5, 6, 15, tzinfo=CITY)


def test_past_the_covered_years_deadlines_fall_back_to_calendar_days_with_a_warning(caplog):
    start = datetime(2027, 3, 1, 10, tzinfo=CITY)
    result = due(start, {"working_days": 3})
    assert result.at == datetime(2027, 3, 4, 10, tzinfo=CITY)
    assert result.warning and "calendar for 2027 missing: update gateway/data/cn_calendar.toml" in result.warning
    assert "calendar for 2027 missing" in caplog.text


def test_working_days_after_a_deadline_count_a_make_up_saturday():
    days, warning = working_days_after(datetime(2026, 5, 7).date(), datetime(2026, 5, 9, 9, tzinfo=CITY))
    assert (days, warning) == (2, None)  # Friday 8 and the make-up Saturday 9
