"""The RQ entry point: a pool of workers with the gateway preloaded, and the periodic jobs on RQ's cron."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.job import Job
from rq.job_lifecycle import call_exception_handlers
from rq.worker_pool import WorkerPool

from gateway import create_app, heartbeat, jobs, logs
from gateway.broker import QUEUES, RegisteredJob
from gateway.messaging.senders import DeliveryError
from gateway.reporting.daily_report import cron_entries

log = logging.getLogger("hotline.worker")

_APP: Flask | None = None  # built once in the parent; forked workers inherit it
BEAT_EVERY = 1.0  # seconds between two of the gateway's heartbeats from one worker


def app() -> Flask:
    global _APP
    if _APP is None:
        _APP = create_app()
    return _APP


class GatewayWorker(SimpleWorker):
    """Runs jobs in-process (no fork per job) inside the gateway's app context.

    SimpleWorker is chosen for throughput (docs/BENCHMARKS.md: about 3x the forking Worker on these
    machines); jobs are idempotent and retried, so losing a process mid-job loses nothing.

    A SimpleWorker sends no heartbeat while its job runs, so the job's StartedJobRegistry entry
    lives job timeout + grace; once that has passed, the next maintenance run of any worker
    (every HOTLINE_MAINTENANCE_SECONDS; RQ's default is 10 minutes, and an idle worker's 7) finds the job of a killed
    worker and retries it (or fails it for good, through our on_failure callback).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        flask_app = app()
        settings = flask_app.extensions["hotline"].settings
        maintenance = settings.maintenance_seconds
        kwargs.setdefault("maintenance_interval", maintenance)
        # An idle worker blocks in dequeue for worker_ttl - 15 s and runs maintenance only between
        # dequeues: keep that wait as short as the maintenance interval.
        kwargs.setdefault("worker_ttl", maintenance + 15)
        super().__init__(*args, **kwargs)
        self.job_grace = settings.job_grace
        # A forked child must not share the parent's database connections.
        flask_app.extensions["hotline"].engine.dispose(close=False)
        self._ctx = flask_app.app_context()
        self._ctx.push()
        heartbeat.beat(flask_app.extensions["hotline"], "workers")
        self._beaten = time.monotonic()

    def subscribe(self) -> None:
        """RQ's command channel (a dashboard's stop or kill), polled every second instead of every 60 s. Stopping
        the worker joins this thread; with RQ 3.0 and redis-py's pub/sub, a burst that ended before its
        subscription was confirmed waited out the whole poll: the dispatch benchmark's pools took 60 s to exit.
        The same three steps as RQ 3.0's own subscribe (pinned in pyproject; tests/bench checks the exit)."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ declares the attribute None
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)

    def heartbeat(self, *args: Any, **kwargs: Any) -> Any:
        """RQ's heartbeat (between dequeues, every maintenance interval when idle) and the gateway's, at most once
        a second: RQ calls this five times per job, and writing the gateway's beat each time cost 0.35-0.4 ms of
        CPU per job (bench.dispatch, the empty job; docs/BENCHMARKS.md); readiness allows a beat 120 s old."""
        result = super().heartbeat(*args, **kwargs)
        now = time.monotonic()
        if now - self._beaten >= BEAT_EVERY:
            heartbeat.beat(self._ctx.app.extensions["hotline"], "workers")
            self._beaten = now
        return result

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """A refused delivery (an unreachable department system, a relay that says no) is an outcome, not a bug:
        its one line is the failure callback's (`job ... failed (DeliveryError: webhook unreachable ...); N retries
        left`), without RQ's traceback. Any other exception keeps RQ's log with the traceback."""
        if isinstance(exc_info[1], DeliveryError):
            call_exception_handlers(self._exc_handlers, job, *exc_info)
            return
        super().handle_exception(job, *exc_info)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """How long a started job may go unheard of: its timeout plus a grace (RQ: plus 60 s)."""
        if job.timeout is None or job.timeout < 0:
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + self.job_grace


def run_pool(num_workers: int, burst: bool = False, queues: list[str] | None = None) -> None:
    """Start N worker processes on the named queues (default: all, in the broker's order) and block until they
    stop (SIGINT/SIGTERM)."""
    rt = app().extensions["hotline"]
    jobs.preload()  # in the parent, before the pool forks: no worker pays the imports in its first job
    logs.configure(rt.settings.log_level)  # UTC times; RQ then adds no handler of its own (local times)
    names = [rt.broker.queue(name).name for name in queues] if queues else rt.broker.queue_names()
    pool = WorkerPool(names, connection=rt.broker.redis, num_workers=num_workers,
                      worker_class=GatewayWorker, job_class=RegisteredJob)
    pool.start(burst=burst, logging_level=rt.settings.log_level)


def periodic_jobs(flask_app: Flask) -> list[dict[str, Any]]:
    """The periodic work: (registered job name, queue, interval seconds or cron string)."""
    rt = flask_app.extensions["hotline"]
    schedule = rt.profile.schedule
    supervision = int(schedule.get("supervision_sweep_seconds", 300))
    entries: list[dict[str, Any]] = [
        {"func": "sweep_outbox", "queue": "default", "interval": int(schedule.get("outbox_sweep_seconds", 30))},
        {"func": "sweep_supervision", "queue": "default", "interval": supervision},
        {"func": "sweep_followups", "queue": "default", "interval": supervision},
    ]
    # Cron strings are city time: run_cron puts the scheduler process in the city's time zone.
    entries.extend({"func": "make_report", "queue": "default", "cron": cron, "name": f"report {cron}"}
                   for cron in cron_entries(rt))
    return entries


def use_city_time(timezone: str) -> None:
    """Make this process's local time the city's: rq.cron reads cron strings in the host's local time zone."""
    os.environ["TZ"] = timezone
    time.tzset()


def run_cron() -> None:
    """Run RQ's cron scheduler with the gateway's periodic jobs until stopped; reconnect when Redis goes away."""
    flask_app = app()
    rt = flask_app.extensions["hotline"]
    logs.configure(rt.settings.log_level)  # log times stay UTC although this process runs in the city's zone
    use_city_time(str(rt.profile.city.get("timezone", "Asia/Shanghai")))
    logging.getLogger("rq.cron").setLevel(logging.INFO)
    heartbeat.keep_beating(rt, "cron")
    delay = 1.0
    while True:
        started = time.monotonic()
        cron = CronScheduler(connection=rt.broker.redis, name=f"hotline-cron-{os.getpid()}")
        for spec in periodic_jobs(flask_app):
            func = jobs.entry(spec["func"])  # gateway.jobs.<name>: stable in Redis however the code moves
            options = {"interval": spec["interval"]} if "interval" in spec else {"cron": spec["cron"]}
            cron.register(func, rt.broker.queue(spec["queue"]).name, args=tuple(spec.get("args", ())),
                          name=spec.get("name", ""), **options)
        try:
            cron.start()
            return  # stopped on purpose
        except (RedisConnectionError, RedisTimeoutError) as exc:
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            log.warning("cron: Redis unavailable (%s); reconnecting in %.0f s", exc, delay)
            time.sleep(delay)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="worker.py", description="Run the gateway's RQ worker pool or its cron scheduler.")
    parser.add_argument("-n", "--workers", type=int, default=None, help="worker processes (default: HOTLINE_WORKERS)")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--queue", action="append", choices=QUEUES, dest="queues", metavar="NAME",
                        help=f"take jobs from this queue only (repeat for more; default all: {', '.join(QUEUES)})")
    parser.add_argument("--cron", action="store_true", help="run the periodic-job scheduler instead of workers")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.cron:
        run_cron()
    else:
        workers = args.workers if args.workers is not None else app().extensions["hotline"].settings.workers
        run_pool(workers, burst=args.burst, queues=args.queues)


if __name__ == "__main__":
    main()
