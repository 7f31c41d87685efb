"""The phone work list, operators' side (回访电话): take an item, call, record the outcome.

Items come from gateway/messaging/calls.py (acknowledgements, replies and follow-ups for fixed lines and numbers
that opted out of SMS; call-backs to voice messages). An operator who opens an item holds it for the profile's
`[calls] lease_minutes`: the claim is one conditional UPDATE, so two operators never hold one item, on SQLite and
on PostgreSQL alike. Calls are made on working days (the official calendar) within `[calls] hours`; an unanswered
call is tried again, `[calls] attempts` times spread over `over_working_days`, and after the last one the item
is unreachable. A follow-up's outcome goes through the one satisfaction path (followup.record / close_unanswered):
不满意 reopens the case as an SMS or board answer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from gateway.casework import calendars, followup
from gateway.casework.workcal import WorkCalendar
from gateway.clock import as_utc, utcnow
from gateway.errors import WorkflowError
from gateway.models import CallItem, Case, Event, id_of
from gateway.profile import CallPolicy
from gateway.runtime import Runtime

SATISFACTION = (followup.SATISFIED, followup.FAIRLY, followup.DISSATISFIED)
NO_ANSWER, REFUSED, TOLD = "未接通", "拒访", "已告知"
OUTCOMES = {"followup": (*SATISFACTION, NO_ANSWER, REFUSED), "ack": (TOLD, NO_ANSWER, REFUSED),
            "reply": (TOLD, NO_ANSWER, REFUSED), "callback": (TOLD, NO_ANSWER, REFUSED)}
STATUS_LABELS = {"open": "待呼叫", "done": "已完成", "unreachable": "多次未接通", "cancelled": "已并入回访"}


class CallError(WorkflowError):
    """A step the item's state does not allow (held by another operator, already done): 409."""


@dataclass
class Window:
    """Whether calls may be made now, and when the next calling time starts."""

    open: bool
    next_start: datetime


def next_slot(moment: datetime, calendar: WorkCalendar, policy: CallPolicy, tz: Any) -> datetime:
    """The first moment at or after `moment` inside the calling hours of a working day (city time)."""
    local = as_utc(moment).astimezone(tz)
    day = local.date()
    if calendar.is_working_day(day) and local.time() < policy.end:
        if local.time() >= policy.start:
            return as_utc(moment)
        return datetime.combine(day, policy.start, tz).astimezone(local.tzinfo)
    day = calendar.next_working_day(day)
    return datetime.combine(day, policy.start, tz)


def window(session: Session, rt: Runtime, now: datetime | None = None) -> Window:
    now = now or utcnow()
    start = next_slot(now, calendars.current(session, rt), rt.profile.call_policy, rt.profile.tz)
    return Window(open=as_utc(start) <= as_utc(now), next_start=start)


def due_items(session: Session, now: datetime, limit: int = 200) -> list[CallItem]:
    """The open items whose next attempt is due, oldest first (a follow-up's reopen waits on it)."""
    return list(session.exec(select(CallItem).where(col(CallItem.status) == "open", col(CallItem.next_attempt_at) <= now)
                             .order_by(col(CallItem.next_attempt_at), col(CallItem.id)).limit(limit)).all())


def later_items(session: Session, now: datetime, limit: int = 100) -> list[CallItem]:
    """Open items waiting for their next attempt (an unanswered call, tried again later)."""
    return list(session.exec(select(CallItem).where(col(CallItem.status) == "open", col(CallItem.next_attempt_at) > now)
                             .order_by(col(CallItem.next_attempt_at)).limit(limit)).all())


def finished_items(session: Session, limit: int = 50) -> list[CallItem]:
    return list(session.exec(select(CallItem).where(col(CallItem.status) != "open")
                             .order_by(col(CallItem.done_at).desc()).limit(limit)).all())


