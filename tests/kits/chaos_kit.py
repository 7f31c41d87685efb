"""Jobs for fault tests only: the real work, then a wait on a Redis key so that a test can kill the worker there."""

from __future__ import annotations

import os
import time

from gateway.casework.dispatch import dispatch_case
from gateway.runtime import current


def dispatch_then_wait(case_id: int, gate: str) -> dict:
    """Dispatch a case (committed), tell the test which process runs it, and wait until the gate key exists."""
    result = dispatch_case(case_id)
    redis = current().broker.redis
    redis.rpush(f"{gate}:reached", os.getpid())
    deadline = time.monotonic() + 600  # tests.conftest.PATIENCE: the test opens the gate as soon as it can
    while not redis.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate} never opened")
        time.sleep(0.05)
    return result
