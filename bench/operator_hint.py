"""The operator's duplicate hint: the dedupe matcher (now) beside the engine it replaced, on the same queries.

    python -m bench.operator_hint                    # 100,000 cases, SQLite and PostgreSQL
    python -m bench.operator_hint --quick --db sqlite

N cases are preloaded (``bench/preload.py``, 70 % open, spread over 30 days) with their dedupe index.
The queries are what an operator types during a call (``bench/corpus.py``): a case's matter in
any of its wordings from a new caller, the same from the case's own caller with the number written
another way, or a fresh matter. Each query is answered by both engines, one after the other in
alternating order, each in its own session as the view does, and timed per call. Then, per query:
which cases the old engine listed (the caller's, the similar ones) and how many of them the new
one lists too; for each old-only similar case, why dedupe leaves it out (another place, too little
text in common, ranked below the top 5, not compared); and how often each lists the case the
query re-reports (when it is open), naming every query where only the old engine listed it.

The old engine is kept here only as the baseline: ``gateway/suggest.py`` as of commit c2c2ecd.
"""

from __future__ import annotations

import random
import re
import statistics
import time
import unicodedata
from collections import Counter
from datetime import timedelta
from typing import Any, Callable

from sqlmodel import Session, select

from bench import common, preload
from bench.corpus import Corpus

NAME = "operator_hint"
KINDS = (("rereport", 0.4), ("own_caller", 0.2), ("fresh", 0.4))


# -- the old engine: gateway/suggest.py of c2c2ecd, without its engine seam (registered only by a test) -----
OLD_DAYS, OLD_SCAN, OLD_MIN_SHARE, OLD_LIMIT = 30, 300, 0.2, 5
_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def _bigrams(text: str) -> set[str]:
    flat = _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())
    return {flat[i:i + 2] for i in range(len(flat) - 1)}


def _old_row(case: Any, why: str, score: float | None = None, shared: list[str] | None = None) -> dict[str, Any]:
    from gateway.views.presenters import iso

    return {"number": case.number, "title": case.title, "status": case.status, "district": case.district,
            "address": case.address, "category": case.category, "report_count": case.report_count,
            "created_at": iso(case.created_at), "why": why, "score": score, "shared": shared or []}


def _old_callers_cases(session: Session, phone: str | None, region: str) -> list[Any]:
    from dedupe.identity import normalize_phone
    from gateway.intake.ingest import resolve_case
    from gateway.models import OPEN_STATUSES, Case, Identity, Report

    e164 = normalize_phone(phone, region) if phone else None
    if not e164:
        return []
    identity = session.exec(select(Identity).where(Identity.kind == "phone", Identity.value == e164)).first()
    if identity is None:
        return []
    case_ids = select(Report.case_id).where(Report.contact_id == identity.contact_id)
    rows = session.exec(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id.desc()).limit(50)).all()  # type: ignore[union-attr,attr-defined]
    seen: dict[int, Any] = {}
    for case in rows:
        case = resolve_case(session, case)
        if case.status in OPEN_STATUSES and case.id is not None:
            seen.setdefault(case.id, case)
    return list(seen.values())[:OLD_LIMIT * 2]


def _old_similar(session: Session, district: str, text: str, exclude: set[int]) -> list[dict[str, Any]]:
    from gateway.clock import utcnow
    from gateway.models import OPEN_STATUSES, Case

    wanted = _bigrams(text)
    if not wanted:
        return []
    since = utcnow() - timedelta(days=OLD_DAYS)
    rows = session.exec(
        select(Case).where(Case.district == district, Case.status.in_(OPEN_STATUSES), Case.created_at >= since)  # type: ignore[attr-defined]
        .order_by(Case.id.desc()).limit(OLD_SCAN)  # type: ignore[union-attr]
    ).all()
    scored = []
    for case in rows:
        if case.id in exclude:
            continue
        shared = wanted & _bigrams(f"{case.title or ''} {case.summary} {case.address or ''}")
        score = len(shared) / len(wanted)
        if score >= OLD_MIN_SHARE:
            scored.append({"case_id": case.id, "score": round(score, 3),
                           "reasons": [{"rule": "same_district_shared_text", "shared": sorted(shared)[:8]}]})
    scored.sort(key=lambda item: -item["score"])
    return scored[:OLD_LIMIT]


