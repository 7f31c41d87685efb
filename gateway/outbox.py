"""Enqueue after commit: jobs are written to the outbox in the transaction, then sent to Redis."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, or_, select

from gateway.broker import Broker
from gateway.clock import utcnow
from gateway.models import Outbox, table_of

log = logging.getLogger(__name__)


def add(session: Session, func: str, args: list[Any], job_id: str, queue: str = "default") -> Outbox:
    """Record a job to run once the current transaction commits."""
    row = Outbox(job_id=job_id, func=func, args=args, queue=queue)
    session.add(row)
    return row


def deliver(session: Session, broker: Broker, rows: Iterable[Outbox]) -> int:
    """Enqueue rows already committed as pending (one Redis round trip), and commit; what Redis does not
    take stays pending. The sweeper's path; a transaction that writes its own rows ends with
    `commit_and_send`. Returns the count sent."""
    rows = list(rows)
    errors = broker.enqueue_many(_jobs(rows))
    now, sent = utcnow(), 0
    for row, error in zip(rows, errors):
        row.attempts += 1
        if error is None:
            row.enqueued_at = now
            sent += 1
        else:  # Redis down or refusing: keep the row, the sweeper retries
            row.last_error = _why(error)
            log.warning("outbox: %s not enqueued (%s); will retry", row.job_id, row.last_error)
        session.add(row)
    session.commit()
    return sent


def claim(rows: list[Outbox]) -> list[Outbox]:
    """Mark rows as sent inside the transaction that writes them, so it needs no second commit.

    Call `send_claimed` right after the commit. Whatever Redis refuses then is put back to pending
    (a small second transaction, on failure only); if the process dies between the commit and the
    send, the lost-job sweep re-sends the rows once the job's whole time limit has passed
    (`lost`: sent, not done, and not in Redis).
    """
    now = utcnow()
    for row in rows:
        row.enqueued_at = now
        row.attempts += 1
    return rows


def commit_and_send(session: Session, broker: Broker, rows: Iterable[Outbox | None]) -> int:
    """Commit the session with its outbox rows claimed, then enqueue them: one commit, one Redis round trip.

    The way every transaction that queues follow-up work ends (see `claim` for what happens when
    Redis refuses, or the process dies after the commit). Returns the count sent.
    """
    claimed = claim([row for row in rows if row is not None])
    jobs = _jobs(claimed)  # read before the commit expires the rows
    session.commit()
    return send_claimed(session.get_bind(), broker, claimed, jobs) if claimed else 0


def _jobs(rows: list[Outbox]) -> list[tuple[str, str, list[Any], str]]:
    return [(row.queue, row.func, list(row.args), row.job_id) for row in rows]


def send_claimed(engine: Engine | Connection, broker: Broker, rows: list[Outbox],
                 jobs: list[tuple[str, str, list[Any], str]] | None = None) -> int:
    """Enqueue committed, claimed rows in one round trip; put the ones Redis did not take back to pending."""
    errors = broker.enqueue_many(jobs if jobs is not None else _jobs(rows))
    failed = [(row, _why(error)) for row, error in zip(rows, errors) if error is not None]
    for row, why in failed:
        row.enqueued_at, row.last_error = None, why
        log.warning("outbox: %s not enqueued (%s); will retry", row.job_id, why)
    if failed:
        try:
            with Session(engine) as session:
                for row, why in failed:
                    session.exec(update(Outbox).where(col(Outbox.id) == row.id).values(enqueued_at=None, last_error=why))
                session.commit()
        except Exception:  # the database is gone too: the lost-job sweep finds these rows later
            log.exception("outbox: could not put %d rows back to pending", len(failed))
    return len(rows) - len(failed)


def _why(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def pending(session: Session, older_than_seconds: float = 0, limit: int = 500) -> list[Outbox]:
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        select(Outbox)
        .where(col(Outbox.enqueued_at).is_(None))
        .where(or_(Outbox.created_at <= cutoff, older_than_seconds <= 0))
        .order_by(col(Outbox.id))
        .limit(limit)
    )
    return list(session.exec(query))


def on_job_success(job: Any, connection: Any, result: Any, *args: Any, **kwargs: Any) -> None:
    """RQ's success callback of every job: mark its outbox row done, so the lost-job sweep leaves it alone."""
    from gateway.runtime import current

    rt = current()
    with Session(rt.engine) as session:
        mark_done(session, job.id.removeprefix(f"{rt.broker.prefix}-"))
        session.commit()


def mark_done(session: Session, job_id: str) -> None:
    """Mark a job's outbox row done in the session's transaction: the success callback's, or the job's own
    (`jobs.Job.marks_done`), so that its work and the mark commit together."""
    session.connection().execute(_MARK_DONE, {"key": job_id, "done_at": utcnow()})


def dispatch_job(session: Session, case_id: int) -> Outbox:
    """Record the case's dispatch job (`dispatch_case`, which marks this row done itself): one per case."""
    return add(session, "dispatch_case", [case_id], dispatch_job_id(case_id), "dispatch")


def dispatch_job_id(case_id: int) -> str:
    return f"dispatch-{case_id}"


_OUTBOX = table_of(Outbox)
_MARK_DONE = update(_OUTBOX).where(_OUTBOX.c.job_id == bindparam("key"), _OUTBOX.c.done_at.is_(None))


def lost(session: Session, broker: Broker, older_than_seconds: float, limit: int = 500) -> list[Outbox]:
    """Rows sent to Redis long enough ago, not done, whose job Redis no longer has (a Redis restart lost it)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    rows = session.exec(
        select(Outbox)
        .where(col(Outbox.enqueued_at).is_not(None), col(Outbox.done_at).is_(None), col(Outbox.enqueued_at) <= cutoff)
        .order_by(col(Outbox.id))
        .limit(limit)
    ).all()
    return [row for row in rows if not broker.job_exists(row.job_id)]
