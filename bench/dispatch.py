"""Dispatch throughput: `python worker.py -n N --burst --queue dispatch` over a queue preloaded with dispatch_case
jobs for bulk-inserted cases, beside RQ's ceiling for an empty job on the same worker class and on RQ's default
Worker; CPU per job with the pool's own start-up (the same pool over an empty queue) taken off.

    python -m bench.dispatch                  # 5,000 jobs per run, pools of 2 and 4, SQLite and PostgreSQL
    python -m bench.dispatch --quick --db sqlite
"""

from __future__ import annotations

import cProfile
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

from rq import Retry

from bench import common, preload
from bench.corpus import Corpus

NAME = "dispatch"


def enqueue(queue: Any, func: str, ids: list[Any], prefix: str, backoff: list[int]) -> float:
    """Put one job per id on the queue in pipelined batches, retried like the gateway's jobs; returns seconds taken."""
    started = time.perf_counter()
    for low in range(0, len(ids), 1000):
        with queue.connection.pipeline() as pipe:
            datas = [
                queue.prepare_data(
                    func,
                    args=(i,) if i is not None else (),
                    job_id=f"{prefix}-{func.rsplit('.', 1)[-1]}-{n + low}",
                    retry=Retry(max=len(backoff), interval=backoff),
                )
                for n, i in enumerate(ids[low : low + 1000])
            ]
            queue.enqueue_many(datas, pipeline=pipe)
            pipe.execute()
    return time.perf_counter() - started


