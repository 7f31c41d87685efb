"""Deadlines from the city profile's SLA rules, computed once and stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.profile import Profile


def rule_for(profile: Profile, appeal_type: str | None, departments: int, complexity: str = "normal") -> tuple[str, dict[str, Any]]:
    """Which SLA rule applies: consultation, 1-2 departments, joint handling, or especially complex."""
    sla = profile.sla
    if complexity == "complex":
        return "complex", sla.get("complex", {"working_days": 5})
    if appeal_type == "咨询":
        return "consultation", sla.get("consultation", {"hours": 24})
    if departments > 2:
        return "joint", sla.get("joint", {"working_days": 3})
    return "single", sla.get("single", {"hours": 24})


def due(start: datetime, rule: dict[str, Any], calendar_mode: str = "working") -> datetime:
    """The moment a rule's time runs out."""
    if "hours" in rule:
        return start + timedelta(hours=float(rule["hours"]))
    days = int(rule.get("working_days", 1))
    return start + timedelta(days=days)
