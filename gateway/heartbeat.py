"""Heartbeats of the processes that do the work nobody waits for: the worker pool and the cron scheduler.

Each writes a timestamp to Redis while it runs; `/readyz` answers 503 naming the one whose last beat is
older than HOTLINE_HEARTBEAT_MAX_AGE (0: not checked). A Redis restarted empty has no beats until the
processes write again, so readiness says so until they have reconnected.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError

from gateway.runtime import Runtime

log = logging.getLogger(__name__)

KINDS = ("workers", "cron")


def _key(rt: Runtime, kind: str) -> str:
    return f"{rt.broker.prefix}-heartbeat:{kind}"


def max_age(rt: Runtime) -> int:
    return rt.settings.heartbeat_max_age


def beat(rt: Runtime, kind: str) -> None:
    """Say this kind of process is alive now (a Redis error is logged: the next beat tries again)."""
    try:
        rt.broker.redis.set(_key(rt, kind), int(time.time()), ex=max(max_age(rt), 30) * 2)
    except RedisError as exc:
        log.warning("heartbeat of %s not written: %s", kind, exc)


def keep_beating(rt: Runtime, kind: str, every: float = 10.0) -> threading.Thread:
    """A daemon thread that beats every few seconds for as long as the process lives."""

    def loop() -> None:
        while True:
            beat(rt, kind)
            time.sleep(every)

    thread = threading.Thread(target=loop, name=f"heartbeat-{kind}", daemon=True)
    thread.start()
    return thread


def missing(rt: Runtime) -> list[str]:
    """The kinds whose last beat is older than the allowed age, or absent (none when the check is off)."""
    limit = max_age(rt)
    if not limit:
        return []
    try:
        stamps = rt.broker.redis.mget([_key(rt, kind) for kind in KINDS])
    except RedisError:
        return list(KINDS)
    now = time.time()
    return [kind for kind, stamp in zip(KINDS, stamps) if stamp is None or now - int(stamp) > limit]
