"""Helpers shared by the channel transport tests: counting rows and reading the kept raw input."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, func, select

from gateway.models import Report, Unparsed


def count(rt: Any, model: Any) -> int:
    with Session(rt.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def unparsed(rt: Any, channel: str) -> list[Unparsed]:
    with Session(rt.engine) as session:
        return list(session.exec(select(Unparsed).where(Unparsed.channel == channel).order_by(Unparsed.id)).all())


def reports(rt: Any, channel: str) -> list[Report]:
    with Session(rt.engine) as session:
        return list(session.exec(select(Report).where(Report.channel == channel).order_by(Report.id)).all())
