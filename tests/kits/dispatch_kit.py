"""Helpers for the dispatch tests: a city-time clock, reports through the API, rows by case."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from gateway.models import Assignment, Case, Department, Event, FollowUp, Notification

CITY = ZoneInfo("Asia/Shanghai")


def set_clock(app: Any, *parts: int) -> datetime:
    """Freeze gateway.clock.utcnow at a city-time moment (year, month, day, hour[, minute])."""
    moment = datetime(*parts, tzinfo=CITY)  # type: ignore[misc]
    rt = app.extensions["hotline"]
    rt.settings = replace(rt.settings, now=moment)
    return moment


def report(client: Any, **fields: Any) -> str:
    """Post a web report and return its case number."""
    resp = client.post("/api/v1/reports", json=fields)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["case"]["number"]


def case(rt: Any, number: str) -> Case:
    with Session(rt.engine) as session:
        return session.exec(select(Case).where(Case.number == number)).one()


def assignments(rt: Any, number: str) -> dict[str, Assignment]:
    """The case's assignments by department code."""
    with Session(rt.engine) as session:
        rows = session.exec(select(Assignment, Department).join(Department)
                            .join(Case, Case.id == Assignment.case_id).where(Case.number == number)).all()
        return {d.code: a for a, d in rows}


def events(rt: Any, number: str, kind: str | None = None) -> list[Event]:
    with Session(rt.engine) as session:
        query = select(Event).join(Case, Case.id == Event.case_id).where(Case.number == number)
        if kind:
            query = query.where(Event.kind == kind)
        return list(session.exec(query.order_by(Event.id)).all())  # type: ignore[arg-type]


def notifications(rt: Any, number: str | None = None, kind: str | None = None) -> list[Notification]:
    with Session(rt.engine) as session:
        query = select(Notification)
        if number:
            query = query.join(Case, Case.id == Notification.case_id).where(Case.number == number)
        if kind:
            query = query.where(Notification.kind == kind)
        return list(session.exec(query.order_by(Notification.id)).all())  # type: ignore[arg-type]


def followups(rt: Any, number: str) -> list[FollowUp]:
    with Session(rt.engine) as session:
        return list(session.exec(select(FollowUp).join(Case, Case.id == FollowUp.case_id)
                                 .where(Case.number == number).order_by(FollowUp.id)).all())  # type: ignore[arg-type]


def local(moment: datetime | None) -> datetime:
    assert moment is not None
    if moment.tzinfo is None:
        from gateway.clock import as_utc

        moment = as_utc(moment)
    return moment.astimezone(CITY)


UNREACHABLE = "http://127.0.0.1:9/light-dispatch"  # the discard port: nothing listens, a connection is refused


def deliver_by_webhook(rt: Any, code: str, url: str = UNREACHABLE) -> None:
    """Make a unit deliver by webhook to ``url`` (the bundled profile delivers in-app): for the tests that want a
    department system, reachable or not."""
    with Session(rt.engine) as session:
        dept = session.exec(select(Department).where(Department.code == code)).one()
        dept.delivery, dept.webhook = "webhook", url
        session.add(dept)
        session.commit()
