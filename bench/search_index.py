"""What the console's search index (gateway/search.py) costs each new case on SQLite: CPU per case and report
inserted, one transaction each as intake commits, with and without the index's FTS5 tables and triggers, in
alternating rounds in one process (the engine runs in it, so its CPU is the index's whole cost).

    python -m bench.search_index                   # 4,000 cases per round, 3 rounds each way
    python -m bench.search_index --quick

Texts are drawn from the city's words (a title of 12 characters, a text of 40-160: lengths chosen to be like a
board post's, not measured from intake), phones are E.164. PostgreSQL's GIN indexes cost the server, not the client, and are not measured here.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common
from gateway.search import INDEXED, sqlite_ddl

NAME = "search_index"
WORDS = "百步亭花园东区路灯不亮楼道漏水噪音扰民小区门口乱停车中山大道解放大道武昌区江岸区洪山区物业供暖"


def rows(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)

    def text(length: int) -> str:
        return "".join(rng.choice(WORDS) for _ in range(length))

    return [(text(12), text(rng.randint(40, 160)), f"+86139{rng.randrange(10**8):08d}") for _ in range(n)]


def insert_cpu_ms(data: list[tuple[str, str, str]], indexed: bool) -> float:
    """CPU ms per case (with its report), each in its own transaction, into a new WAL file."""
    with tempfile.TemporaryDirectory(prefix="hotline-bench-search-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "x.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute('CREATE TABLE "case" (id INTEGER PRIMARY KEY, title TEXT, summary TEXT)')
        conn.execute("CREATE TABLE report (id INTEGER PRIMARY KEY, case_id INTEGER, phone TEXT)")
        if indexed:
            for source, columns in INDEXED.items():
                for statement in sqlite_ddl(source, columns):
                    conn.execute(statement)
        started = time.process_time()
        for title, summary, phone in data:
            conn.execute("BEGIN")
            case_id = conn.execute('INSERT INTO "case" (title, summary) VALUES (?, ?)', (title, summary)).lastrowid
            conn.execute("INSERT INTO report (case_id, phone) VALUES (?, ?)", (case_id, phone))
            conn.execute("COMMIT")
        spent = time.process_time() - started
        conn.close()
    return spent * 1000 / len(data)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="300 cases, 1 round")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.cases, args.rounds = 300, 1
    data = rows(args.cases, args.seed)
    result: dict[str, Any] = {"cases": args.cases, "load_before": common.load(), "rounds": []}
    for _ in range(args.rounds):
        without, with_index = insert_cpu_ms(data, False), insert_cpu_ms(data, True)
        result["rounds"].append({"without_ms": round(without, 3), "with_index_ms": round(with_index, 3)})
    result["median_added_ms"] = round(statistics.median(r["with_index_ms"] - r["without_ms"] for r in result["rounds"]), 3)
    result["load_after"] = common.load()
    common.write_result(NAME, result, args.out)
    print(common.table(["round", "without the index, CPU ms per case", "with it", "added"],
                       [[i + 1, r["without_ms"], r["with_index_ms"], round(r["with_index_ms"] - r["without_ms"], 3)]
                        for i, r in enumerate(result["rounds"])]))
    print(f"median added: {result['median_added_ms']} ms CPU per new case; load {result['load_before']} -> "
          f"{result['load_after']}")
    return result


if __name__ == "__main__":
    main()
