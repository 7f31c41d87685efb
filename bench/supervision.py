"""Supervision sweep: time to evaluate N open assignments whose due times are spread around now.

When the code has a supervision sweep (gateway.supervision or gateway.jobs, or --function
module:name) it is called and timed. Until then (the dispatch branch writes it) the benchmark
times the indexed query the sweep will run, `status IN open AND due_at <= now + reminder`,
fetching every matching row and classifying it (remind / overdue) in Python, and shows the plan.

    python -m bench.supervision               # 100,000 assignments, SQLite and PostgreSQL
    python -m bench.supervision --quick --db sqlite
"""

from __future__ import annotations

import importlib
import statistics
import time
from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import DateTime, Integer, String, bindparam, text

from bench import common, preload
from bench.corpus import Corpus

NAME = "supervision"
OPEN = ("dispatched", "signed", "overdue")
CANDIDATES = (
    ("gateway.supervision", ("sweep", "supervision_sweep", "run_sweep")),
    ("gateway.jobs", ("supervision_sweep", "sweep_supervision", "sweep_deadlines")),
)
QUERY = (
    text(
        "SELECT id, case_id, department_id, status, due_at, supervision_level FROM assignment "
        "WHERE status IN :open AND due_at <= :horizon"
    )
    .bindparams(bindparam("open", expanding=True), bindparam("horizon", type_=DateTime(timezone=True)))
    .columns(
        id=Integer,
        case_id=Integer,
        department_id=Integer,
        status=String,
        due_at=DateTime(timezone=True),
        supervision_level=Integer,
    )
)


def find_sweep(spec: str | None) -> tuple[str | None, Callable[[], Any] | None]:
    """The sweep function named by --function, or the first one the code has; (None, None) when absent."""
    if spec:
        module, _, name = spec.partition(":")
        return spec, getattr(importlib.import_module(module), name)
    for module, names in CANDIDATES:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            if callable(getattr(mod, name, None)):
                return f"{module}:{name}", getattr(mod, name)
    return None, None


def evaluate(engine: Any, reminder: timedelta) -> dict[str, int]:
    """Run the sweep's query and classify every row it returns, without writing."""
    from gateway.clock import as_utc, utcnow

    now = utcnow()
    remind = overdue = 0
    with engine.connect() as conn:
        rows = conn.execute(QUERY, {"open": list(OPEN), "horizon": now + reminder}).all()
    for row in rows:
        if as_utc(row.due_at) <= now:
            overdue += 1
        else:
            remind += 1
    return {"matched": len(rows), "overdue": overdue, "remind": remind}


def plan(engine: Any, reminder: timedelta) -> str:
    from gateway.clock import utcnow

    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    states = ", ".join(f"'{s}'" for s in OPEN)
    sql = text(
        f"{prefix}SELECT id, case_id, department_id, status, due_at, supervision_level FROM assignment "
        f"WHERE status IN ({states}) AND due_at <= :horizon"
    )
    with engine.connect() as conn:
        rows = conn.execute(sql, {"horizon": utcnow() + reminder}).all()
    return " | ".join(str(r[-1]) for r in rows)


def run_one(kind: str, args: Any) -> dict[str, Any]:
    from gateway import create_app

    result: dict[str, Any] = {"database": kind}
    with common.target(kind, args.redis_url, args.pg_url) as tgt:
        app = create_app({**tgt.config(), "TESTING": True})
        rt = app.extensions["hotline"]
        reminder = timedelta(hours=float(rt.profile.sla.get("reminder_before_hours", 4)))
        print(f"[{kind}] preloading {args.assignments:,} cases and assignments ...", flush=True)
        loaded = preload.cases(rt.engine, Corpus(seed=args.seed), args.assignments, status="dispatched")
        result["preload"] = {
            "cases": loaded,
            "assignments": preload.assignments(rt.engine, loaded["first_case_id"], args.assignments),
        }
        name, sweep = find_sweep(args.function)
        result["load"] = common.load()
        timings = []
        if sweep is not None:
            result["measured"] = f"the sweep function {name}"
            with app.app_context():
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    outcome = sweep()
                    timings.append(time.perf_counter() - began)
            result["outcome"] = outcome if isinstance(outcome, (int, float, str, dict, list)) else repr(outcome)
        else:
            result["measured"] = (
                "the indexed query status IN open AND due_at <= now + reminder, every row fetched and "
                "classified (no supervision sweep in this code yet)"
            )
            for _ in range(args.repeat):
                began = time.perf_counter()
                outcome = evaluate(rt.engine, reminder)
                timings.append(time.perf_counter() - began)
            result["outcome"] = outcome
            result["plan"] = plan(rt.engine, reminder)
        result["load_after"] = common.load()
        result["seconds"] = [round(t, 4) for t in timings]
        result["median_ms"] = round(statistics.median(timings) * 1000, 1)
        result["assignments_per_s"] = round(args.assignments / statistics.median(timings), 0)
        rt.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--assignments", type=int, default=None, help="open assignments (default 100,000; --quick 5,000)")
    p.add_argument("--repeat", type=int, default=5, help="timed sweeps; the median is reported")
    p.add_argument("--function", default=None, help="module:function of the sweep to time (default: found by name)")
    p.add_argument("--seed", type=int, default=12345)
    args = p.parse_args(argv)
    args.assignments = args.assignments if args.assignments is not None else (5_000 if args.quick else 100_000)
    return common.run(NAME, args, argv, run_one, report)


def report(result: dict[str, Any]) -> str:
    rows = [
        [
            r["database"],
            r["measured"][:40],
            result["params"]["assignments"],
            r["outcome"].get("matched", "-") if isinstance(r["outcome"], dict) else "-",
            r["median_ms"],
            r["assignments_per_s"],
            "/".join(f"{x:g}" for x in r["load"]),
        ]
        for r in result["runs"]
    ]
    text_ = common.table(
        ["db", "measured", "assignments", "matched", "median ms", "assignments/s", "load 1/5/15"], rows
    )
    plans = [f"{r['database']} plan: {r['plan']}" for r in result["runs"] if r.get("plan")]
    return "\n".join([text_, *plans])


if __name__ == "__main__":
    main()
