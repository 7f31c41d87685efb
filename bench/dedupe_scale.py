"""Dedupe at scale: build a database of N generated Chinese cases, then time the real decision path.

    python -m bench.dedupe_scale                     # SQLite, 100,000 and 1,000,000 cases (about 5 min on 2 idle cores)
    python -m bench.dedupe_scale --db postgresql     # the same on PostgreSQL (--pg-url; its own schema)
    python -m bench.dedupe_scale --quick             # 5,000 cases: a check that it works
    python -m bench.dedupe_scale --cases 1000000 --reuse --per-key-limit 20   # measure a built file again

The build writes cases, their stored features and index rows with executemany (SQLite) or COPY
(PostgreSQL), features computed in worker processes. Then, for ``--queries`` new reports (a third
of them rewordings of recent cases), it times ``Dedupe.candidates`` (the one indexed query) +
``decide`` and, beside it, a brute force over the same block (every open or recently closed case
of the report's district, no key index). Prints a table; writes JSON to bench/results/ (or --out).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import and_, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session

from bench import common
from dedupe.decide import Candidate, decide
from dedupe.features import Features, block_keys, key_id
from dedupe.place import Place
from gateway import db
from gateway.config import BUNDLED_PROFILE
from gateway.intake.matching import Dedupe
from gateway.models import OPEN_STATUSES, Case, CaseFeatures
from gateway.profile import load_profile

NAME = "dedupe_scale"
NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
SCHEMA = "dedupe_bench"

PREFIX = "幸福 阳光 金桂 青山 红星 江景 东湖 锦绣 翠苑 华庭 碧桂 万科 保利 绿地 世纪 龙湖 恒大 金地 融创 长江 汉江 楚天 南湖 北湖 紫阳 白沙 月湖 琴台 晴川 黄鹤".split()
MIDDLE = "里 湾 府 园 城 郡 苑 岸 庭 居 阁 台 坊 景 峰 轩 邸 墅 港 汇".split()
SUFFIX = "小区 花园 家园 公寓 新村 社区 山庄 华府".split()
ROADS = [f"{a}{b}" for a in "解放 中山 建设 和平 友谊 胜利 民主 光明 团结 复兴 长征 人民 新华 建国 发展".split()
         for b in ("路", "大道", "街")]
PROBLEMS = [  # (category, wordings): the wordings of one problem are paraphrases of each other
    ("environment", ["楼下烧烤店油烟直排，每天营业到凌晨两点，噪音和油烟严重影响居民休息",
                     "临街烧烤摊半夜还在营业，油烟呛人，吵得人睡不着觉"]),
    ("street_light", ["路灯已经坏了两个星期，晚上一片漆黑，老人小孩出行很不安全",
                      "这一段的路灯十多天不亮了，夜里走路看不见，很危险"]),
    ("city_appearance", ["垃圾桶满了三天没人清运，臭气熏天，蚊蝇滋生",
                         "生活垃圾堆了好几天没有清理，味道很大，招苍蝇"]),
    ("road_traffic", ["人行道坑洼积水，下雨天根本没法走，已经有人摔倒",
                      "路面坑坑洼洼，一下雨全是积水，行人摔跤好几次了"]),
    ("environment", ["工地夜间施工噪音扰民，半夜还在打桩，投诉多次无人处理",
                     "晚上十一点以后工地还在施工打桩，噪声太大，居民无法入睡"]),
    ("water", ["自来水发黄有异味，已经持续一周，物业说不归他们管",
               "家里水龙头放出来的水是黄的，还有怪味，快一个星期了"]),
    ("housing", ["电梯经常故障停运，困人好几次，物业拖着不修",
                 "小区电梯三天两头坏，上周还把人关在里面，物业不管"]),
    ("traffic_police", ["小区门口乱停车严重，消防通道被堵死，出行困难",
                        "门口车辆乱停乱放，把消防通道都占了，车开不出去"]),
    ("water", ["下水道堵塞污水外溢，整个楼道都是臭味",
               "排水管堵了，污水冒到路面上，臭得不行"]),
    ("housing", ["物业费上涨没有经过业主大会，服务质量却越来越差",
                 "物业擅自涨价，没开业主大会，卫生和安保都跟不上"]),
    ("education", ["学校门口上下学时段交通拥堵，孩子过马路很危险",
                   "放学的时候校门口车堵成一片，学生过马路太危险"]),
    ("environment", ["附近工厂夜里排放废气，刺鼻难闻，窗户都不敢开",
                     "晚上厂里偷排废气，味道刺鼻，家里不敢开窗"]),
]
FILLERS = ["我们多次向物业和社区反映，一直没有得到解决。", "希望相关部门重视，派人实地查看。", "已经持续很长时间了。",
           "附近居民意见很大。", "请给我们一个答复。", "家里有老人和小孩，影响很大。", ""]


class World:
    """Deterministic generators of places and report texts from the city profile's territory."""

    def __init__(self, seed: int = 7) -> None:
        profile = load_profile(BUNDLED_PROFILE)
        self.districts = [(d["name"], list(d.get("streets", []))) for d in profile.territory.get("districts", [])]
        self.estates = [f"{p}{m}{s}" for p in PREFIX for m in MIDDLE for s in SUFFIX]
        self.rng = random.Random(seed)

    def matter(self) -> dict[str, Any]:
        r = self.rng
        district, streets = r.choice(self.districts)
        return {"district": district, "street": r.choice(streets) if streets else "", "estate": r.choice(self.estates),
                "road": r.choice(ROADS), "problem": r.randrange(len(PROBLEMS))}

    def report(self, matter: dict[str, Any], wording: int, when: datetime, phone: int) -> dict[str, Any]:
        r = self.rng
        category, wordings = PROBLEMS[matter["problem"]]
        where = f"{matter['district']}{matter['street']}{matter['road']}{matter['estate']}"
        body = f"{where}{wordings[wording % len(wordings)]}。{r.choice(FILLERS)}{r.choice(FILLERS)}"
        return {"title": f"{matter['estate']}{wordings[wording % len(wordings)][:8]}", "text": body,
                "phone": f"138{phone:08d}", "received_at": when, "category": category, "channel": "web"}