def claim(rt: Runtime, item_id: int, actor: str) -> CallItem:
    """Hold an item for the lease: one conditional UPDATE, so a concurrent claim by another operator loses.
    The holder may claim again (the lease is renewed). Refused outside the calling hours."""
    now = utcnow()
    lease = timedelta(minutes=rt.profile.call_policy.lease_minutes)
    with Session(rt.engine, expire_on_commit=False) as session:
        if not window(session, rt, now).open:
            raise CallError("现在不在呼叫时段（工作日 {:%H:%M}-{:%H:%M}）".format(
                rt.profile.call_policy.start, rt.profile.call_policy.end))
        free = or_(col(CallItem.held_by).is_(None), col(CallItem.held_until) < now, col(CallItem.held_by) == actor)
        taken = session.exec(update(CallItem).where(col(CallItem.id) == item_id, col(CallItem.status) == "open",
                                                    col(CallItem.next_attempt_at) <= now, free)
                             .values(held_by=actor, held_until=now + lease))
        session.commit()
        item = session.get(CallItem, item_id)
        if item is None:
            raise LookupError(f"no call item {item_id}")
        if not taken.rowcount:
            if item.status != "open":
                raise CallError(f"该电话已处理（{STATUS_LABELS.get(item.status, item.status)}）")
            if item.held_by and item.held_by != actor and as_utc(item.held_until) >= now:  # type: ignore[arg-type]
                raise CallError(f"该电话正由{item.held_by.removeprefix('user:')}处理")
            raise CallError("该电话尚未到下次呼叫时间")
        return item


def release(rt: Runtime, item_id: int, actor: str) -> bool:
    """Give an item back without a call (the holder only)."""
    with Session(rt.engine) as session:
        done = session.exec(update(CallItem).where(col(CallItem.id) == item_id, col(CallItem.held_by) == actor)
                            .values(held_by=None, held_until=None))
        session.commit()
        return bool(done.rowcount)


def record_outcome(rt: Runtime, item_id: int, outcome: str, actor: str, note: str = "") -> CallItem:
    """Record one call by the item's holder. 未接通: another attempt later, or unreachable after the last one;
    拒访, 已告知 and a satisfaction answer end the item. A follow-up's answer goes to followup.record (不满意
    reopens the case), its refusal or unreachability to followup.close_unanswered."""
    now = utcnow()
    note = (note or "").strip()[:500]
    with Session(rt.engine, expire_on_commit=False) as session:
        item = session.get(CallItem, item_id)
        if item is None:
            raise LookupError(f"no call item {item_id}")
        if outcome not in OUTCOMES.get(item.kind, ()):
            raise ValueError(f"outcome must be one of {'/'.join(OUTCOMES.get(item.kind, ()))}")
        attempts = item.attempts + 1
        entry = {"at": now.isoformat(), "by": actor, "outcome": outcome, "note": note}
        values: dict[str, Any] = {"attempts": attempts, "log": [*item.log, entry], "held_by": None, "held_until": None}
        if outcome == NO_ANSWER and attempts < item.max_attempts:
            values["next_attempt_at"] = _retry_at(session, rt, item, now)
        else:
            final = "unreachable" if outcome == NO_ANSWER else "done"
            values.update(status=final, outcome=outcome, done_by=actor, done_at=now)
        # Only its holder, and only while open: a second submission or another operator changes nothing.
        changed = session.exec(update(CallItem).where(col(CallItem.id) == item_id, col(CallItem.status) == "open",
                                                      col(CallItem.held_by) == actor, col(CallItem.attempts) == item.attempts)
                               .values(**values))
        if not changed.rowcount:
            session.rollback()
            raise CallError("请先领取该电话（或它已由他人处理）")
        session.add(Event(case_id=item.case_id, kind="call_made", actor=actor, data={
            "call_item_id": item_id, "kind": item.kind, "outcome": outcome, "attempt": attempts,
            "final": "status" in values}))
        session.commit()
        session.refresh(item)
    if item.followup_id is not None and item.status != "open":
        if outcome in SATISFACTION:
            solved = outcome != followup.DISSATISFIED
            followup.record(rt, item.followup_id, outcome, solved, text=f"电话回访：{outcome}" + (f"（{note}）" if note else ""),
                            actor=actor)
        else:
            followup.close_unanswered(rt, item.followup_id, followup.UNREACHABLE if item.status == "unreachable"
                                      else followup.REFUSED, actor)
    return item


def _retry_at(session: Session, rt: Runtime, item: CallItem, now: datetime) -> datetime:
    """The next attempt: the attempts spread evenly over the profile's working days, inside calling hours."""
    policy = rt.profile.call_policy
    calendar = calendars.current(session, rt)
    gap = policy.over_working_days / max(policy.attempts, 1)
    return as_utc(next_slot(calendar.add_working_days(as_utc(now), gap), calendar, policy, rt.profile.tz))


def case_numbers(session: Session, items: list[CallItem]) -> dict[int, str]:
    ids = {i.case_id for i in items}
    if not ids:
        return {}
    return {id_of(c): c.number or "" for c in session.exec(select(Case).where(col(Case.id).in_(ids))).all()}


def held_by_other(item: CallItem, actor: str, now: datetime) -> bool:
    return bool(item.held_by and item.held_by != actor and item.held_until and as_utc(item.held_until) >= now)

