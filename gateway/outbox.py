"""Enqueue after commit: jobs are written to the outbox in the transaction, then sent to Redis."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import or_
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
