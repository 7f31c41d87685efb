"""Supervision sweep: time for `gateway.casework.supervision.sweep` to walk N open assignments whose due times are spread around now.

The first sweep takes every step the clock calls for (reminders, overdue flags, written chases,
escalations: events, notifications and outbox rows, sent to Redis); the later ones find every
assignment already at its level and only evaluate them. Both are reported, with the plan of the
sweep's query.

    python -m bench.supervision               # 100,000 assignments, SQLite and PostgreSQL
    python -m bench.supervision --quick --db sqlite
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

from bench import common, preload
from bench.corpus import Corpus

NAME = "supervision"


def plan(engine: Any, horizon: Any) -> str:
    """The database's plan for the sweep's own query (`gateway.casework.supervision.due_batch`), first batch of one status."""
    from gateway.casework.supervision import due_batch
    from gateway.casework.workflow import ACTIVE

    compiled = due_batch(ACTIVE[0], horizon).compile(dialect=engine.dialect)
    params = tuple(compiled.params[k] for k in compiled.positiontup) if compiled.positional else compiled.params
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + str(compiled), params).all()
    return " | ".join(str(r[-1]) for r in rows)


def run_one(kind: str, args: Any) -> dict[str, Any]:
    from gateway import create_app
    from gateway.casework.supervision import horizon_of, sweep
    from gateway.clock import utcnow

    result: dict[str, Any] = {"database": kind}
    with common.target(kind, args.redis_url, args.pg_url) as tgt:
        app = create_app({**tgt.config(), "TESTING": True})
        rt = app.extensions["hotline"]
        print(f"[{kind}] preloading {args.assignments:,} cases and assignments ...", flush=True)
        loaded = preload.cases(rt.engine, Corpus(seed=args.seed), args.assignments, status="dispatched")
        result["preload"] = {
            "cases": loaded,
            "assignments": preload.assignments(rt.engine, loaded["first_case_id"], args.assignments),
        }
        now = utcnow()  # every sweep at one moment: the later ones have nothing left to do
        rt.settings = replace(rt.settings, now=now)
        result["plan"] = plan(rt.engine, horizon_of(rt.profile, now))
        result["load"] = common.load()
        timings, cpu, outcomes = [], [], []
        with app.app_context():
            for i in range(1 + args.repeat):
                print(f"[{kind}] sweep {i + 1} of {1 + args.repeat} ...", flush=True)
                began, began_cpu = time.perf_counter(), time.process_time()
                outcomes.append(sweep())
                timings.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
        result["load_after"] = common.load()
        # CPU of this process: the sweep's Python and, on SQLite, the database's work (in process); a
        # PostgreSQL server's own CPU is not in it. On a shared machine it is the figure the load does not move.
        result["first"] = {"seconds": round(timings[0], 3), "cpu_seconds": round(cpu[0], 3), **outcomes[0],
                           "assignments_per_s": round(args.assignments / timings[0])}
        settled = timings[1:]
        result["settled"] = {"seconds": [round(t, 4) for t in settled], "cpu_seconds": [round(t, 4) for t in cpu[1:]],
                             "outcomes": outcomes[1:]}
        if settled:
            median = statistics.median(settled)
            result["settled"].update(median_ms=round(median * 1000, 1), assignments_per_s=round(args.assignments / median))
        rt.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--assignments", type=int, default=None, help="open assignments (default 100,000; --quick 5,000)")
    p.add_argument("--repeat", type=int, default=3, help="sweeps after the first (nothing left to do); the median is reported")
    p.add_argument("--seed", type=int, default=12345)
    args = p.parse_args(argv)
    args.assignments = args.assignments if args.assignments is not None else (5_000 if args.quick else 100_000)
    return common.run(NAME, args, argv, run_one, report)


def report(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        first, settled = r["first"], r["settled"]
        rows.append([r["database"], result["params"]["assignments"], first["checked"], first["steps"],
                     round(first["seconds"] * 1000, 1), round(first.get("cpu_seconds", 0) * 1000, 1),
                     first["assignments_per_s"],
                     settled.get("median_ms", "-"), settled.get("assignments_per_s", "-"),
                     "/".join(f"{x:g}" for x in r["load_after"])])
    text_ = common.table(["db", "assignments", "checked", "steps", "first sweep ms", "its CPU ms", "assignments/s",
                          "settled sweep ms (median)", "assignments/s", "load after 1/5/15"], rows)
    plans = [f"{r['database']} plan: {r['plan']}" for r in result["runs"]]
    return "\n".join([text_, *plans])


if __name__ == "__main__":
    main()
