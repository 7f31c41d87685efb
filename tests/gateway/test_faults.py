"""Faults survived: a killed worker, a failing department, an unreachable database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any, Callable

from rq.job import Job
from sqlmodel import Session, func, select

from gateway import create_app
from gateway.models import Assignment, Case, Event
from tests.conftest import ROOT, subprocess_env

STREET_LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号附近路灯连续三晚不亮，夜里很黑。", "phone": "13800138001",
                "external_id": "web-1"}
# A killed worker's job is found after timeout + grace and a maintenance run: seconds, not minutes.
FAST_RECOVERY = {"JOB_TIMEOUT": 3, "JOB_GRACE": 1, "MAINTENANCE_SECONDS": 1, "RETRY_BACKOFF": [0, 0]}
FAST_ENV = {"HOTLINE_JOB_TIMEOUT": "3", "HOTLINE_JOB_GRACE": "1", "HOTLINE_MAINTENANCE_SECONDS": "1",
            "HOTLINE_RETRY_BACKOFF": "0,0"}


def count(rt: Any, model: Any, *where: Any) -> int:
    with Session(rt.engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_in_the_middle_of_a_dispatch_is_retried_and_assigns_once(config):
    app = create_app({**config, **FAST_RECOVERY})
    rt = app.extensions["hotline"]
    pool = None
    try:
        with app.app_context():
            number = app.test_client().post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
            with Session(rt.engine) as session:
                case_id = session.exec(select(Case.id).where(Case.number == number)).one()
            rt.broker.queue("dispatch").empty()  # replaced by the same dispatch that pauses after its commit
            gate = f"{config['QUEUE_PREFIX']}-gate-{uuid.uuid4().hex[:6]}"
            rt.broker.enqueue("dispatch", "tests.gateway.chaosjobs.dispatch_then_wait", [case_id, gate], "chaos-dispatch")
            pool = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "-n", "1"],
                                    env={**subprocess_env(config), **FAST_ENV}, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            reached = wait_for(lambda: rt.broker.redis.blpop([f"{gate}:reached"], timeout=1), 30,
                               "the worker to reach the pause")
            os.kill(int(reached[1]), signal.SIGKILL)  # the worker process, in the middle of its job
            assert count(rt, Assignment) == 1  # the dispatch had committed before the kill
            rt.broker.redis.set(gate, "open")
            job = Job.fetch(f"{config['QUEUE_PREFIX']}-chaos-dispatch", connection=rt.broker.redis)
            wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "the retried job to finish")
            job.refresh()
            assert job.retries_left == 1  # retried once, by RQ's cleanup of the killed worker's job
            assert count(rt, Assignment) == 1
            assert count(rt, Event, Event.kind == "dispatched") == 1
            with Session(rt.engine) as session:
                assert session.get(Case, case_id).status == "dispatched"
    finally:
        if pool is not None:
            os.killpg(pool.pid, signal.SIGTERM)
            try:
                pool.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pool.pid, signal.SIGKILL)
                pool.wait()
            try:
                os.killpg(pool.pid, signal.SIGKILL)  # the scheduler the killed worker forked
            except ProcessLookupError:
                pass
        for queue in rt.broker.queues.values():
            queue.empty()
        rt.engine.dispose()
