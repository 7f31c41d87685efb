"""The office console at scale: its pages over real HTTP, logged in, against N cases with about 3 reports each.

    python -m bench.console --db sqlite --cases 1000000     # the issue's size (the first build takes long: cached)
    python -m bench.console --quick --db sqlite              # 2,000 cases

A database of N cases is built once and kept in a cache: ``$HOTLINE_BENCH_CACHE`` (default
``~/.cache/hotline-bench/``) holds a SQLite file per size, seed and schema revision, copied to a
temporary folder for each run (the run logs in and writes audit entries; the cached file stays as
built); PostgreSQL keeps a schema ``bench_console_<cases>_<seed>_<revision>_<build>`` in the
database of ``--pg-url``, used as it is (a run adds a few audit rows to it). ``--rebuild`` builds again.

The cases are spread over ``--days`` (default 365: a million cases is a large city's year), 70 % open
as in ``bench/preload.py``; each has 1 to 5 reports (3 on average) from its own caller and repeat
callers, a lead assignment once dispatched, and one case has 20 reports. The dedupe index holds every
case's first report (built in bulk with the running matcher's functions, ``preload.dedupe_index``);
``--merges`` merge proposals wait in the queue.

Then ``hotline run --web-only`` (waitress, one process) serves that database on a free port, an office
user logs in through the login form (requests, a cookie session), and each page is requested
``--requests`` times after ``--warmup`` untimed requests, one request at a time, the whole body read:
the case list with its default filters, a text search (an estate's name), a phone search (a caller's
number), the case page of the case with 20 reports, the merge queue, the 30-day reports page, the
operator hint (``/api/v1/operator/suggest``, the queries of ``bench.operator_hint``), and the CSV
ledger export of the whole list up to its first byte (``stream=True``; the connection is then closed, and the
next ledger request waits until the server has stopped writing the abandoned one: ``waited_for_idle_s``).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from bench import common, preload
from bench.corpus import PLACE_HEADS, PLACE_TAILS, Corpus

NAME = "console"
BUILD = "b1"  # bump when the generated data changes: the cache key then names another database
USERNAME, PASSWORD = "bench-office", "bench console password"
BIG_CASE_REPORTS = 20
PAGES = ("case_list", "text_search", "phone_search", "case_page", "merge_queue", "reports_30d", "operator_hint",
         "ledger_first_byte")
GOAL_MS = 150
CHANNELS = (("board", 0.35), ("hotline", 0.25), ("sms", 0.2), ("email", 0.2))
ASSIGNMENT_STATUS = {"dispatched": "dispatched", "in_progress": "signed", "replied": "replied", "closed": "replied"}


def cache_dir() -> Path:
    return Path(os.environ.get("HOTLINE_BENCH_CACHE") or Path.home() / ".cache" / "hotline-bench")


def cache_key(cases: int, seed: int, days: int) -> str:
    from gateway.db import head_revision

    return f"console_{cases}_{seed}_{days}d_r{head_revision()}_{BUILD}".lower()


# -- the data ------------------------------------------------------------------------------------------
def _weighted(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([s for s, _ in mix], [w for _, w in mix])[0]


def build(app: Any, corpus: Corpus, n: int, *, days: int, seed: int, merges: int) -> dict[str, Any]:
    """Fill an empty database: cases with their first report, contacts and assignments; the dedupe index of
    those reports; the further reports; merge proposals; the office user. Returns the seconds of each step."""
    from sqlmodel import Session, select

    from gateway.clock import utcnow
    from gateway.models import Assignment, Case, Contact, Department, Identity, MergeRecord, Report
    from gateway.trust.auth import create_user

    rt = app.extensions["hotline"]
    engine = rt.engine
    took: dict[str, Any] = {}
    started = time.perf_counter()
    rng = random.Random(seed)
    now = utcnow()
    with Session(engine) as db:
        departments = list(db.exec(select(Department.id)).all())
    big = n // 2 + 1  # the case with 20 reports
    counts = bytearray(n + 1)
    created_s: list[float] = [0.0] * (n + 1)
    tables = [t.__table__ for t in (Contact, Identity, Case, Report, Assignment)]  # type: ignore[attr-defined]

    def first_rows() -> Iterator[tuple[dict[str, Any], ...]]:
        for case_id in range(1, n + 1):
            k = case_id - 1
            m = corpus.matter(k)
            variant = rng.randrange(3)
            text = m.text(variant)
            age = rng.uniform(0, days * 86400)
            created = now - timedelta(seconds=age)
            created_s[case_id] = age
            state = preload._status(rng, preload.OPEN_MIX)
            count = BIG_CASE_REPORTS if case_id == big else rng.randint(1, 5)
            counts[case_id] = count
            channel = _weighted(rng, CHANNELS)
            phone, name = "+86" + corpus.phone(k), corpus.name(k)
            last = created + timedelta(hours=2 * (count - 1))
            closed_at = created + timedelta(hours=30) if state == "closed" else None
            contact = {"id": case_id, "name": name, "created_at": created, "opted_out_sms": False}
            identity = {"id": case_id, "contact_id": case_id, "kind": "phone", "value": phone, "created_at": created}
            case = {
                "id": case_id, "number": f"WH{created:%Y%m%d}-{case_id:07d}", "title": m.title(variant),
                "summary": text, "appeal_type": "投诉", "category": m.category, "district": m.district,
                "street": m.street, "address": m.address, "lat": None, "lon": None, "channel": channel,
                "status": state, "public": True, "urgency": None, "complexity": "normal",
                "reporter_count": count, "report_count": count, "created_at": created, "updated_at": last,
                "last_report_at": last, "due_at": created + timedelta(days=15), "closed_at": closed_at,
                "merged_into_id": None, "routing": {},
            }
            report = _report(case_id, case_id, case_id, channel, m.title(variant), text, created, name, phone,
                             m.address, m.district, m.topic, rng)
            dispatched = created + timedelta(minutes=10)
            status = ASSIGNMENT_STATUS[state]
            assignment = {
                "id": case_id, "case_id": case_id, "department_id": rng.choice(departments), "role": "lead",
                "status": status, "reason": {}, "dispatched_at": dispatched,
                "due_at": dispatched + timedelta(days=15), "ack_due_at": dispatched + timedelta(days=1),
                "acknowledged_at": dispatched + timedelta(hours=3) if status != "dispatched" else None,
                "signed_at": dispatched + timedelta(hours=3) if status != "dispatched" else None,
                "replied_at": closed_at or (created + timedelta(hours=28) if status == "replied" else None),
                "returned_at": None, "return_reason": None, "reply_text": "已处理。" if status == "replied" else None,
                "delivered_at": dispatched, "delivery_error": None, "supervision_level": 0,
            }
            yield contact, identity, case, report, assignment

    _bulk(engine, tables, first_rows())
    preload._fix_sequences(engine, (Contact, Identity, Case, Report, Assignment))
    took["cases_s"] = round(time.perf_counter() - started, 1)

    mark = time.perf_counter()
    took["dedupe_index"] = preload.dedupe_index(app, 1, n)
    took["dedupe_index_s"] = round(time.perf_counter() - mark, 1)

    mark = time.perf_counter()
    extra_rng = random.Random(seed + 1)

    def more_reports() -> Iterator[tuple[dict[str, Any], ...]]:
        report_id = n
        for case_id in range(1, n + 1):
            m = None
            for j in range(1, counts[case_id]):
                m = m or corpus.matter(case_id - 1)
                person = extra_rng.randrange(n)  # a caller of another case calls about this one too
                received = now - timedelta(seconds=created_s[case_id]) + timedelta(hours=2 * j)
                report_id += 1
                variant = extra_rng.randrange(3)
                yield (_report(report_id, case_id, person + 1, _weighted(extra_rng, CHANNELS), m.title(variant),
                               m.text(variant), received, corpus.name(person), "+86" + corpus.phone(person), m.address,
                               m.district, m.topic, extra_rng, link="attached"),)

    _bulk(engine, [Report.__table__], more_reports())  # type: ignore[attr-defined]
    preload._fix_sequences(engine, (Report,))
    took["more_reports_s"] = round(time.perf_counter() - mark, 1)

    with Session(engine) as db:
        pick = random.Random(seed + 2)
        for _ in range(merges):
            survivor, absorbed = pick.randint(1, n), pick.randint(1, n)
            if survivor == absorbed:
                continue
            first = db.exec(select(Report.id).where(Report.case_id == absorbed).order_by(Report.id)).first()
            db.add(MergeRecord(survivor_case_id=survivor, absorbed_case_id=absorbed, report_id=first,
                               status="proposed", origin="auto", score=0.8, rule="same_place_text",
                               reasons=[{"rule": "same_place_text"}], snapshot={}, created_at=now))
        create_user(db, USERNAME, PASSWORD, "office", display_name="基准测试")
        db.commit()
    preload.analyze(engine)
    took["seconds"] = round(time.perf_counter() - started, 1)
    took["big_case_id"] = big
    return took


def _report(report_id: int, case_id: int, contact_id: int, channel: str, title: str, text: str, at: datetime,
            name: str, phone: str, address: str, district: str, topic: str, rng: random.Random,
            link: str = "new") -> dict[str, Any]:
    return {
        "id": report_id, "case_id": case_id, "contact_id": contact_id, "channel": channel,
        "external_id": f"CON-{report_id}", "title": title, "text": text, "received_at": at, "created_at": at,
        "name": name, "phone": phone, "email": None, "board_user": None, "address": address, "district": district,
        "lat": None, "lon": None, "category_hint": topic, "appeal_type": "投诉", "addressed_unit": None,
        "public": True, "retrieval_code": f"{rng.getrandbits(24):06X}", "message_id": None, "link": link,
        "decision": {}, "attachments": [], "defects": [], "extra": {}, "raw": text.encode(),
    }


def _bulk(engine: Any, tables: list[Any], rows: Iterator[tuple[dict[str, Any], ...]]) -> None:
    """Insert the row tuples (one row per table, in order) in chunks, one transaction per chunk."""
    buffers: list[list[dict[str, Any]]] = [[] for _ in tables]

    def flush() -> None:
        with engine.begin() as conn:
            for table, buffer in zip(tables, buffers):
                preload.insert_many(conn, table, buffer)
                buffer.clear()

    for parts in rows:
        for buffer, row in zip(buffers, parts):
            buffer.append(row)
        if len(buffers[0]) >= preload.CHUNK * 4:
            flush()
    flush()


# -- the cache -----------------------------------------------------------------------------------------
def _config(kind: str, url: str, schema: str | None, data_dir: str, args: Any, prefix: str) -> dict[str, Any]:
    return {"DATA_DIR": data_dir, "DATABASE_URL": url, "DATABASE_SCHEMA": schema, "REDIS_URL": args.redis_url,
            "QUEUE_PREFIX": prefix, "SECRET_KEY": "bench", "TESTING": True}


def _pg_built(admin: Any, schema: str) -> bool:
    with admin.connect() as conn:
        return bool(conn.exec_driver_sql(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'bench_built'",
            (schema,)).first())


def _pg_older(admin: Any, key: str) -> list[str]:
    """Built schemas of the same data at older revisions, oldest first."""
    from gateway.db import head_revision

    pattern = "bench_" + key.replace(f"_r{head_revision()}_", "_r%_")
    with admin.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql(
            "SELECT table_schema FROM information_schema.tables WHERE table_schema LIKE %s "
            "AND table_name = 'bench_built' ORDER BY table_schema", (pattern,))]


def database(kind: str, args: Any, tmp: str, prefix: str) -> tuple[str, str | None, dict[str, Any]]:
    """The database of this size for a run: (url, schema, how it was got). Built when the cache lacks it."""
    from sqlalchemy import create_engine

    from gateway import create_app
    from gateway.db import head_revision, make_engine, upgrade

    key = cache_key(args.cases, args.seed, args.days)
    corpus = Corpus(seed=args.seed)
    if kind == "sqlite":
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        cached = folder / f"{key}.db"
        info: dict[str, Any] = {"cache": str(cached)}
        older = sorted(folder.glob(key.replace(f"_r{head_revision()}_", "_r*_") + ".db"))
        if not args.rebuild and not cached.exists() and older:  # the same data at an older schema: migrate a copy
            partial = folder / f"{key}.partial-{uuid.uuid4().hex[:6]}.db"
            mark = time.perf_counter()
            shutil.copyfile(older[-1], partial)
            engine = create_engine(f"sqlite:///{partial}")
            info["upgraded"] = {"from": older[-1].name, "revisions": upgrade(engine)}
            engine.dispose()
            info["upgraded"]["seconds"] = round(time.perf_counter() - mark, 1)
            partial.replace(cached)
        if args.rebuild or not cached.exists():
            partial = folder / f"{key}.partial-{uuid.uuid4().hex[:6]}"
            partial.mkdir()
            try:
                print(f"[sqlite] building {args.cases:,} cases into {cached} ...", flush=True)
                info["load_before_build"] = common.load()
                app = create_app(_config(kind, f"sqlite:///{partial / 'bench.db'}", None, str(partial), args, prefix))
                info["build"] = build(app, corpus, args.cases, days=args.days, seed=args.seed, merges=args.merges)
                app.extensions["hotline"].close()
                app.extensions["hotline"].engine.dispose()
                with sqlite3.connect(partial / "bench.db") as conn:  # the WAL into the file: one file to copy
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                info["load_after_build"] = common.load()
                (partial / "bench.db").replace(cached)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        else:
            info["build"] = "cached"
        mark = time.perf_counter()
        shutil.copyfile(cached, Path(tmp) / "bench.db")
        info["copy_s"] = round(time.perf_counter() - mark, 1)
        info["bytes"] = cached.stat().st_size
        return f"sqlite:///{Path(tmp) / 'bench.db'}", None, info

    import sqlalchemy

    schema = f"bench_{key}"
    info = {"cache": f"schema {schema}"}
    admin = sqlalchemy.create_engine(common.psycopg_url(args.pg_url))
    try:
        older = [] if args.rebuild or _pg_built(admin, schema) else _pg_older(admin, key)
        if older:  # the same data at an older schema: bring it up (the schema is renamed, then migrated)
            mark = time.perf_counter()
            with admin.begin() as conn:
                conn.exec_driver_sql(f"ALTER SCHEMA {older[-1]} RENAME TO {schema}")
            engine = make_engine(args.pg_url, tmp, schema)
            info["upgraded"] = {"from": older[-1], "revisions": upgrade(engine)}
            engine.dispose()
            info["upgraded"]["seconds"] = round(time.perf_counter() - mark, 1)
        if args.rebuild or not _pg_built(admin, schema):
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            print(f"[postgresql] building {args.cases:,} cases into schema {schema} ...", flush=True)
            info["load_before_build"] = common.load()
            app = create_app(_config(kind, args.pg_url, schema, tmp, args, prefix))
            info["build"] = build(app, corpus, args.cases, days=args.days, seed=args.seed, merges=args.merges)
            app.extensions["hotline"].close()
            app.extensions["hotline"].engine.dispose()
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE TABLE {schema}.bench_built (at timestamptz DEFAULT now())")
                conn.exec_driver_sql(f"INSERT INTO {schema}.bench_built DEFAULT VALUES")
            info["load_after_build"] = common.load()
        else:
            info["build"] = "cached"
        with admin.connect() as conn:
            info["bytes"] = int(conn.exec_driver_sql(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)).scalar() or 0)
    finally:
        admin.dispose()
    return args.pg_url, schema, info


# -- the requests --------------------------------------------------------------------------------------
def login(base: str) -> Any:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("no csrf_token on the login page")
    resp = session.post(f"{base}/login", data={"username": USERNAME, "password": PASSWORD,
                                               "csrf_token": token.group(1)}, timeout=30)
    if resp.status_code != 200 or "/login" in resp.url:
        raise RuntimeError(f"login failed: {resp.status_code} {resp.url}")
    return session


def requests_for(page: str, count: int, corpus: Corpus, n: int, case_number: str, seed: int) -> list[tuple[str, dict[str, str]]]:
    """The path and query of each request to a page; searches and hints vary from request to request."""
    from bench.operator_hint import queries

    rng = random.Random(f"{seed}-{page}")
    if page == "case_list":
        return [("/console/", {})] * count
    if page == "text_search":
        return [("/console/", {"q": f"{rng.choice(PLACE_HEADS)}{rng.choice(PLACE_TAILS)}"}) for _ in range(count)]
    if page == "phone_search":
        return [("/console/", {"q": corpus.phone(rng.randrange(n))}) for _ in range(count)]
    if page == "case_page":
        return [(f"/console/cases/{case_number}", {})] * count
    if page == "merge_queue":
        return [("/console/merges", {})] * count
    if page == "reports_30d":
        return [("/console/reports", {"days": "30"})] * count
    if page == "operator_hint":
        return [("/api/v1/operator/suggest", {"phone": q["phone"], "text": q["text"], "address": q["address"]})
                for q in queries(corpus, n, count, seed + 1)]
    if page == "ledger_first_byte":
        return [("/console/cases.csv", {})] * count
    raise ValueError(page)


def timed(session: Any, base: str, page: str, path: str, params: dict[str, str]) -> tuple[float, int]:
    """Seconds to the whole body (to the first byte for the ledger), and the status."""
    began = time.perf_counter()
    if page == "ledger_first_byte":
        with session.get(base + path, params=params, stream=True, timeout=120) as resp:
            next(resp.iter_content(1), b"")
            seconds = time.perf_counter() - began
            resp.raw.close()  # do not read a million rows: the export stops when the client leaves
        return seconds, resp.status_code
    resp = session.get(base + path, params=params, timeout=120)
    _ = resp.content
    return time.perf_counter() - began, resp.status_code


def server_cpu(pid: int) -> float:
    """CPU seconds of the server and its processes so far."""
    return common.cpu_seconds(pid) + sum(common.cpu_seconds(child) for child in common.children(pid))


def wait_idle(pid: int, patience: float = 300.0) -> float:
    """Wait until the server has stopped working (under 20 ms of CPU in 0.5 s); returns the seconds waited.
    A ledger request the benchmark left after its first byte goes on writing rows until the server sees the
    connection closed: the next one is timed on a server that is done with it, as an office user's would be."""
    began = time.perf_counter()
    before = server_cpu(pid)
    while time.perf_counter() - began < patience:
        time.sleep(0.5)
        now = server_cpu(pid)
        if now - before < 0.02:
            break
        before = now
    return time.perf_counter() - began


