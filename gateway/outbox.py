"""Enqueue after commit: jobs are written to the outbox in the transaction, then sent to Redis."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import or_, update
from sqlmodel import Session, select

from gateway.broker import Broker
from gateway.clock import utcnow
from gateway.models import Outbox

log = logging.getLogger(__name__)


def add(session: Session, func: str, args: list[Any], job_id: str, queue: str = "default") -> Outbox:
    """Record a job to run once the current transaction commits."""
    row = Outbox(job_id=job_id, func=func, args=args, queue=queue)
    session.add(row)
    return row


def deliver(session: Session, broker: Broker, rows: Iterable[Outbox]) -> int:
    """Try to enqueue rows; what Redis does not take stays pending for the sweeper. Returns count sent."""
    sent = 0
    for row in rows:
        try:
            broker.enqueue(row.queue, row.func, list(row.args), job_id=row.job_id)
        except Exception as exc:  # Redis down or refusing: keep the row, the sweeper retries
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("outbox: %s not enqueued (%s); will retry", row.job_id, row.last_error)
            session.add(row)
            continue
        row.enqueued_at = utcnow()
        row.attempts += 1
        session.add(row)
        sent += 1
    session.commit()
    return sent


def pending(session: Session, older_than_seconds: float = 0, limit: int = 500) -> list[Outbox]:
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        select(Outbox)
        .where(Outbox.enqueued_at == None)  # noqa: E711
        .where(or_(Outbox.created_at <= cutoff, older_than_seconds <= 0))
        .order_by(Outbox.id)
        .limit(limit)
    )
    return list(session.exec(query))


def on_job_success(job: Any, connection: Any, result: Any, *args: Any, **kwargs: Any) -> None:
    """RQ's success callback of every job: mark its outbox row done, so the lost-job sweep leaves it alone."""
    from gateway.runtime import current

    rt = current()
    job_id = job.id.removeprefix(f"{rt.broker.prefix}-")
    with Session(rt.engine) as session:
        session.exec(update(Outbox).where(Outbox.job_id == job_id, Outbox.done_at == None).values(done_at=utcnow()))  # type: ignore[call-overload]  # noqa: E711
        session.commit()


def lost(session: Session, broker: Broker, older_than_seconds: float, limit: int = 500) -> list[Outbox]:
    """Rows sent to Redis long enough ago, not done, whose job Redis no longer has (a Redis restart lost it)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    rows = session.exec(
        select(Outbox)
        .where(Outbox.enqueued_at != None, Outbox.done_at == None, Outbox.enqueued_at <= cutoff)  # type: ignore[operator]  # noqa: E711
        .order_by(Outbox.id)
        .limit(limit)
    ).all()
    return [row for row in rows if not broker.job_exists(row.job_id)]
