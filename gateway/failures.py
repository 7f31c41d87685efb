"""A job's last failure, recorded where the office sees it (RQ's on_failure callback of every job)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from flask import has_app_context

log = logging.getLogger(__name__)


def _notification_failed(args: list[Any], error: str) -> None:
    from gateway.notify import give_up

    give_up(int(args[0]), error)


def _dispatch_failed(args: list[Any], error: str) -> None:
    from sqlmodel import Session

    from gateway.models import Case, Event
    from gateway.runtime import current

    with Session(current().engine) as session:
        if session.get(Case, int(args[0])) is not None:
            session.add(Event(case_id=int(args[0]), kind="dispatch_failed", data={"error": error}))
            session.commit()


# What the office must see when a job has used up its retries, by the job's dotted function name.
FINAL: dict[str, Callable[[list[Any], str], None]] = {
    "gateway.notify.deliver": _notification_failed,
    "gateway.jobs.dispatch_case": _dispatch_failed,
}


@contextmanager
def _app_context() -> Iterator[None]:
    """The gateway's app context: the worker's own, else one built from the environment (rq CLI cleanup)."""
    if has_app_context():
        yield
        return
    from gateway import create_app

    with create_app().app_context():
        yield


def on_job_failure(job: Any, connection: Any, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """Record a job's failure once no retry is left (also for a job abandoned by a killed worker)."""
    error = f"{getattr(exc_type, '__name__', exc_type)}: {exc_value}"[:500]
    if job.retries_left:
        log.warning("job %s failed (%s); %s retries left", job.id, error, job.retries_left)
        return
    log.error("job %s failed for good: %s", job.id, error)
    handler = FINAL.get(job.func_name)
    if handler is not None:
        with _app_context():
            handler(list(job.args), error)