def measure(base: str, args: Any, corpus: Corpus, case_number: str, pid: int) -> dict[str, Any]:
    session = login(base)
    out: dict[str, Any] = {}
    for page in PAGES:
        asked = requests_for(page, args.warmup + args.requests, corpus, args.cases, case_number, args.seed)
        times, statuses, first, waited = [], [], 0.0, 0.0
        load_before = common.load()
        for i, (path, params) in enumerate(asked):
            if page == "ledger_first_byte":
                waited += wait_idle(pid)
            seconds, status = timed(session, base, page, path, params)
            statuses.append(status)
            first = first or seconds
            if i >= args.warmup:
                times.append(seconds)
        out[page] = {
            # the first, untimed request: the reports page computes its figures then and keeps them for
            # HOTLINE_REPORTS_CACHE_SECONDS (the timed ones read them), so its cost is here
            "first_ms": round(first * 1000, 1),
            "requests": len(times), "p50_ms": round(common.percentile(times, 50) * 1000, 1),
            "p95_ms": round(common.percentile(times, 95) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
            "statuses": sorted(set(statuses)), "errors": sum(1 for s in statuses if s != 200),
            "load_before": load_before, "load_after": common.load(),
        }
        if page == "ledger_first_byte":
            out[page]["waited_for_idle_s"] = round(waited, 1)
        print(f"  {page:18} first {out[page]['first_ms']:8.1f} ms  p50 {out[page]['p50_ms']:8.1f} ms  p95 {out[page]['p95_ms']:8.1f} ms  "
              f"max {out[page]['max_ms']:8.1f} ms  statuses {out[page]['statuses']}", flush=True)
    session.close()
    return out


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def run_one(kind: str, args: Any) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from bench.intake import stop

    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    result: dict[str, Any] = {"database": kind, "cases": args.cases, "uptime_before": uptime()}
    with tempfile.TemporaryDirectory(prefix=f"hotline-bench-console-{kind}-") as tmp:
        try:
            url, schema, result["database_build"] = database(kind, args, tmp, prefix)
            engine = create_engine(common.psycopg_url(url))
            with engine.connect() as conn:
                if schema:
                    conn.exec_driver_sql(f"SET search_path TO {schema}")
                result["rows"] = {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())
                                  for t in ("case", "report", "assignment", "mergerecord", "casefeatures")}
                case_number = conn.execute(text('SELECT number FROM "case" WHERE report_count = :n ORDER BY id LIMIT 1'),
                                           {"n": BIG_CASE_REPORTS}).scalar_one()
            engine.dispose()
            if args.build_only:
                result["uptime_after"] = uptime()
                return result
            tgt = common.Target(kind, url, schema, tmp, args.redis_url, prefix)
            port = common.free_port()
            cmd = [sys.executable, "-m", "gateway.cli", "run", "--web-only", "--port", str(port),
                   "--threads", str(args.threads), "--web-processes", "1"]
            with open(Path(tmp) / "server.log", "wb") as log:
                server = subprocess.Popen(cmd, env=tgt.env(), cwd=str(common.ROOT), stdout=log, stderr=subprocess.STDOUT)
                try:  # /healthz: /readyz wants the worker pool's heartbeat, and a web-only server has none
                    common.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=300, proc=server)
                except BaseException:
                    stop(server)
                    raise
                try:
                    result["load_before"] = common.load()
                    result["pages"] = measure(f"http://127.0.0.1:{port}", args, Corpus(seed=args.seed), case_number,
                                             server.pid)
                    result["load_after"] = common.load()
                finally:
                    stop(server)
        finally:
            common.clear_queues(args.redis_url, prefix)
    result["uptime_after"] = uptime()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.set_defaults(db="sqlite")
    p.add_argument("--cases", type=int, default=None, help="cases in the database (default 1,000,000; --quick 2,000)")
    p.add_argument("--days", type=int, default=365, help="the cases are spread over this many days before now")
    p.add_argument("--requests", type=int, default=20, help="timed requests per page")
    p.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    p.add_argument("--merges", type=int, default=200, help="merge proposals waiting in the queue")
    p.add_argument("--threads", type=int, default=4, help="waitress threads of the web process")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--build-only", action="store_true", help="build (or find) the cached database, measure nothing")
    p.add_argument("--rebuild", action="store_true", help="build the database again even when the cache has it")
    args = p.parse_args(argv)
    args.cases = args.cases if args.cases is not None else (2_000 if args.quick else 1_000_000)
    return common.run(NAME, args, argv, run_one, report)


def report(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        for page in PAGES if "pages" in r else ():
            m = r["pages"][page]
            rows.append([r["database"], r["cases"], page, m.get("first_ms", "-"), m["requests"], m["p50_ms"], m["p95_ms"], m["max_ms"],
                         "yes" if m["p95_ms"] <= GOAL_MS and not m["errors"] else "NO",
                         "/".join(f"{x:g}" for x in m["load_after"])])
    lines = [common.table(["db", "cases", "page", "first ms", "requests", "p50 ms", "p95 ms", "max ms", f"p95 <= {GOAL_MS}",
                           "load after"], rows)]
    for r in result["runs"]:
        b = r["database_build"]
        how = "from the cache" if b["build"] == "cached" else f"built in {b['build']['seconds']:,.0f} s"
        if "upgraded" in b:
            how += f", migrated from {b['upgraded']['from']} to {b['upgraded']['revisions'][1]} in {b['upgraded']['seconds']:,.0f} s"
        lines.append(f"{r['database']}: {r['rows']} ({how}, {b.get('bytes', 0) / 1e9:.2f} GB, {b['cache']}); "
                     f"before: {r['uptime_before']}; after: {r['uptime_after']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
