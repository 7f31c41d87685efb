"""Intake throughput end to end: mixed-channel HTTP posts through `hotline run` (waitress + worker pool),
beside a one-row-insert Flask app under the same waitress settings, and that app again with one empty RQ
job per request run by a worker pool; RSS of the processes sampled meanwhile. The closed loops run on wrk
when it is on PATH (--loadgen).

    python -m bench.intake                 # 100,000 existing cases, SQLite and PostgreSQL
    python -m bench.intake --quick --db sqlite
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any, Callable

from sqlalchemy import func, select, text
from sqlmodel import Session

from bench import common, loadgen, preload
from bench.corpus import Corpus, Load, Secrets
from gateway.cli import webserver
from gateway.models import Case, Outbox, Report

NAME = "intake"


class Sampler(threading.Thread):
    """Sample VmRSS and the CPU time of the web processes and of the worker pool's processes every `every` s.

    ``roles`` names the processes by role (``web``, ``pool``, ``worker``, ``cron``) each time it is asked,
    so that a process restarted meanwhile is counted too; its CPU time is kept as last seen."""

    def __init__(self, roles: Callable[[], dict[str, list[int]]], every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.roles, self.every = roles, every
        self.samples: list[dict[str, Any]] = []
        self.cpu: dict[str, dict[int, float]] = {}  # role -> pid -> CPU seconds, as last seen
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.sample()

    def sample(self) -> None:
        found = self.roles()
        rss = {role: [v for v in (common.rss_kb(pid) for pid in pids) if v] for role, pids in found.items()}
        with self.lock:
            self.samples.append(rss)
            for role, pids in found.items():
                seen = self.cpu.setdefault(role, {})
                for pid in pids:
                    seconds = common.cpu_seconds(pid)
                    if seconds:
                        seen[pid] = seconds

    def mark(self) -> dict[str, dict[int, float]]:
        """The CPU seconds of every process seen so far, after a fresh sample."""
        self.sample()
        with self.lock:
            return {role: dict(pids) for role, pids in self.cpu.items()}

    @staticmethod
    def cpu_between(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], units: int) -> dict[str, Any]:
        """CPU seconds used by each role between two marks, and milliseconds of it per unit (report, request)."""
        out: dict[str, Any] = {"units": units}
        for role, pids in after.items():
            used = sum(s - before.get(role, {}).get(pid, 0.0) for pid, s in pids.items())
            out[f"{role}_cpu_s"] = round(used, 2)
            out[f"{role}_ms_per_unit"] = round(used * 1000 / units, 2) if units else None
        return out

    def summary(self) -> dict[str, Any]:
        def peak(role: str) -> int:
            return max((max(s[role]) for s in self.samples if s.get(role)), default=0)

        def mean(role: str) -> float:
            values = [v for s in self.samples for v in s.get(role, [])]
            return round(sum(values) / len(values) / 1024, 1) if values else 0.0

        return {
            "samples": len(self.samples),
            "web_max_mb": round(peak("web") / 1024, 1),
            "web_mean_mb": mean("web"),
            "queue_worker_max_mb": round(peak("worker") / 1024, 1),
            "queue_worker_mean_mb": mean("worker"),
            "pool_parent_max_mb": round(peak("pool") / 1024, 1),
            "cron_max_mb": round(peak("cron") / 1024, 1),
            "queue_workers": max((len(s.get("worker", [])) for s in self.samples), default=0),
            "web_processes": max((len(s.get("web", [])) for s in self.samples), default=0),
        }


def gateway_roles(web_pid: int) -> dict[str, list[int]]:
    """Process ids by role under `hotline run`: its web children (or itself), the pool parent, its workers, cron."""
    found: dict[str, list[int]] = {"web": [], "pool": [], "worker": [], "cron": []}
    for child in common.children(web_pid):
        line = common.cmdline(child)
        if "gateway.cli web" in line:  # hotline run --web-processes N: the serving children
            found["web"].append(child)
        elif "--cron" in line:
            found["cron"].append(child)
        elif "worker.py" in line:
            found["pool"].append(child)
            found["worker"].extend(common.children(child))
    if not found["web"]:  # one web process: `hotline run` serves itself
        found["web"].append(web_pid)
    return found


def nodes_roles(webs: list[int], pool: int, cron: int) -> dict[str, list[int]]:
    """Process ids by role of N web-only nodes beside one worker pool and one scheduler."""
    found: dict[str, list[int]] = {"web": [], "pool": [pool], "worker": common.children(pool), "cron": [cron]}
    for web in webs:
        found["web"].extend([c for c in common.children(web) if "gateway.cli web" in common.cmdline(c)] or [web])
    return found


def gateway(args: Any, env: dict[str, str], log: Any) -> tuple[list[subprocess.Popen], list[int], Callable[[], dict[str, list[int]]]]:
    """Start the gateway: `hotline run` (one node with its pool and scheduler), or ``args.nodes`` web-only nodes
    after a worker pool and a scheduler of their own (a node's /readyz waits for their heartbeats). Returns the
    processes to stop, the web ports and the sampler's roles."""
    web = ["--threads", str(args.threads), "--web-processes", str(args.web_processes)]
    cli = [sys.executable, "-m", "gateway.cli"]
    if args.nodes == 1:
        port = common.free_port()
        server = start([*cli, "run", "--port", str(port), "--workers", str(args.workers), *web], env, port, log)
        return [server], [port], lambda: gateway_roles(server.pid)
    procs = [subprocess.Popen([*cli, "worker", "-n", str(args.workers)], env=env, cwd=str(common.ROOT), stdout=log,
                              stderr=subprocess.STDOUT),
             subprocess.Popen([*cli, "cron"], env=env, cwd=str(common.ROOT), stdout=log, stderr=subprocess.STDOUT)]
    pool, cron = procs
    ports = [common.free_port() for _ in range(args.nodes)]
    try:
        for port in ports:
            procs.append(start([*cli, "run", "--web-only", "--port", str(port), *web], env, port, log))
    except BaseException:
        stop(*procs)
        raise
    return procs, ports, lambda: nodes_roles([p.pid for p in procs[2:]], pool.pid, cron.pid)


def bare_roles(bare_pid: int, pool_pid: int | None) -> dict[str, list[int]]:
    """Process ids by role of the baseline: bench.bare_app's serving children (or itself) and the pool's workers."""
    web = [c for c in common.children(bare_pid) if "--fd" in common.cmdline(c)] or [bare_pid]
    found: dict[str, list[int]] = {"web": web, "pool": [], "worker": []}
    if pool_pid is not None:
        found["pool"].append(pool_pid)
        found["worker"].extend(common.children(pool_pid))
    return found


def smtp_sink() -> tuple[Any, str]:
    """A local SMTP server that accepts the e-mail acknowledgements (the edge we do not measure)."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    port = common.free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, f"smtp://127.0.0.1:{port}"


def start(cmd: list[str], env: dict[str, str], port: int, log: Any) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=str(common.ROOT), stdout=log, stderr=subprocess.STDOUT)
    try:
        common.wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc)
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(*procs: subprocess.Popen | None) -> None:
    """SIGTERM the servers and pools given, wait up to 30 s for them together, kill what is left."""
    webserver.stop([p for p in procs if p is not None], timeout=30)


def backlog(broker: Any) -> int:
    """Jobs waiting or running on every queue of this prefix."""
    return sum(q.count + q.started_job_registry.count for q in broker.queues.values())


def drain(broker: Any, timeout: float, load: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wait until the worker pool has emptied the queues; how long it took and what is left.

    With the closed-loop ``load`` that made the jobs: ``sustained_per_s``, its rate spread over the
    load (warm-up included) and the drain, i.e. the rate at which requests were done with their jobs."""
    began, at_end = time.perf_counter(), backlog(broker)
    while time.perf_counter() - began < timeout:
        left = backlog(broker)
        if left == 0:
            break
        time.sleep(0.25)
    left = backlog(broker)
    failed = sum(q.failed_job_registry.count for q in broker.queues.values())
    took = time.perf_counter() - began
    out = {"backlog_at_end_of_load": at_end, "drain_s": round(took, 1), "left": left, "failed_jobs": failed}
    if load is not None:
        busy = load["warmup_s"] + load["duration_s"]
        out["sustained_per_s"] = round(load["per_s"] * busy / (busy + took), 1) if not left else None
    return out


def wait_workers(broker: Any, n: int, timeout: float = 300) -> None:
    """Wait until `n` RQ workers listen on this installation's default queue: a worker's start-up (the app
    built in each process) is not part of what a run measures."""
    from rq import Worker

    deadline = time.monotonic() + timeout
    while Worker.count(queue=broker.queues["default"]) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} workers did not start within {timeout:.0f} s")
        time.sleep(0.5)


