"""The operators' knowledge base search at scale: N generated answers, then the search the form calls as the operator types.

    python -m bench.knowledge --answers 100000 --db sqlite
    python -m bench.knowledge --answers 100000 --db postgresql      # its own schema in --pg-url
    python -m bench.knowledge --quick                                # 3,000 answers: a check that it works

The answers are generated Chinese question-and-answer pairs (a matter, an ask, places and sentences drawn from
word lists, so that common and rare bigrams mix as in real answers). They are written with the gateway's own
index terms (``gateway.messaging.knowledge.grams_of``) by executemany (SQLite) or COPY (PostgreSQL); then
``--adds`` more go through ``knowledge.put`` (the console's path), timed. Each of ``--queries`` queries is what an
operator types for one answer's matter (a caller's wording of its title, or the first characters of it while
typing), timed around ``knowledge.search`` in a fresh session as the view opens one. Reported: p50/p95/p99/max,
how often the answer asked about is among the 8 shown, and the index's size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlmodel import Session

from bench import common
from gateway import db
from gateway.messaging import knowledge

NAME = "knowledge"
SCHEMA = "bench_knowledge"

MATTERS = ("社保卡", "医保卡", "公积金", "居住证", "身份证", "户口迁移", "出生证明", "结婚登记", "不动产证", "营业执照",
           "燃气开户", "自来水", "电费", "有线电视", "宽带", "路灯", "下水道", "垃圾清运", "噪音扰民", "油烟", "违章停车",
           "占道经营", "小区物业", "电梯维修", "房屋漏水", "租房合同", "学位申请", "幼儿园入园", "小学报名", "中考报名",
           "老年证", "残疾证", "低保申请", "养老保险", "失业保险", "工伤认定", "劳动仲裁", "欠薪", "出租车", "公交线路",
           "地铁票价", "驾驶证", "行驶证", "车辆年检", "电动车上牌", "犬只登记", "献血证", "疫苗接种", "核酸检测", "门诊报销")
ASKS = ("怎么办理", "需要什么材料", "在哪里办", "多久能办好", "怎么补办", "可以网上办吗", "收费标准是多少", "怎么投诉",
        "找哪个部门", "办理时间是什么时候", "怎么查询进度", "过期了怎么办", "丢失了怎么办", "可以代办吗")
PLACES = ("政务服务中心", "街道便民服务中心", "社区服务站", "派出所", "营业厅", "银行网点", "区行政审批局", "市民之家")
DISTRICTS = ("江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区", "东西湖区", "蔡甸区", "江夏区", "黄陂区")
SENTENCES = ("请携带本人身份证原件及复印件", "工作日上午九点至下午五点可以办理", "可通过微信公众号或政务服务网在线申请",
             "办理时限为五个工作日", "如有疑问可拨打服务热线咨询", "委托他人办理的须提供委托书", "首次办理不收取费用",
             "材料齐全的当场受理", "逾期未办理的需重新提交申请", "办理结果将以短信方式告知", "请提前预约以免排队",
             "相关政策以最新公布的文件为准", "涉及多个部门的由窗口统一受理", "特殊情况可申请延期办理")
# Rare words: a thousand made-up names of estates and roads, so that some bigrams occur in few answers.
_SYLLABLES = "金银华新城花园湖景山水云阳光明德康宁泰和丰盛嘉福瑞安平东西南北中江汉楚桥港龙凤星月春秋"


def _names(seed: int = 3, count: int = 1000) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_SYLLABLES) for _ in range(2)) + rnd.choice(("小区", "路", "街", "花园", "社区")) for _ in range(count)]


def answers(n: int, seed: int = 11) -> Iterator[tuple[int, str, str, str]]:
    """(id, title, text, matter) of n generated answers."""
    rnd = random.Random(seed)
    names = _names()
    for i in range(1, n + 1):
        matter, ask = rnd.choice(MATTERS), rnd.choice(ASKS)
        place, district, name = rnd.choice(PLACES), rnd.choice(DISTRICTS), rnd.choice(names)
        title = f"{matter}{ask}" + (f"（{district}{name}）" if rnd.random() < 0.4 else "")
        body = [f"您好，{matter}{ask.replace('怎么', '').replace('吗', '')}的问题答复如下：",
                f"可到{district}{place}办理", *rnd.sample(SENTENCES, rnd.randint(2, 4))]
        if rnd.random() < 0.5:
            body.insert(2, f"{name}附近居民可就近到{rnd.choice(PLACES)}")
        yield i, title, "，".join(body) + "。", matter


def _bulk_mode(raw: Any) -> None:
    raw.execute("PRAGMA journal_mode=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-262144")


def build(engine: Any, n: int) -> dict[str, Any]:
    """Write n answers and their index rows in bulk; return timings."""
    started = time.perf_counter()
    dialect = engine.dialect.name
    now = datetime.now(timezone.utc)
    rows, grams = [], []
    for i, title, text, _ in answers(n):
        rows.append((i, "entry", i, title, text, None, None, knowledge.digest(text), True, now))
        grams.extend((g, i) for g in knowledge.grams_of(title, text))
    grams.sort()
    computed = time.perf_counter()
    columns = "id, source, source_id, title, text, category, case_number, digest, active, updated_at"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if dialect == "sqlite":
            _bulk_mode(raw)
            raw.execute("BEGIN")
            raw.executemany(f"INSERT INTO knowledgeanswer ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                            [(*r[:9], r[9].isoformat(sep=" ")) for r in rows])
            for start in range(0, len(grams), 200_000):
                raw.executemany("INSERT INTO knowledgegram (gram, answer_id) VALUES (?, ?)", grams[start:start + 200_000])
            raw.execute("COMMIT")
            raw.execute("PRAGMA journal_mode=WAL")
        else:
            with raw.cursor() as cur:
                with cur.copy(f"COPY knowledgeanswer ({columns}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
                cur.execute("ALTER TABLE knowledgegram DROP CONSTRAINT knowledgegram_pkey")
                with cur.copy("COPY knowledgegram (gram, answer_id) FROM STDIN") as copy:
                    for g in grams:
                        copy.write_row(g)
                cur.execute("ALTER TABLE knowledgegram ADD PRIMARY KEY (gram, answer_id)")
                cur.execute(f"SELECT setval(pg_get_serial_sequence('knowledgeanswer', 'id'), {n})")
            raw.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM (ANALYZE)" if dialect == "postgresql" else "ANALYZE")
    return {"build_seconds": round(time.perf_counter() - started, 1),
            "terms_seconds": round(computed - started, 1), "index_rows": len(grams)}


def sizes(engine: Any, n: int) -> dict[str, float]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            index = conn.exec_driver_sql("SELECT pg_total_relation_size('knowledgegram')").scalar()
        else:
            index = conn.exec_driver_sql("SELECT SUM(pgsize) FROM dbstat WHERE name = 'knowledgegram'").scalar()
        rows = conn.exec_driver_sql("SELECT COUNT(*) FROM knowledgegram").scalar()
    return {"index_bytes_per_answer": round(index / n, 1), "index_rows_per_answer": round(rows / n, 1)}


def queries(n: int, count: int, seed: int = 5) -> list[tuple[str, int]]:
    """(what the operator typed, the answer it is about): a caller's wording of an answer's title, or the first
    characters of it while still typing."""
    rnd = random.Random(seed)
    wanted = set(rnd.sample(range(1, n + 1), min(count, n)))
    out = []
    for i, title, _text, _matter in answers(n):
        if i not in wanted:
            continue
        spoken = rnd.choice(("请问", "我想问一下", "你好，", "")) + title + rnd.choice(("？", "，谢谢", "，急", ""))
        out.append((spoken[: rnd.randint(6, len(spoken))] if rnd.random() < 0.3 else spoken, i))
    rnd.shuffle(out)
    return out


def _pcts(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))]  # noqa: E731
    return {"p50": round(q(0.5), 2), "p95": round(q(0.95), 2), "p99": round(q(0.99), 2), "max": round(s[-1], 2),
            "mean": round(statistics.fmean(s), 2)}


def measure(engine: Any, n: int, count: int, adds: int, warmup: int = 20) -> dict[str, Any]:
    asked = queries(n, count + warmup)
    for text, _ in asked[:warmup]:
        with Session(engine) as session:
            knowledge.search(session, text)
    times, cpu, found, shown = [], [], 0, []
    for text, answer_id in asked[warmup:]:
        started, used = time.perf_counter(), time.thread_time()
        with Session(engine) as session:
            hits = knowledge.search(session, text)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - used) * 1000)  # this process's CPU (SQLite's included, PostgreSQL's not)
        shown.append(len(hits))
        # a generated title recurs for other answers: the one asked about, or one with the same title, counts
        titles = {h.answer.title for h in hits}
        found += any(h.answer.id == answer_id for h in hits) or _title(n, answer_id) in titles
    put_times = []
    rnd = random.Random(17)
    for j in range(adds):
        _, title, text, _m = next(answers(1, seed=1000 + j))
        started = time.perf_counter()
        with Session(engine) as session:
            knowledge.put(session, "entry", n + 1 + j, title + str(rnd.random())[:4], text)
            session.commit()
        put_times.append((time.perf_counter() - started) * 1000)
    return {"queries": len(times), "search_ms": _pcts(times), "search_cpu_ms": _pcts(cpu), "asked_answer_shown": round(found / len(times), 3),
            "answers_shown_mean": round(statistics.fmean(shown), 1), "adds": adds,
            "put_ms": _pcts(put_times) if put_times else {}}


_TITLES: dict[int, dict[int, str]] = {}


def _title(n: int, answer_id: int) -> str:
    if n not in _TITLES:
        _TITLES[n] = {i: title for i, title, _, _ in answers(n)}
    return _TITLES[n][answer_id]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = common.parser(NAME, __doc__.splitlines()[0])
    parser.set_defaults(db="sqlite")
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--adds", type=int, default=100, help="answers added one by one through knowledge.put, timed")
    parser.add_argument("--path", default="/tmp", help="folder of the SQLite file (knowledge_<answers>.db)")
    args = parser.parse_args(argv)
    if args.quick:
        for name, small in (("answers", 3000), ("queries", 100), ("adds", 10)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, small)
    return common.run(NAME, args, argv, run_one, report)


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    n = args.answers
    if kind == "sqlite":
        path = Path(args.path) / f"knowledge_{n}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = db.make_engine(f"sqlite:///{path}", str(path.parent))
    else:
        import sqlalchemy

        admin = sqlalchemy.create_engine(common.psycopg_url(args.pg_url))
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        admin.dispose()
        engine = db.make_engine(args.pg_url, "/tmp", SCHEMA)
    try:
        db.prepare_schema(engine)
        built = build(engine, n)
        print(f"{kind}: built {n} answers in {built['build_seconds']} s ({built['index_rows']} index rows)", flush=True)
        result = {"db": kind, "answers": n, **built, **sizes(engine, n),
                  **measure(engine, n, args.queries, args.adds), "load_after": common.load()}
    finally:
        engine.dispose()
        if kind == "postgresql":
            import sqlalchemy

            admin = sqlalchemy.create_engine(common.psycopg_url(args.pg_url))
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            admin.dispose()
        else:
            for suffix in ("", "-wal", "-shm", "-writers"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    return result


def report(result: dict[str, Any]) -> str:
    lines = []
    for r in result["runs"]:
        lines.append(f"\n{r['db']}, {r['answers']:,} answers ({r['index_rows_per_answer']} index rows, "
                     f"{r['index_bytes_per_answer']} bytes per answer); built in {r['build_seconds']} s")
        rows = [("search (as the form calls it)", r["search_ms"]),
                ("  its CPU in this process", r["search_cpu_ms"])]
        if r["put_ms"]:
            rows.append(("add one answer (knowledge.put)", r["put_ms"]))
        lines.append(common.table(["ms", "p50", "p95", "p99", "max"],
                                  [(name, p["p50"], p["p95"], p["p99"], p["max"]) for name, p in rows]))
        lines.append(f"{r['queries']} queries; the answer asked about shown in {r['asked_answer_shown']:.1%}; "
                     f"{r['answers_shown_mean']} answers shown on average; load after {r['load_after']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