def old_suggest(session: Session, rt: Any, *, phone: str | None, text: str | None, address: str | None) -> dict[str, Any]:
    """The old engine's answer, in the page's JSON shape."""
    from dedupe.identity import normalize_phone
    from gateway.casework.routing import locate
    from gateway.models import Case

    region = str(rt.profile.city.get("phone_region", "CN"))
    own = _old_callers_cases(session, phone, region)
    district, _street = locate(rt.profile, text or "", address)
    exclude = {case.id for case in own if case.id is not None}
    similar: list[dict[str, Any]] = []
    if district and (text or address):
        similar = _old_similar(session, district, f"{text or ''} {address or ''}", exclude)
    nearby = []
    for item in similar:
        case = session.get(Case, item["case_id"])
        if case is not None:
            shared = next((r.get("shared") for r in item.get("reasons", []) if r.get("shared")), None)
            nearby.append(_old_row(case, "nearby_similar", item.get("score"), shared))
    return {"phone": normalize_phone(phone, region) if phone else None, "district": district,
            "caller_cases": [_old_row(case, "same_phone") for case in own], "nearby_cases": nearby}


# -- the queries ---------------------------------------------------------------------------------------
def queries(corpus: Corpus, n_cases: int, count: int, seed: int) -> list[dict[str, Any]]:
    """What operators type: re-reports by new callers, the case's own caller (number written
    another way), fresh matters; each with the case id it re-reports (None: fresh)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        k = rng.randrange(n_cases)
        matter = corpus.matter(k if kind != "fresh" else n_cases + 1_000_000 + i)
        phone = corpus.phone(k if kind == "own_caller" else n_cases + 50_000_000 + i)
        if kind == "own_caller":  # as a caller dictates it: +86, dashes
            phone = f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"
        out.append({"kind": kind, "case_id": k + 1 if kind != "fresh" else None, "phone": phone,
                    "text": matter.text(rng.randrange(3)), "address": matter.address})
    return out


# -- the run -------------------------------------------------------------------------------------------
def _timed(rt: Any, engine: Callable[..., dict[str, Any]], q: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    with Session(rt.engine) as session:
        answer = engine(session, rt, phone=q["phone"], text=q["text"], address=q["address"])
    return time.perf_counter() - began, answer


def _case_id(number: str) -> int:
    return int(number.rsplit("-", 1)[1])  # preloaded numbers end in the zero-padded case id


def _listed(answer: dict[str, Any]) -> tuple[set[int], set[int]]:
    return ({_case_id(c["number"]) for c in answer["caller_cases"]},
            {_case_id(c["number"]) for c in answer["nearby_cases"]})


def why_left_out(session: Session, rt: Any, q: dict[str, Any], case_id: int) -> str:
    """Why the dedupe hint does not list a case the old engine listed as similar, by dedupe's own verdict."""
    from dedupe.decide import Candidate, score_candidate
    from gateway.casework.routing import locate
    from gateway.clock import utcnow
    from gateway.intake.hint import open_candidates
    from gateway.intake.matching import dedupe_of

    dedupe = dedupe_of(rt)
    query = dedupe.extract({"text": q["text"], "address": q["address"], "received_at": utcnow()})
    district, _street = locate(rt.profile, q["text"], q["address"])
    compared: dict[Any, Candidate] = {c.case_id: c for c in open_candidates(session, dedupe, query, district)}
    if case_id not in compared:
        return "not compared (beyond the district scan, not an index candidate)"
    scored = score_candidate(query, compared[case_id], dedupe.thresholds)
    if scored.vetoed:
        return "another place (veto)"
    if scored.rule is None:
        return "too little text in common (gate)"
    return "a rule takes it, ranked below the top 5"


def compare(session: Session, rt: Any, q: dict[str, Any], old: dict[str, Any], new: dict[str, Any],
            tally: Counter[str], left_out: Counter[str], open_ids: set[int],
            missed: list[dict[str, Any]] | None = None) -> None:
    """Count what both list, and why dedupe leaves out what only the old engine listed."""
    (old_own, old_near), (new_own, new_near) = _listed(old), _listed(new)
    tally["old_caller"] += len(old_own)
    tally["old_caller_also_new"] += len(old_own & new_own)
    tally["old_similar"] += len(old_near)
    tally["old_similar_also_new"] += len(old_near & (new_near | new_own))
    tally["new_caller"] += len(new_own)
    tally["new_similar"] += len(new_near)
    for case_id in old_near - new_near - new_own:
        left_out[why_left_out(session, rt, q, case_id)] += 1
    if q["case_id"] in open_ids:
        tally["reported_case_open"] += 1
        by_old, by_new = q["case_id"] in old_own | old_near, q["case_id"] in new_own | new_near
        tally["reported_case_old"] += by_old
        tally["reported_case_new"] += by_new
        tally["reported_case_old_only"] += by_old and not by_new
        tally["reported_case_new_only"] += by_new and not by_old
        if by_old and not by_new and missed is not None:  # what the widening is for: say why, query by query
            missed.append({"kind": q["kind"], "case_id": q["case_id"], "text": q["text"], "address": q["address"],
                           "why": why_left_out(session, rt, q, q["case_id"])})