PoolItem = tuple[str, list[str], dict[str, Any], dict[str, Any]]


def _pool_item(index: int) -> PoolItem:
    """Worker: one distinct report (a matter told one way) -> (features JSON head, text key ids, place, case columns).

    The text keys (named places, LSH bands) and the features JSON depend on the text only, so
    they are computed here once by the real ``extract``/``block_keys``; per case only the time
    and person keys change (``cases``).
    """
    world = _WORLD
    world.rng.seed(index)
    matter = world.matter()
    report = world.report(matter, world.rng.randrange(2), NOW, 0)
    f = _DEDUPE.extract({**report, "phone": None})
    fixed = [k for k in block_keys(f, query=False) if k.startswith(("pl:", "b"))]
    data = f.to_dict(compact=True)
    head = db.json_dumps({k: v for k, v in data.items() if k not in ("time", "contacts")})  # as the gateway writes it
    columns = {"district": matter["district"], "category": PROBLEMS[matter["problem"]][0], "title": report["title"],
               "summary": report["text"]}
    return head, fixed, data["place"], columns


def cases(n: int, pool: list[PoolItem], seed: int = 11) -> Iterator[tuple[tuple, str, str, list[int]]]:
    """n cases over two years, each a pool report at its own time from its own phone:
    (row, features JSON, keys JSON as CaseFeatures stores them, key ids for the index).

    Time-bucket and person keys come from ``block_keys`` over the case's own time and contact.
    """
    rng = random.Random(seed)
    span = timedelta(days=730)
    for case_id in range(1, n + 1):
        head, fixed, place, columns = pool[rng.randrange(len(pool))]
        age = span * (1 - case_id / n) + timedelta(minutes=rng.randint(0, 600))
        when = NOW - age
        contact = f"tel:+86138{rng.randrange(10**8):08d}"
        f = Features(text="", place=Place.from_dict(place), category=columns["category"], contacts=(contact,), time=when)
        names = [k for k in block_keys(f, lsh_bands=0, query=False) if not k.startswith("pl:")] + fixed
        keys = sorted({key_id(k) for k in names})
        data = f'{head[:-1]},"time":"{when.isoformat()}","contacts":["{contact}"]}}'
        open_ = age < timedelta(days=20)
        row = (case_id, f"WH{when:%Y%m%d}-{case_id:07d}", columns["title"], columns["summary"],
               columns["category"], columns["district"], "web", "dispatched" if open_ else "closed",
               when, when, when, None if open_ else when + timedelta(days=3))
        yield row, data, db.json_dumps(names), keys


_DEDUPE: Dedupe
_WORLD: World


def _init_worker() -> None:
    global _DEDUPE, _WORLD
    _DEDUPE = Dedupe(load_profile(BUNDLED_PROFILE))
    _WORLD = World()


