"""The job registry: every job the outbox, RQ and the cron scheduler run, by a stable short name.

The outbox stores the short name (`dispatch_case`). Redis holds `gateway.jobs.<name>`: an attribute of
this module that calls the function where it lives today, so moving a function changes one line here
and jobs already queued keep running. Names written before the registry existed (the dotted paths of
modules that have since moved, e.g. `gateway.notify.deliver`) still resolve through `LEGACY`, in the
outbox and in Redis alike (the worker's job class asks `target`).

A job whose retries are used up may have a final handler: what the office must see (a notification
given up, a dispatch that failed), called by `gateway.failures.on_job_failure` with the job's arguments.

The targets are named as strings and imported when a job runs: this module sits at the bottom with the
platform, and the rooms it names may import the platform without a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

ENTRY_MODULE = __name__


@dataclass(frozen=True)
class Job:
    target: str  # "module:function"
    final: str | None = None  # "module:function" called with (args, error) when no retry is left
    # The job marks its own outbox row done in its own transaction (`outbox.mark_done`): it is sent without
    # RQ's success callback, which would spend a second transaction on it.
    marks_done: bool = False


JOBS: dict[str, Job] = {
    "dispatch_case": Job("gateway.casework.dispatch:dispatch_case", final="gateway.casework.dispatch:dispatch_failed",
                         marks_done=True),
    "sweep_outbox": Job("gateway.casework.dispatch:sweep_outbox"),
    "deliver": Job("gateway.messaging.notify:deliver", final="gateway.messaging.notify:deliver_failed"),
    "send_reply": Job("gateway.messaging.replies:send_reply"),
    "sweep_supervision": Job("gateway.casework.supervision:sweep"),
    "sweep_followups": Job("gateway.casework.followup:sweep"),
    "make_report": Job("gateway.reporting.daily_report:make_report"),
}

# Dotted names stored before this registry, in outbox rows and RQ job hashes: still understood.
LEGACY: dict[str, str] = {
    "gateway.jobs.dispatch_case": "dispatch_case",
    "gateway.jobs.sweep_outbox": "sweep_outbox",
    "gateway.notify.deliver": "deliver",
    "gateway.replies.send_reply": "send_reply",
    "gateway.supervision.sweep": "sweep_supervision",
    "gateway.followup.sweep": "sweep_followups",
    "gateway.reports.make_report": "make_report",
}


class UnknownJob(LookupError):
    """A job name neither registered nor a name used before the registry."""


def short_name(name: str) -> str:
    """The registered name of `name`: a short name, `gateway.jobs.<name>`, or a legacy dotted path."""
    if name in JOBS:
        return name
    if name in LEGACY:
        return LEGACY[name]
    prefix = ENTRY_MODULE + "."
    if name.startswith(prefix) and name[len(prefix):] in JOBS:
        return name[len(prefix):]
    raise UnknownJob(f"no job named {name!r} in gateway.jobs.JOBS")


def entry_point(name: str) -> str:
    """What Redis holds for the job: this module's attribute, stable however the code moves. A dotted path
    that is not ours (a benchmark's empty job, a test's own) goes to RQ as it is; an unknown short name
    is an error."""
    try:
        return f"{ENTRY_MODULE}.{short_name(name)}"
    except UnknownJob:
        if "." in name and not name.startswith(ENTRY_MODULE + "."):
            return name
        raise


def marks_done(name: str) -> bool:
    """Whether the job marks its own outbox row done (no success callback needed); False for a job not ours."""
    try:
        return JOBS[short_name(name)].marks_done
    except UnknownJob:
        return False


def preload() -> None:
    """Import every job's module now (the worker pool's parent does, before it forks): the dispatch job's router
    model imports scikit-learn, about 1 s of CPU (the pool's start-up grew by 1.0-1.1 s) that each worker
    otherwise spent on its first job."""
    for job in JOBS.values():
        for spec in (job.target, job.final):
            if spec:
                _load(spec)


def _load(spec: str) -> Callable[..., Any]:
    module, _, function = spec.partition(":")
    return getattr(import_module(module), function)


def target(name: str) -> Callable[..., Any]:
    """The function that does the job's work."""
    return _load(JOBS[short_name(name)].target)


def final_handler(name: str) -> Callable[[list[Any], str], None] | None:
    """What the office must see when the job has failed for good, or None."""
    try:
        spec = JOBS[short_name(name)].final
    except UnknownJob:
        return None
    return _load(spec) if spec else None


def _entry(name: str) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return target(name)(*args, **kwargs)

    run.__name__ = run.__qualname__ = name
    run.__module__ = ENTRY_MODULE
    run.__doc__ = f"The job {name!r}: runs {JOBS[name].target}."
    return run


ENTRIES: dict[str, Callable[..., Any]] = {name: _entry(name) for name in JOBS}
globals().update(ENTRIES)  # gateway.jobs.<name>, importable by RQ


def entry(name: str) -> Callable[..., Any]:
    """The callable RQ's cron scheduler registers (its dotted name is `entry_point(name)`)."""
    return ENTRIES[short_name(name)]