def bare_rows(engine: Any) -> int:
    """Rows the baseline app has inserted so far (its table, once it exists)."""
    with engine.connect() as conn:
        try:
            return int(conn.execute(text("SELECT count(*) FROM bench_bare")).scalar_one())
        except Exception:  # the app has not created its table yet
            conn.rollback()
            return 0


def counts(engine: Any) -> dict[str, int]:
    with Session(engine) as session:
        return {
            name: int(session.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in (("cases", Case), ("reports", Report), ("jobs", Outbox))
        }


def run_one(kind: str, args: Any) -> dict[str, Any]:
    """Preload, then the bare app and the gateway, each under the same closed-loop load; then the paced run."""
    from gateway import create_app

    secrets = Secrets()
    sink, smtp_url = smtp_sink()
    result: dict[str, Any] = {"database": kind, "nodes": args.nodes, "web_processes": args.web_processes,
                              "threads": args.threads}
    try:
        with common.target(kind, args.redis_url, args.pg_url) as tgt:
            tgt.extra_env.update(secrets.env(), HOTLINE_SMTP_URL=smtp_url)
            app = create_app({**tgt.config(), "TESTING": True})
            rt = app.extensions["hotline"]
            corpus = Corpus(seed=args.seed)
            print(f"[{kind}] preloading {args.cases:,} cases ...", flush=True)
            result["preload"] = preload.cases(rt.engine, corpus, args.cases)
            result["preload"]["dedupe_index"] = preload.dedupe_index(app, 1, args.cases)
            result["load_after_preload"] = common.load()
            total = args.warmup + args.duration
            n = int(args.max_rate * total) + int(args.rate * args.paced_duration * 1.2)
            print(f"[{kind}] generating {n:,} requests ...", flush=True)
            gen = Load(corpus, args.cases, secrets, seed=args.seed)
            requests = gen.requests(n)
            result["corpus"] = {"requests": n, **gen.counts}
            closed, paced = requests[: int(args.max_rate * total)], requests[int(args.max_rate * total) :]
            logfile = open(f"{tgt.data_dir}/server.log", "wb")

            # 1. the baselines: one row per request, same waitress threads, same database; then the
            #    same with one empty RQ job per request, run by a worker pool of the same size
            for key, extra in (("bare", []), ("bare_job", ["--enqueue"])):
                port = common.free_port()
                bare = start(
                    [sys.executable, "-m", "bench.bare_app", "--port", str(port), "--threads", str(args.threads),
                     "--processes", str(args.web_processes), *extra],
                    tgt.env(),
                    port,
                    logfile,
                )
                pool = None
                if extra:
                    pool = subprocess.Popen([sys.executable, str(common.ROOT / "worker.py"), "-n", str(args.workers)],
                                            env=tgt.env(), cwd=str(common.ROOT), stdout=logfile, stderr=subprocess.STDOUT)
                if pool is not None:
                    wait_workers(rt.broker, args.workers)
                bare_sampler = Sampler(lambda: bare_roles(bare.pid, pool.pid if pool else None), every=args.sample_every)
                bare_sampler.start()
                try:
                    rows_before, cpu_before = bare_rows(rt.engine), bare_sampler.mark()
                    print(
                        f"[{kind}] {key}: {args.duration:g} s closed loop, {args.concurrency} connections, "
                        f"{args.web_processes} web processes{', ' + str(args.workers) + ' workers' if pool else ''}",
                        flush=True,
                    )
                    result[key] = loadgen.run(
                        "127.0.0.1",
                        port,
                        closed,
                        wrk=args.use_wrk,
                        concurrency=args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        path="/bare",
                        cycle=True,
                    )
                    if pool is not None:
                        result[key]["jobs"] = drain(rt.broker, args.drain_timeout, result[key])
                    result[key]["cpu"] = Sampler.cpu_between(cpu_before, bare_sampler.mark(),
                                                             bare_rows(rt.engine) - rows_before)
                finally:
                    bare_sampler.halt.set()
                    stop(bare, pool)

            # 2. the gateway: `hotline run` (waitress + worker pool + cron), end to end; or, with --nodes N,
            #    N web-only nodes on their own ports beside one worker pool and one scheduler (docs/DEPLOY.md)
            servers, ports, roles = gateway(args, tgt.env(), logfile)
            wait_workers(rt.broker, args.workers)
            sampler = Sampler(roles, every=args.sample_every)
            sampler.start()
            try:
                before, cpu_before = counts(rt.engine), sampler.mark()
                print(f"[{kind}] gateway: {args.duration:g} s closed loop, {args.concurrency} connections, "
                      f"{args.nodes} node(s) x {args.web_processes} web processes", flush=True)
                result["gateway"] = loadgen.run(
                    "127.0.0.1", ports, closed, wrk=args.use_wrk, concurrency=args.concurrency,
                    duration=args.duration, warmup=args.warmup,
                )
                result["gateway"]["jobs"] = drain(rt.broker, args.drain_timeout, result["gateway"])
                closed_counts, cpu_closed = counts(rt.engine), sampler.mark()
                result["gateway"]["cpu"] = Sampler.cpu_between(cpu_before, cpu_closed,
                                                               closed_counts["reports"] - before["reports"])
                if args.paced_duration > 0:
                    print(f"[{kind}] gateway: {args.paced_duration:g} s paced at {args.rate:g}/s", flush=True)
                    result["paced"] = loadgen.run(
                        "127.0.0.1",
                        ports,
                        paced,
                        concurrency=max(args.concurrency, 32),
                        duration=args.paced_duration,
                        warmup=1,
                        rate=args.rate,
                    )
                    result["paced"]["jobs"] = drain(rt.broker, args.drain_timeout)
                    result["paced"]["cpu"] = Sampler.cpu_between(cpu_closed, sampler.mark(),
                                                                 counts(rt.engine)["reports"] - closed_counts["reports"])
                after = counts(rt.engine)
                new = {k: after[k] - before[k] for k in after}
                result["stored"] = {
                    "new_reports": new["reports"],
                    "new_cases": new["cases"],
                    "jobs": new["jobs"],  # every job goes through the outbox
                    "jobs_per_report": round(new["jobs"] / new["reports"], 2) if new["reports"] else None,
                }
            finally:
                sampler.halt.set()
                stop(*servers)
                logfile.close()
            result["memory"] = sampler.summary()
            bare_rate, gw_rate = result["bare"]["per_s"], result["gateway"]["per_s"]
            result["ratio_gateway_to_bare"] = round(gw_rate / bare_rate, 3) if bare_rate else None
            gw_sus = result["gateway"]["jobs"].get("sustained_per_s")
            bj_sus = result["bare_job"].get("jobs", {}).get("sustained_per_s")
            result["ratio_sustained_to_bare_job"] = round(gw_sus / bj_sus, 3) if gw_sus and bj_sus else None
            rt.engine.dispose()
    finally:
        sink.stop()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=None, help="existing cases to preload (default 100,000; --quick 5,000)")
    p.add_argument("--duration", type=float, default=None, help="measured seconds per server (default 30; --quick 5)")
    p.add_argument("--warmup", type=float, default=None, help="seconds before measuring (default 5; --quick 1)")
    p.add_argument("--concurrency", type=int, default=8, help="keep-alive connections of the load generator")
    p.add_argument("--threads", type=int, default=8, help="waitress threads (hotline run --threads)")
    p.add_argument("--workers", type=int, default=2, help="RQ worker processes (hotline run --workers)")
    p.add_argument("--web-processes", type=int, default=2,
                   help="web server processes, for the gateway and the bare app alike (hotline run --web-processes)")
    p.add_argument("--rate", type=float, default=500, help="the paced run's target rate (reports/s)")
    p.add_argument(
        "--paced-duration", type=float, default=None, help="seconds of the paced run (default 15; --quick 3; 0: skip)"
    )
    p.add_argument(
        "--max-rate", type=float, default=None, help="requests generated per second of closed loop (default 1000)"
    )
    p.add_argument(
        "--drain-timeout", type=float, default=None, help="seconds to wait for the queues to empty (default 120)"
    )
    p.add_argument("--nodes", type=int, default=1,
                   help="gateway nodes: 1 = `hotline run`; N = N web-only nodes (each --web-processes x --threads) "
                        "beside one worker pool and one scheduler, the load spread over them (Python load generator)")
    p.add_argument("--sample-every", type=float, default=1.0, help="seconds between RSS samples")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="closed-loop load generator: wrk (apt install wrk), the Python threads, or wrk when on PATH")
    p.add_argument("--seed", type=int, default=12345)
    args = p.parse_args(argv)
    if args.loadgen == "wrk" and loadgen.wrk_path() is None:
        p.error("--loadgen wrk: no wrk on PATH (Debian: apt install wrk)")
    if args.nodes < 1:
        p.error("--nodes: at least 1")
    if args.nodes > 1 and args.loadgen == "wrk":
        p.error("--nodes: wrk drives one server; the Python load generator spreads the load over the nodes")
    args.use_wrk = args.nodes == 1 and (args.loadgen == "wrk" or (args.loadgen == "auto" and loadgen.wrk_path() is not None))
    quick = args.quick
    args.cases = args.cases if args.cases is not None else (5_000 if quick else 100_000)
    args.duration = args.duration if args.duration is not None else (5 if quick else 30)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 5)
    args.paced_duration = args.paced_duration if args.paced_duration is not None else (3 if quick else 15)
    args.max_rate = args.max_rate if args.max_rate is not None else (600 if quick else 1000)
    args.drain_timeout = args.drain_timeout if args.drain_timeout is not None else (30 if quick else 120)

    return common.run(NAME, args, argv, run_one, report)