def build(engine: Any, n: int, processes: int, pool_size: int) -> dict[str, Any]:
    """Fill an empty database with n cases, their features and index rows; return timings."""
    started = time.perf_counter()
    cpu_before = _cpu()
    dialect = engine.dialect.name
    if processes <= 1:  # in this process: no fork (a test process has threads a fork could deadlock on)
        _init_worker()
        pool = [_pool_item(i) for i in range(min(n, pool_size))]
    else:
        with multiprocessing.get_context("fork").Pool(processes, initializer=_init_worker) as workers:
            pool = workers.map(_pool_item, range(min(n, pool_size)), chunksize=500)
    pool_done = time.perf_counter()
    key_rows: list[tuple[int, int]] = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        deferred = _bulk_mode(raw) if dialect == "sqlite" else []
        batch_rows: list[tuple] = []
        batch_feats: list[tuple[int, str, str]] = []
        for row, data, names, keys in cases(n, pool):
            batch_rows.append(row)
            batch_feats.append((row[0], data, names))
            key_rows.extend((k, row[0]) for k in keys)
            if len(batch_rows) == 20000:
                _write(raw, dialect, batch_rows, batch_feats)
                batch_rows, batch_feats = [], []
        if batch_rows:
            _write(raw, dialect, batch_rows, batch_feats)
        cases_done = time.perf_counter()
        key_rows.sort()
        _write_keys(raw, dialect, key_rows)
        for sql in deferred:  # one sort per index instead of a random insert per row
            raw.execute(sql)
        if dialect == "sqlite":
            raw.execute("PRAGMA journal_mode=WAL")
    # Statistics, and on PostgreSQL the visibility map that autovacuum keeps in a running system
    # (without it every index-only scan of the key index visits the table too).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM (ANALYZE)" if dialect == "postgresql" else "ANALYZE")
    return {"build_seconds": round(time.perf_counter() - started, 1), "build_cpu_seconds": round(_cpu() - cpu_before, 1),
            "pool_reports": len(pool),
            "pool_seconds": round(pool_done - started, 1), "cases_seconds": round(cases_done - pool_done, 1),
            "index_rows": len(key_rows)}


def _bulk_mode(raw: Any) -> list[str]:
    """SQLite, the bench build only: no journal, no fsync, a big page cache, and the secondary
    indexes of the bulk-loaded tables dropped; returns their CREATE statements for after the load."""
    raw.execute("PRAGMA journal_mode=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-262144")
    found = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        "AND tbl_name IN ('case', 'casefeatures', 'dedupekey')").fetchall()
    for name, _ in found:
        raw.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children: the build's cost on a shared machine."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


_CASE_COLUMNS = ("id, number, title, summary, category, district, channel, status, created_at, "
                 "updated_at, last_report_at, closed_at")
_CASE_DEFAULTS = "public, reporter_count, report_count, complexity, routing"


def _write(raw: Any, dialect: str, cases: list[tuple], feats: list[tuple]) -> None:
    if dialect == "sqlite":
        raw.execute("BEGIN")
        raw.executemany(f'INSERT INTO "case" ({_CASE_COLUMNS}, {_CASE_DEFAULTS}) VALUES '
                        "(?,?,?,?,?,?,?,?,?,?,?,?,1,1,1,'normal','{}')",
                        [(*c[:8], *(x.isoformat(sep=" ") if x else None for x in c[8:])) for c in cases])
        raw.executemany("INSERT INTO casefeatures (case_id, features, keys) VALUES (?, ?, ?)", feats)
        raw.execute("COMMIT")
    else:
        with raw.cursor() as cur:
            with cur.copy(f'COPY "case" ({_CASE_COLUMNS}, {_CASE_DEFAULTS}) FROM STDIN') as copy:
                for c in cases:
                    copy.write_row((*c, True, 1, 1, "normal", "{}"))
            with cur.copy("COPY casefeatures (case_id, features, keys) FROM STDIN") as copy:
                for row in feats:
                    copy.write_row(row)
        raw.commit()


