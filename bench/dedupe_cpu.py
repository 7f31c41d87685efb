"""Dedupe decision CPU: ``time.process_time`` per phase (extract, candidate query, decide) on generated cases.

    python -m bench.dedupe_cpu                                   # 20,000 cases (built once), 300 reports, 3 rounds
    python -m bench.dedupe_cpu --profile decide                  # cProfile of one round of a phase, top functions
    PYTHONPATH=/tmp/old python bench/dedupe_cpu.py --file /tmp/dedupe_cpu_old.db   # another checkout's matcher

On a shared, loaded machine wall-clock latencies are mostly time spent waiting for a core; the CPU
time one process spends is what a change of the matcher changes. This builds (unless the SQLite file
exists already, or ``--rebuild``) a database of ``--cases`` cases with ``bench.dedupe_scale``'s
generator and build (the real ``extract``/``block_keys``, the key index and stored features as intake
writes them), then, ``--rounds`` times in one process, for the same ``--reports`` new reports (a third
of them rewordings of recent cases by other people, like ``bench.dedupe_scale``'s):

- extract: ``Dedupe.extract`` of every report;
- query: ``Dedupe.candidates`` (the indexed query, SQLite in this process, and decoding the stored features);
- decide: ``decide`` over the candidates fetched in the query phase.

It prints CPU ms per decision for each phase and round, and a digest of the decisions (every report's
``Decision.to_dict()``: action, case, score, rule and reasons): two checkouts that decide alike over the
same database print the same digest.

Against another checkout: run this file as a script with that checkout first on ``PYTHONPATH``; its
``dedupe``, ``gateway`` and ``bench.dedupe_scale`` are then the ones imported (printed at the start),
and it should build its own database file (``--file``), since the stored features and keys are its own.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: the checkout on PYTHONPATH first, this one after it
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import dedupe.decide  # noqa: E402
import gateway  # noqa: E402
from bench import dedupe_scale  # noqa: E402
from dedupe.decide import decide  # noqa: E402
from dedupe.features import Features  # noqa: E402
from gateway import db  # noqa: E402
from gateway.config import BUNDLED_PROFILE  # noqa: E402
from gateway.intake.matching import Dedupe  # noqa: E402
from gateway.profile import load_profile  # noqa: E402

PHASES = ("extract", "query", "decide")


def reports(engine: Any, count: int) -> list[dict[str, Any]]:
    """``count`` new reports, as ``bench.dedupe_scale.measure`` makes them: every third one a rewording of a recent case."""
    world = dedupe_scale.World(seed=99)
    with Session(engine) as session:
        recent = list(session.execute(text(
            "SELECT id, summary, category, district FROM \"case\" WHERE status = 'dispatched' ORDER BY id DESC LIMIT 2000")))
    out = []
    for i in range(count):
        when = dedupe_scale.NOW + timedelta(minutes=i)
        if i % 3 == 0 and recent:
            _, summary, category, _ = recent[i % len(recent)]
            out.append({"text": summary.replace("。", "，情况一直没有改善。", 1), "category": category,
                        "phone": f"139{i:08d}", "received_at": when, "channel": "sms"})
        else:
            out.append(world.report(world.matter(), i, when, 10**7 + i))
    return out


def one_round(dedupe: Dedupe, session: Session, probes: list[dict[str, Any]],
              profile: str | None = None) -> tuple[dict[str, float], list[dict[str, Any]], int]:
    """CPU seconds of each phase over all reports, the decisions (``Decision.to_dict``: action, case, score,
    rule and reasons), and the number of candidates scored."""
    spent: dict[str, float] = {}
    profiler = cProfile.Profile() if profile else None

    def timed(phase: str, work: Callable[[], Any]) -> Any:
        if profiler is not None and phase == profile:
            profiler.enable()
        started = time.process_time()
        result = work()
        spent[phase] = time.process_time() - started
        if profiler is not None and phase == profile:
            profiler.disable()
        return result

    features: list[Features] = timed("extract", lambda: [dedupe.extract(r) for r in probes])
    candidates = timed("query", lambda: [dedupe.candidates(session, f) for f in features])
    decisions = timed("decide", lambda: [decide(f, c, dedupe.thresholds) for f, c in zip(features, candidates)])
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return spent, [d.to_dict() for d in decisions], sum(len(c) for c in candidates)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--pool", type=int, default=5000, help="distinct generated reports the cases are drawn from")
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", default=None, help="the SQLite file (default /tmp/dedupe_cpu_<cases>.db)")
    parser.add_argument("--rebuild", action="store_true", help="build the database even if the file exists")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="for the build")
    parser.add_argument("--profile", choices=PHASES, default=None, help="cProfile this phase in the last round")
    parser.add_argument("--out", default=None, help="write the result as JSON here too")
    args = parser.parse_args(argv)
    print(f"dedupe from {Path(dedupe.decide.__file__).parent}; gateway from {Path(gateway.__file__).parent}", flush=True)
    path = Path(args.file or f"/tmp/dedupe_cpu_{args.cases}.db")
    if args.rebuild or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = db.make_engine(f"sqlite:///{path}", str(path.parent))
        db.prepare_schema(engine)
        built = dedupe_scale.build(engine, args.cases, args.processes, args.pool)
        print(f"built {args.cases} cases in {built['build_seconds']} s ({built['index_rows']} index rows)", flush=True)
    else:
        engine = db.make_engine(f"sqlite:///{path}", str(path.parent))
    dedupe_ = Dedupe(load_profile(BUNDLED_PROFILE))
    probes = reports(engine, args.reports)
    rounds = []
    digest = ""
    scored = 0
    with Session(engine) as session:
        for number in range(args.rounds):
            last = number == args.rounds - 1
            spent, decisions, scored = one_round(dedupe_, session, probes, args.profile if last else None)
            digest = hashlib.sha256(json.dumps(decisions, default=str).encode()).hexdigest()[:12]
            per = {phase: round(spent[phase] * 1000 / len(probes), 3) for phase in PHASES}
            per["query + decide"] = round(per["query"] + per["decide"], 3)
            per["all"] = round(per["query + decide"] + per["extract"], 3)
            rounds.append(per)
            actions = {a: sum(1 for d in decisions if d["action"] == a) for a in ("attach", "propose", "new")}
            print(f"round {number + 1}: CPU ms per decision " + ", ".join(f"{k} {v:.3f}" for k, v in per.items())
                  + f"; {scored / len(probes):.1f} candidates; {actions}; decisions {digest}", flush=True)
    engine.dispose()
    best = {k: min(r[k] for r in rounds) for k in rounds[0]}
    median = {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]}
    print("min over rounds: " + ", ".join(f"{k} {v:.3f}" for k, v in best.items()))
    result = {"file": str(path), "cases": args.cases, "reports": args.reports, "rounds": rounds, "min": best,
              "median": median, "candidates_per_decision": round(scored / len(probes), 1), "decisions": digest,
              "dedupe": str(Path(dedupe.decide.__file__).parent), "load": [round(x, 2) for x in os.getloadavg()]}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