def report(result: dict[str, Any]) -> str:
    rows = []
    for run in result["runs"]:
        for label, key in (("bare insert", "bare"), ("bare insert + empty job", "bare_job"), ("gateway", "gateway"),
                           ("gateway paced", "paced")):
            r = run.get(key)
            if r:
                rows.append(
                    [
                        run["database"],
                        label,
                        (f"{run['nodes']} nodes x " if run.get("nodes", 1) > 1 and key in ("gateway", "paced") else "")
                        + f"{run.get('web_processes', 1)} x {run.get('threads', '?')}",
                        r["mode"] + (f" ({r['loadgen']})" if r.get("loadgen") else "") + (" EXHAUSTED" if r.get("exhausted") else ""),
                        r["per_s"],
                        r["p50_ms"],
                        r["p99_ms"],
                        r["requests"],
                        r["requests"] - r["ok"],
                        "/".join(f"{x:g}" for x in r["load"]),
                    ]
                )
    text = common.table(
        ["db", "server", "processes x threads", "mode", "ok/s", "p50 ms", "p99 ms", "requests", "non-2xx", "load 1/5/15"], rows
    )
    extra = []
    for run in result["runs"]:
        m, jobs = run["memory"], run["gateway"]["jobs"]
        extra.append(
            f"{run['database']}: gateway/bare = {run['ratio_gateway_to_bare']}; "
            f"gateway sustained / bare+job sustained = {run.get('ratio_sustained_to_bare_job')}; "
            f"RSS web max {m['web_max_mb']} MB, queue worker max {m['queue_worker_max_mb']} MB; "
            f"backlog at end of load {jobs['backlog_at_end_of_load']}, drained in {jobs['drain_s']} s "
            f"(left {jobs['left']}, failed {jobs['failed_jobs']}), sustained {jobs.get('sustained_per_s')}/s; "
            f"{run['stored'].get('jobs_per_report')} jobs per report; "
            f"preload {run['preload']['seconds']} s"
        )
        if run.get("bare_job", {}).get("jobs"):
            bj = run["bare_job"]["jobs"]
            extra.append(
                f"{run['database']}: bare + empty job: backlog at end of load {bj['backlog_at_end_of_load']}, "
                f"drained in {bj['drain_s']} s (left {bj['left']}, failed {bj['failed_jobs']}), "
                f"sustained {bj.get('sustained_per_s')}/s"
            )
    cpu_rows = []
    for run in result["runs"]:
        for label, key in (("bare insert", "bare"), ("bare insert + empty job", "bare_job"), ("gateway", "gateway"),
                           ("gateway paced", "paced")):
            c = (run.get(key) or {}).get("cpu")
            if c:
                cpu_rows.append([run["database"], label, c["units"], c.get("web_cpu_s"), c.get("web_ms_per_unit"),
                                 c.get("worker_cpu_s", "-"), c.get("worker_ms_per_unit", "-")])
    cpu = common.table(["db", "server", "reports", "web CPU s", "web ms/report", "workers CPU s", "workers ms/report"],
                       cpu_rows)
    return text + "\n\n" + cpu + "\n" + "\n".join(extra)


if __name__ == "__main__":
    main()
