"""A job's last failure, recorded where the office sees it (RQ's on_failure callback of every job).

What the office must see of a job that failed for good (a notification given up, a dispatch that failed) is
the job's final handler in the registry, `gateway.jobs`."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

from flask import has_app_context

from gateway import jobs

log = logging.getLogger(__name__)


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
    handler = jobs.final_handler(job.func_name)
    if handler is not None:
        with _app_context():
            handler(list(job.args), error)
