"""The phone work list in figures: follow-up calls completed per operator, for the reports page."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.models import CallItem

COMPLETED = ("满意", "基本满意", "不满意", "拒访")  # a follow-up call that reached the citizen and ended


def followup_calls_completed(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Follow-up calls (回访) completed in [start, end) per operator (the actor, `user:NAME`): the citizen was reached
    and answered, or refused the visit. Items unreachable after the last attempt are not completed calls
    (`followup_calls_unreachable` counts them)."""
    rows = session.exec(select(CallItem.done_by).where(
        CallItem.kind == "followup", CallItem.status == "done", col(CallItem.outcome).in_(COMPLETED),
        col(CallItem.done_at) >= start, col(CallItem.done_at) < end)).all()
    return dict(Counter(who for who in rows if who))


def followup_calls_unreachable(session: Session, start: datetime, end: datetime) -> int:
    """Follow-up items that ended in [start, end) with nobody reached after the last attempt."""
    return len(session.exec(select(CallItem.id).where(
        CallItem.kind == "followup", CallItem.status == "unreachable",
        col(CallItem.done_at) >= start, col(CallItem.done_at) < end)).all())