def _write_keys(raw: Any, dialect: str, rows: list[tuple[int, int]]) -> None:
    if dialect == "sqlite":
        raw.execute("BEGIN")
        for i in range(0, len(rows), 200_000):
            raw.executemany("INSERT OR IGNORE INTO dedupekey (key, case_id) VALUES (?, ?)", rows[i : i + 200_000])
        raw.execute("COMMIT")
    else:
        with raw.cursor() as cur:
            cur.execute("ALTER TABLE dedupekey DROP CONSTRAINT dedupekey_pkey")
            with cur.copy("COPY dedupekey (key, case_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute("ALTER TABLE dedupekey ADD PRIMARY KEY (key, case_id)")
        raw.commit()


def index_bytes(engine: Any, n: int) -> dict[str, float]:
    """Bytes per case of the index table (with its index) and of the stored features."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            key = conn.exec_driver_sql("SELECT pg_total_relation_size('dedupekey')").scalar()
            feats = conn.exec_driver_sql("SELECT pg_total_relation_size('casefeatures')").scalar()
        else:
            key = conn.exec_driver_sql("SELECT SUM(pgsize) FROM dbstat WHERE name = 'dedupekey'").scalar()
            feats = conn.exec_driver_sql(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('casefeatures', 'sqlite_autoindex_casefeatures_1')").scalar()
        rows = conn.exec_driver_sql("SELECT COUNT(*) FROM dedupekey").scalar()
    return {"index_bytes_per_case": round(key / n, 1), "index_rows_per_case": round(rows / n, 2),
            "features_bytes_per_case": round(feats / n, 1)}


def brute_force(session: Session, dedupe: Dedupe, f: Features) -> list[Candidate]:
    """Every open or recently closed case of the report's district: the block without the key index."""
    since = (f.time or NOW) - timedelta(days=dedupe.thresholds.same_person_days)
    query = (
        sa_select(Case.id, Case.status, Case.last_report_at, CaseFeatures.features)
        .join(CaseFeatures, CaseFeatures.case_id == Case.id)  # type: ignore[arg-type]
        .where(Case.district == f.place.district)
        .where(or_(Case.status.in_(OPEN_STATUSES), and_(Case.status == "closed", Case.closed_at >= since)))  # type: ignore[attr-defined]
    )
    return [Candidate(cid, Features.from_dict(stored), is_open=status in OPEN_STATUSES, last_report_at=last)
            for cid, status, last, stored in session.execute(query)]


def measure(engine: Any, n: int, queries: int, brute: int, max_candidates: int | None = None,
            per_key_limit: int | None = None) -> dict[str, Any]:
    dedupe = Dedupe(load_profile(BUNDLED_PROFILE))
    if max_candidates is not None:
        dedupe.max_candidates = max_candidates
    if per_key_limit is not None:
        dedupe.per_key_limit = per_key_limit
    world = World(seed=99)
    probes = []
    with Session(engine) as session:
        recent = [r for r in session.execute(text(
            "SELECT id, summary, category, district FROM \"case\" WHERE status = 'dispatched' ORDER BY id DESC LIMIT 2000"))]
    for i in range(queries):
        when = NOW + timedelta(minutes=i)
        if i % 3 == 0 and recent:  # a rewording of a recent case, from another person
            cid, summary, category, district = recent[i % len(recent)]
            report = {"text": summary.replace("。", "，情况一直没有改善。", 1), "category": category,
                      "phone": f"139{i:08d}", "received_at": when, "channel": "sms"}
        else:
            report = world.report(world.matter(), i, when, 10**7 + i)
        probes.append(report)
    extract_ms, query_ms, decide_ms, total_ms, counts, actions = [], [], [], [], [], {}
    with_extract_ms: list[float] = []
    brute_ms, brute_counts, agree = [], [], 0
    with Session(engine) as session:
        for i, report in enumerate(probes):
            t0 = time.perf_counter()
            f = dedupe.extract(report)
            t1 = time.perf_counter()
            candidates = dedupe.candidates(session, f)
            t2 = time.perf_counter()
            decision = decide(f, candidates, dedupe.thresholds)
            t3 = time.perf_counter()
            extract_ms.append((t1 - t0) * 1000)
            query_ms.append((t2 - t1) * 1000)
            decide_ms.append((t3 - t2) * 1000)
            total_ms.append((t3 - t1) * 1000)
            with_extract_ms.append((t3 - t0) * 1000)
            counts.append(len(candidates))
            actions[decision.action] = actions.get(decision.action, 0) + 1
            if i < brute:
                b0 = time.perf_counter()
                everything = brute_force(session, dedupe, f)
                full = decide(f, everything, dedupe.thresholds)
                brute_ms.append((time.perf_counter() - b0) * 1000)
                brute_counts.append(len(everything))
                agree += (full.action, full.case_id) == (decision.action, decision.case_id)
    return {
        "queries": queries, "actions": actions,
        "extract_ms": _pcts(extract_ms), "query_ms": _pcts(query_ms), "decide_ms": _pcts(decide_ms),
        "decision_ms": _pcts(total_ms), "with_extract_ms": _pcts(with_extract_ms), "candidates": {"mean": round(statistics.mean(counts), 1), "max": max(counts)},
        "brute_force": {"runs": len(brute_ms), "ms": _pcts(brute_ms),
                        "candidates": {"mean": round(statistics.mean(brute_counts), 1), "max": max(brute_counts)}
                        if brute_counts else None,
                        "same_decision_as_index": f"{agree}/{len(brute_ms)}"},
    }


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    s = sorted(values)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))]  # noqa: E731
    return {"p50": round(q(0.5), 2), "p90": round(q(0.9), 2), "p99": round(q(0.99), 2), "max": round(s[-1], 2)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = common.parser(NAME, __doc__.splitlines()[0])
    parser.set_defaults(db="sqlite")  # one database per run keeps a default run under ten minutes
    parser.add_argument("--cases", default="100000,1000000", help="database sizes, comma-separated")
    parser.add_argument("--path", default="/tmp", help="folder of the SQLite files (dedupe_scale_<cases>.db)")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--brute", type=int, default=50, help="how many queries also run the brute force")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--pool", type=int, default=50000, help="distinct generated reports the cases are drawn from")
    parser.add_argument("--max-candidates", type=int, default=None,
                        help="override the profile's [dedupe] max_candidates for the measured decisions")
    parser.add_argument("--per-key-limit", type=int, default=None,
                        help="override the profile's [dedupe] per_key_limit for the measured decisions")
    parser.add_argument("--reuse", action="store_true", help="measure an existing database, do not rebuild")
    parser.add_argument("--schema", default=SCHEMA,
                        help="PostgreSQL: the schema the cases are built in (dropped and made again unless --reuse)")
    args = parser.parse_args(argv)
    if args.quick:  # small sizes for what was not given
        for name, small in (("cases", "5000"), ("queries", 200), ("brute", 20), ("pool", 2000)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, small)
    try:
        args.sizes = [int(n) for n in str(args.cases).split(",") if n.strip()]
    except ValueError:
        parser.error(f"--cases {args.cases!r}: give numbers separated by commas")
    return common.run(NAME, args, argv, run_one, report)


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build (unless --reuse) and measure each size on one database."""
    return {"db": kind, "sizes": [_run_size(kind, args, n) for n in args.sizes]}


def _run_size(kind: str, args: argparse.Namespace, n: int) -> dict[str, Any]:
    if kind == "sqlite":
        path = Path(args.path) / f"dedupe_scale_{n}.db"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = db.make_engine(f"sqlite:///{path}", str(path.parent))
    else:
        import sqlalchemy

        admin = sqlalchemy.create_engine(common.psycopg_url(args.pg_url))
        if not args.reuse:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE')
                conn.exec_driver_sql(f'CREATE SCHEMA "{args.schema}"')
        admin.dispose()
        engine = db.make_engine(args.pg_url, "/tmp", args.schema)
    built: dict[str, Any] = {}
    if not args.reuse:
        db.prepare_schema(engine)
        built = build(engine, n, args.processes, args.pool)
        print(f"{kind}: built {n} cases in {built['build_seconds']} s ({built['index_rows']} index rows)", flush=True)
    sizes = index_bytes(engine, n)
    measured = measure(engine, n, args.queries, args.brute, args.max_candidates, args.per_key_limit)
    engine.dispose()
    return {"db": kind, "cases": n, **built, **sizes, **measured, "max_candidates": args.max_candidates,
            "per_key_limit": args.per_key_limit, "load_after": common.load()}


def report(result: dict[str, Any]) -> str:
    return "\n".join(_print(r) for run in result["runs"] for r in run["sizes"])


def _print(r: dict[str, Any]) -> str:
    rows = [("extract (new report)", r["extract_ms"]), ("candidate query", r["query_ms"]), ("decide", r["decide_ms"]),
            ("query + decide", r["decision_ms"]), ("extract + query + decide", r["with_extract_ms"]),
            ("brute force, same block", r["brute_force"]["ms"])]
    lines = [f"\n{r['db']}, {r['cases']:,} cases; {r['queries']} decisions {r['actions']}"
             + (f"; built in {r['build_seconds']} s" if "build_seconds" in r else "")]
    lines.append(common.table(["ms", "p50", "p90", "p99", "max"],
                              [(name, p["p50"], p["p90"], p["p99"], p["max"]) for name, p in rows if p]))
    lines.append(f"candidates per decision: index {r['candidates']}; brute force {r['brute_force']['candidates']}; "
                 f"same decision {r['brute_force']['same_decision_as_index']}")
    lines.append(f"index: {r['index_bytes_per_case']} bytes/case ({r['index_rows_per_case']} rows/case); "
                 f"stored features {r['features_bytes_per_case']} bytes/case")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
