"""Ledger export memory: peak RSS and Python heap of the console's CSV and XLSX export at N and N/10 cases.

For each size a fresh database is preloaded (`bench/preload.py`) with that many cases, each with its
report, a lead assignment, and a follow-up answer on the closed ones. Then each format is exported in a
process of its own, through the console's real view (`/console/cases.csv`, `/console/cases.xlsx`) by
Flask's test client as an office user, the body read chunk by chunk and thrown away. That process reports:

- its RSS just before the export, and the peak RSS of the export: the kernel's high-water mark (VmHWM,
  what `getrusage` ru_maxrss reports) reset just before it, so start-up's own peak is left out; the
  export's growth is the difference;
- in a second process per format, tracemalloc's peak of Python allocations during the export (tracemalloc
  slows the export and holds its own traces, so it is not run beside the RSS measure).

Flat: the growth and the heap peak do not grow with the number of rows.

    python -m bench.ledger --rows 100000      # 10,000 and 100,000 rows, SQLite
    python -m bench.ledger --quick            # 200 and 2,000 rows
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
import uuid
from datetime import timedelta
from typing import Any

from bench import common, preload
from bench.corpus import Corpus

NAME = "ledger"
FORMATS = ("csv", "xlsx")
LABELS = ("满意", "基本满意", "不满意")


def followups(engine: Any, first: int, last: int) -> int:
    """One answered follow-up on every closed preloaded case, so that the satisfaction column is read."""
    from sqlalchemy import select

    from gateway.clock import utcnow
    from gateway.models import Case, FollowUp

    now = utcnow()
    with engine.begin() as conn:
        closed = conn.execute(select(Case.id).where(Case.id.between(first, last),  # type: ignore[union-attr]
                                                    Case.status == "closed")).scalars().all()
        rows = [{"case_id": i, "contact_key": f"board:{i}", "channel": "board", "round": 1, "status": "answered",
                 "satisfaction": LABELS[i % 3], "ask_at": now - timedelta(days=1), "answered_at": now,
                 "created_at": now} for i in closed]
        for start in range(0, len(rows), preload.CHUNK):
            preload.insert_many(conn, FollowUp.__table__, rows[start:start + preload.CHUNK])  # type: ignore[attr-defined]
    return len(rows)


def measure(fmt: str, config: dict[str, Any], trace: bool) -> dict[str, Any]:
    """In this (child) process: export the whole ledger once and say what it cost."""
    from sqlmodel import Session

    from gateway import create_app
    from gateway.models import User
    from gateway.trust.auth import create_user

    app = create_app({**config, "TESTING": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    rt = app.extensions["hotline"]
    with Session(rt.engine, expire_on_commit=False) as db:
        user: User = create_user(db, f"bench-{uuid.uuid4().hex[:8]}", "bench password 1", "office", display_name="压测")
        db.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = user.get_id(), True
    gc.collect()
    before_kb = common.rss_kb(os.getpid())
    reset_peak()  # start-up's own peak (the router model, imports) is not the export's
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    resp = client.get(f"/console/cases.{fmt}")
    size = 0
    for chunk in resp.response:  # streamed: never the whole body at once
        size += len(chunk)
    resp.close()
    seconds = time.perf_counter() - began
    result = {"format": fmt, "status": resp.status_code, "bytes": size, "seconds": round(seconds, 2)}
    if trace:
        result["heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    else:
        peak_kb = peak_rss_kb()
        result.update(rss_before_mb=round(before_kb / 1024, 1), rss_peak_mb=round(peak_kb / 1024, 1),
                      growth_mb=round(max(peak_kb - before_kb, 0) / 1024, 1))
    rt.engine.dispose()
    return result


def reset_peak() -> None:
    """Reset the kernel's high-water mark of this process's RSS (Linux: 5 > /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_rss_kb() -> int:
    """The RSS high-water mark since the reset: VmHWM (getrusage's ru_maxrss keeps the one from before the reset)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


def child(fmt: str, tgt: common.Target, trace: bool) -> dict[str, Any]:
    """Run `measure` in a fresh interpreter, so that one export's memory is not another's."""
    cmd = [sys.executable, "-m", "bench.ledger", "--child", fmt, "--config", json.dumps(tgt.config())]
    done = subprocess.run(cmd + (["--trace"] if trace else []), env=tgt.env(), capture_output=True, text=True,
                          check=False, cwd=str(common.ROOT))
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(kind: str, rows: int, args: Any) -> dict[str, Any]:
    from gateway import create_app

    result: dict[str, Any] = {"rows": rows}
    with common.target(kind, args.redis_url, args.pg_url) as tgt:
        app = create_app({**tgt.config(), "TESTING": True})
        engine = app.extensions["hotline"].engine
        print(f"[{kind}] preloading {rows:,} cases ...", flush=True)
        loaded = preload.cases(engine, Corpus(seed=args.seed), rows)
        result["preload"] = {"cases": loaded, "assignments": preload.assignments(engine, loaded["first_case_id"], rows),
                             "followups": followups(engine, loaded["first_case_id"], loaded["last_case_id"])}
        engine.dispose()
        for fmt in FORMATS:
            print(f"[{kind}] exporting {rows:,} rows as {fmt} ...", flush=True)
            load = common.load()
            result[fmt] = {**child(fmt, tgt, trace=False), **child(fmt, tgt, trace=True), "load": load}
        result["load_after"] = common.load()
    return result


def run_one(kind: str, args: Any) -> dict[str, Any]:
    return {"database": kind, "sizes": [run_size(kind, n, args) for n in (max(args.rows // 10, 1), args.rows)]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.set_defaults(db="sqlite")  # the memory of the export, not of a database server: one file is enough
    p.add_argument("--rows", type=int, default=None, help="the larger size (default 100,000; --quick 2,000)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--child", choices=FORMATS, help=argparse_hidden())
    p.add_argument("--config", help=argparse_hidden())
    p.add_argument("--trace", action="store_true", help=argparse_hidden())
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, json.loads(args.config), args.trace)))
        return {}
    args.rows = args.rows if args.rows is not None else (2_000 if args.quick else 100_000)
    return common.run(NAME, args, argv, run_one, report)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS  # the child process's own flags


def report(result: dict[str, Any]) -> str:
    rows = []
    for run in result["runs"]:
        for size in run["sizes"]:
            for fmt in FORMATS:
                m = size[fmt]
                rows.append([run["database"], size["rows"], fmt, m["bytes"], m["seconds"], m["rss_before_mb"],
                             m["rss_peak_mb"], m["growth_mb"], m["heap_peak_mb"],
                             "/".join(f"{x:g}" for x in m["load"])])
    return common.table(["db", "rows", "format", "bytes", "seconds", "RSS before MB", "RSS peak MB", "growth MB",
                         "heap peak MB", "load 1/5/15"], rows)


if __name__ == "__main__":
    main()