def run_one(kind: str, args: Any) -> dict[str, Any]:
    from gateway import create_app
    from gateway.intake import hint
    from gateway.models import OPEN_STATUSES, Case
    from gateway.views.staff.operator import suggest as new_suggest

    if args.scan_limit is not None:  # to measure the trade-off of another length (the old engine scanned 300)
        hint.SCAN_LIMIT = args.scan_limit
    result: dict[str, Any] = {"database": kind, "scan_limit": hint.SCAN_LIMIT}
    with common.target(kind, args.redis_url, args.pg_url) as tgt:
        app = create_app({**tgt.config(), "TESTING": True})
        rt = app.extensions["hotline"]
        corpus = Corpus(seed=args.seed)
        print(f"[{kind}] preloading {args.cases:,} cases and their dedupe index ...", flush=True)
        result["preload"] = preload.cases(rt.engine, corpus, args.cases)
        result["preload"]["dedupe_index"] = preload.dedupe_index(app, 1, args.cases)
        asked = queries(corpus, args.cases, args.queries + args.warmup, args.seed + 1)
        engines = {"old": old_suggest, "new": new_suggest}
        times: dict[str, list[float]] = {"old": [], "new": []}
        tally: Counter[str] = Counter()
        left_out: Counter[str] = Counter()
        missed: list[dict[str, Any]] = []
        with Session(rt.engine) as session:
            open_ids = set(session.exec(select(Case.id).where(Case.status.in_(OPEN_STATUSES))).all())  # type: ignore[attr-defined]
        result["load_before"] = common.load()
        with app.app_context():
            for i, q in enumerate(asked):
                order = ("old", "new") if i % 2 == 0 else ("new", "old")  # alternate: neither always runs on a warm cache
                answers = {}
                for name in order:
                    seconds, answers[name] = _timed(rt, engines[name], q)
                    if i >= args.warmup:
                        times[name].append(seconds)
                if i >= args.warmup:
                    with Session(rt.engine) as session:
                        compare(session, rt, q, answers["old"], answers["new"], tally, left_out, open_ids, missed)
        result["load_after"] = common.load()
        for name, values in times.items():
            result[name] = {"median_ms": round(statistics.median(values) * 1000, 2),
                            "p95_ms": round(common.percentile(values, 95) * 1000, 2), "calls": len(values)}
        result["findings"] = dict(tally)
        result["old_similar_left_out"] = dict(left_out)
        result["reported_case_old_only"] = missed
        result["kinds"] = dict(Counter(q["kind"] for q in asked[args.warmup:]))
        rt.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=None, help="preloaded cases (default 100,000; --quick 2,000)")
    p.add_argument("--queries", type=int, default=None, help="timed queries per engine (default 400; --quick 60)")
    p.add_argument("--warmup", type=int, default=20, help="queries answered first by both and not counted")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--scan-limit", type=int, default=None,
                   help="the new hint's district scan (gateway.intake.hint.SCAN_LIMIT; default: as shipped)")
    args = p.parse_args(argv)
    args.cases = args.cases if args.cases is not None else (2_000 if args.quick else 100_000)
    args.queries = args.queries if args.queries is not None else (60 if args.quick else 400)
    return common.run(NAME, args, argv, run_one, report)


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


def report(result: dict[str, Any]) -> str:
    rows, notes = [], []
    for r in result["runs"]:
        f = r["findings"]
        rows.append([r["database"], result["params"]["cases"], r["old"]["calls"], r["old"]["median_ms"],
                     r["new"]["median_ms"], r["old"]["p95_ms"], r["new"]["p95_ms"],
                     _share(f.get("old_caller_also_new", 0), f.get("old_caller", 0)),
                     _share(f.get("old_similar_also_new", 0), f.get("old_similar", 0)),
                     f"{f.get('reported_case_old', 0)} / {f.get('reported_case_new', 0)} of {f.get('reported_case_open', 0)}"
                     f" (old only: {f.get('reported_case_old_only', 0)}, new only: {f.get('reported_case_new_only', 0)})",
                     "/".join(f"{x:g}" for x in r["load_after"])])
        left = ", ".join(f"{why}: {n}" for why, n in sorted(r["old_similar_left_out"].items(), key=lambda kv: -kv[1]))
        notes.append(f"{r['database']}: old engine's similar cases the new one leaves out: {left or 'none'}")
        for miss in r.get("reported_case_old_only", []):
            notes.append(f"{r['database']}: re-reported case {miss['case_id']} listed by the old engine only "
                         f"({miss['kind']}, {miss['address']}): {miss['why']}")
    text_ = common.table(["db", "cases", "queries", "old median ms", "new median ms", "old p95 ms", "new p95 ms",
                          "old's caller cases also listed", "old's similar cases also listed",
                          "re-reported case listed old / new", "load after 1/5/15"], rows)
    return "\n".join([text_, *notes])


if __name__ == "__main__":
    main()