def children_cpu() -> float:
    """CPU seconds of this process's ended and waited-for children and of theirs (a pool waits for its workers)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(queue: Any, n: int, cmd: list[str], env: dict[str, str], timeout: float,
            startup_cpu: float = 0.0) -> dict[str, Any]:
    """Run the pool until it exits; time from its first taken job to the last finished, by polling Redis; the CPU
    the pool and its workers used, and per job with ``startup_cpu`` (the same pool over an empty queue) taken off."""
    finished, failed = queue.finished_job_registry, queue.failed_job_registry
    base_done = finished.count + failed.count
    load_before = common.load()
    began, cpu_before = time.perf_counter(), children_cpu()
    # The pool's log goes to a file: a pipe nobody reads until the end fills up and stops the workers.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, cwd=str(common.ROOT), stdout=subprocess.DEVNULL, stderr=log)
    first = last = None
    done = 0
    while True:
        now = time.perf_counter()
        done = finished.count + failed.count - base_done
        if first is None and (queue.count < n or done > 0):
            first = now
        if done >= n:
            last = now
            break
        if proc.poll() is not None or now - began > timeout:
            break
        time.sleep(0.02)
    try:  # the pool exits once its workers find the queue empty; on a busy machine that can take a while
        proc.wait(timeout=max(timeout - (time.perf_counter() - began), 60))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    cpu = children_cpu() - cpu_before
    log.seek(0)
    err = log.read()
    log.close()
    wall = time.perf_counter() - began
    window = (last - first) if first is not None and last is not None else None
    return {
        "jobs": n,
        "done": done,
        "failed": failed.count,
        "window_s": round(window, 2) if window else None,
        "per_s": round(n / window, 1) if window else 0.0,
        "wall_s": round(wall, 2),
        "per_s_incl_startup": round(done / wall, 1) if wall else 0.0,
        "cpu_s": round(cpu, 2),
        "startup_cpu_s": round(startup_cpu, 2),
        "cpu_ms_per_job": round((cpu - startup_cpu) * 1000 / done, 2) if done else None,
        "exit_code": proc.returncode,
        "load": load_before,
        "load_after": common.load(),
        "stderr_tail": err.decode(errors="replace")[-600:] if proc.returncode else "",
    }


def in_process(app: Any, corpus: Corpus, n: int, warm: int = 50, profile: bool = False) -> dict[str, Any]:
    """dispatch_case called n times in this process (after ``warm`` untimed calls) on freshly inserted cases: the
    job's own CPU per case, its Redis sends and SQLite's engine included, without a worker, RQ or start-up around it
    (PostgreSQL: the client side only)."""
    from gateway.casework.dispatch import dispatch_case

    rt = app.extensions["hotline"]
    loaded = preload.cases(rt.engine, corpus, n + warm, status="new")
    ids = list(range(loaded["first_case_id"], loaded["last_case_id"] + 1))
    with app.app_context():
        for case_id in ids[:warm]:
            dispatch_case(case_id)
        profiler = cProfile.Profile() if profile else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for case_id in ids[warm:]:
            dispatch_case(case_id)
        if profiler:
            profiler.disable()
        spent = time.process_time() - started
    if profiler:  # where the time goes, under the profiler (which slows it): the top 25 by cumulative time
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return {"cases": n, "cpu_ms_per_case": round(spent * 1000 / n, 2), "profiled": profile}


def run_one(kind: str, args: Any) -> dict[str, Any]:
    from gateway import create_app, jobs
    from gateway.models import Assignment

    result: dict[str, Any] = {"database": kind, "runs": []}
    with common.target(kind, args.redis_url, args.pg_url) as tgt:
        app = create_app({**tgt.config(), "TESTING": True})
        rt = app.extensions["hotline"]
        backoff = list(rt.settings.retry_backoff)
        corpus = Corpus(seed=args.seed)
        env = tgt.env()
        dispatch_q, default_q = rt.broker.queue("dispatch"), rt.broker.queue("default")
        for workers in args.pools:
            # Each pool takes its own queue only: the deliveries the dispatches queue (a unit's mail or webhook) are
            # other jobs, not dispatch_case's CPU (before 2026-12-08 the pool ran them too, in this figure).
            pool = [sys.executable, str(common.ROOT / "worker.py"), "-n", str(workers), "--burst", "--queue", "dispatch"]
            # The pool's start-up and exit alone, over its empty queue: taken off every run's CPU below, so that a
            # run's CPU per job is its jobs' (a long-lived pool starts once).
            startup = measure(dispatch_q, 0, pool, env, args.timeout)["cpu_s"]
            print(f"[{kind}] worker.py -n {workers} starts and stops in {startup:.2f} s of CPU", flush=True)
            # the real job over freshly inserted cases
            loaded = preload.cases(rt.engine, corpus, args.jobs, status="new")
            ids = list(range(loaded["first_case_id"], loaded["last_case_id"] + 1))
            enqueue(dispatch_q, jobs.entry_point("dispatch_case"), ids, f"{tgt.prefix}-{workers}", backoff)
            print(f"[{kind}] dispatch_case x{args.jobs:,} on worker.py -n {workers}", flush=True)
            run = measure(dispatch_q, args.jobs, pool, env, args.timeout, startup)
            result["runs"].append(
                {
                    "job": "dispatch_case",
                    "worker": "worker.GatewayWorker",
                    "processes": workers,
                    "preload_s": loaded["seconds"],
                    **run,
                }
            )
            # the empty job on the same pool class
            enqueue(default_q, "bench.noop.noop", [None] * args.noop_jobs, f"{tgt.prefix}-{workers}-gw", backoff)
            print(f"[{kind}] noop x{args.noop_jobs:,} on worker.py -n {workers}", flush=True)
            run = measure(default_q, args.noop_jobs, [*pool[:-1], "default"], env, args.timeout, startup)
            result["runs"].append({"job": "noop", "worker": "worker.GatewayWorker", "processes": workers, **run})
            # dispatch_case's own CPU: the pool's per job over the empty job's on the same pool, start-up taken off
            # both (RQ's work per job cancels out; the database server's CPU is not in either)
            real = result["runs"][-2]
            if real["done"] and run["done"]:
                real["cpu_ms_per_case_over_noop"] = round(real["cpu_ms_per_job"] - run["cpu_ms_per_job"], 2)
            # the empty job on RQ's default (forking) Worker
            enqueue(default_q, "bench.noop.noop", [None] * args.fork_jobs, f"{tgt.prefix}-{workers}-rq", backoff)
            print(f"[{kind}] noop x{args.fork_jobs:,} on rq worker-pool -n {workers} (rq.Worker)", flush=True)
            cmd = [
                sys.executable,
                "-m",
                "rq.cli",
                "worker-pool",
                "--burst",
                "-q",
                "-n",
                str(workers),
                "-w",
                "rq.worker.Worker",
                "-u",
                args.redis_url,
                default_q.name,
            ]
            run = measure(default_q, args.fork_jobs, cmd, env, args.timeout)
            result["runs"].append({"job": "noop", "worker": "rq.Worker (forks per job)", "processes": workers, **run})
        if args.in_process:
            result["in_process"] = in_process(app, corpus, args.in_process, profile=args.profile)
            print(f"[{kind}] dispatch_case x{args.in_process:,} in this process: "
                  f"{result['in_process']['cpu_ms_per_case']} ms CPU per case", flush=True)
        from sqlalchemy import func, select

        with rt.engine.connect() as conn:
            result["assignments_created"] = int(conn.execute(select(func.count()).select_from(Assignment)).scalar_one())
        rt.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=None, help="dispatch_case jobs per run (default 5,000; --quick 200)")
    p.add_argument(
        "--noop-jobs", type=int, default=None, help="empty jobs per GatewayWorker run (default 5,000; --quick 200)"
    )
    p.add_argument(
        "--fork-jobs", type=int, default=None, help="empty jobs per rq.Worker run (default 1,000; --quick 100)"
    )
    p.add_argument("--pools", type=int, nargs="+", default=[2, 4], help="worker processes per run (default 2 4)")
    p.add_argument("--timeout", type=float, default=300, help="give up on one run after this many seconds")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--in-process", type=int, default=0, metavar="N",
                   help="also call dispatch_case N times in this process: the job's own CPU, no worker around it")
    p.add_argument("--profile", action="store_true", help="with --in-process: cProfile those calls and print the top")
    args = p.parse_args(argv)
    args.jobs = args.jobs if args.jobs is not None else (200 if args.quick else 5_000)
    args.noop_jobs = args.noop_jobs if args.noop_jobs is not None else (200 if args.quick else 5_000)
    args.fork_jobs = args.fork_jobs if args.fork_jobs is not None else (100 if args.quick else 1_000)
    return common.run(NAME, args, argv, run_one, report)


def report(result: dict[str, Any]) -> str:
    rows = [
        [
            db["database"],
            r["job"],
            r["worker"],
            r["processes"],
            r["jobs"],
            r["per_s"],
            r["window_s"],
            r["wall_s"],
            r.get("startup_cpu_s", 0),
            r.get("cpu_ms_per_job", "-"),
            r.get("cpu_ms_per_case_over_noop", "-"),
            "/".join(f"{x:g}" for x in r["load"]),
        ]
        for db in result["runs"]
        for r in db["runs"]
    ]
    table = common.table(
        ["db", "job", "worker class", "procs", "jobs", "jobs/s", "window s", "wall s", "start-up CPU s taken off",
         "CPU ms/job", "CPU ms over empty job",
         "load 1/5/15"], rows
    )
    own = [f"{db['database']}: dispatch_case in one process, {db['in_process']['cpu_ms_per_case']} ms CPU per case "
           f"({db['in_process']['cases']:,} cases)" for db in result["runs"] if "in_process" in db]
    return "\n".join([table, *own])


if __name__ == "__main__":
    main()
