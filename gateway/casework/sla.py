"""Deadlines from the city profile's SLA rules on the official calendar, computed once and stored.

Every assignment has two clocks: 回告 (its first answer: signed, contact made; [sla.acknowledge]) and
办结 (the reply that completes it; [sla] consultation/single/joint/complex or the unit's own SLA).

A rule is {"hours": h} or {"working_days": n}. A department's calendar is "working" (the
official Chinese calendar of gateway/casework/workcal.py, with the notices of gateway/casework/calendars.py) or "5+2"
(weekends count, nothing is postponed). A deadline that reaches into a year with no notice is computed
on that year's statutory base and comes back *provisional* (the years named): the caller stores the
flag and an event, and importing the notice recomputes it. Nothing falls back to plain calendar days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.casework.workcal import CALENDAR, CITY_TZ, WORKING, WorkCalendar
from gateway.profile import Profile

log = logging.getLogger(__name__)

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "consultation": {"hours": 24},
    "single": {"hours": 24},
    "joint": {"working_days": 3},
    "complex": {"working_days": 5},
    "urgent": {"hours": 12},
}


# 回告 (the unit's first answer: signed, contact made) per rule, when the profile's [sla.acknowledge] does not say;
# never later than the 办结 of the same assignment.
DEFAULT_ACKNOWLEDGE: dict[str, dict[str, Any]] = {
    "consultation": {"hours": 12},
    "single": {"hours": 12},
    "joint": {"working_days": 1},
    "complex": {"working_days": 1},
    "urgent": {"hours": 2},
}


@dataclass(frozen=True)
class Due:
    """A deadline and the years it was computed in without their notice (provisional)."""

    at: datetime
    provisional: tuple[int, ...] = ()

    @property
    def warning(self) -> str | None:
        """What the case timeline says about a provisional deadline, or None."""
        return provisional_warning(self.provisional)


def provisional_warning(years: tuple[int, ...]) -> str | None:
    """The message for deadlines computed without a year's notice (statutory holidays only)."""
    if not years:
        return None
    named = "、".join(str(y) for y in years)
    return (f"provisional deadline: no State Council notice for {named} imported (statutory holidays only, "
            f"no make-up working days); recomputed when `hotline calendar import` stores it")


def mode_of(calendar: str | None) -> str:
    """The workcal mode of a department calendar setting ("5+2" counts every day)."""
    return CALENDAR if calendar in ("5+2", CALENDAR) else WORKING


def rule_for(profile: Profile, appeal_type: str | None, departments: int, complexity: str = "normal",
             urgency: str | None = None) -> tuple[str, dict[str, Any]]:
    """Which SLA rule applies, first match wins: especially complex, urgent (紧急), consultation (咨询), joint
    handling (at least [sla] joint_from_units units, default 3), else 1-2 units ("single")."""
    if complexity == "complex":
        name = "complex"
    elif urgency == "urgent":
        name = "urgent"
    elif appeal_type == "咨询":
        name = "consultation"
    elif departments >= int(profile.sla.get("joint_from_units", 3)):
        name = "joint"
    else:
        name = "single"
    return name, dict(profile.sla.get(name) or DEFAULT_RULES[name])


def acknowledge_rule(profile: Profile, rule_name: str) -> dict[str, Any]:
    """The 回告 rule that goes with a 办结 rule (a unit's own SLA keeps the case rule's 回告)."""
    table = profile.sla.get("acknowledge") or {}
    return dict(table.get(rule_name) or DEFAULT_ACKNOWLEDGE.get(rule_name) or {"working_days": 1})


def clocks(start: datetime, rule: dict[str, Any], ack_rule: dict[str, Any], calendar: str | None,
           cal: WorkCalendar) -> tuple[Due, Due]:
    """Both clocks of an assignment from ``start``: (回告, 办结); 回告 is never later than 办结."""
    done = due(start, rule, calendar, cal)
    ack = due(start, ack_rule, calendar, cal)
    return (ack if ack.at <= done.at else done), done


def due(start: datetime, rule: dict[str, Any], calendar: str | None, cal: WorkCalendar) -> Due:
    """The moment a rule's time runs out on ``cal``; provisional years named (and logged)."""
    mode = mode_of(calendar)
    at = cal.due_time(start, rule, mode)
    provisional = cal.provisional_years(start, at) if mode == WORKING else ()
    if provisional:
        log.warning("SLA: %s", provisional_warning(provisional))
    return Due(at, provisional)


def working_days_after(day: date, moment: datetime, calendar: str | None, cal: WorkCalendar) -> tuple[int, str | None]:
    """How many working days after ``day`` have begun by ``moment`` (the due day itself not counted), and the
    warning when that count used a provisional year."""
    start = day + timedelta(days=1)
    end = moment.astimezone(CITY_TZ).date() + timedelta(days=1)
    if mode_of(calendar) == CALENDAR:
        return max(0, (end - start).days), None
    provisional = cal.provisional_years(start, end) if end > start else ()
    return max(0, cal.working_days_between(start, end)), provisional_warning(provisional)
