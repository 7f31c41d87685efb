"""Replay the board's hot-issue messages through dedupe and measure it on the organisers' example groups.

Usage (the data stays outside the repository; it is read by path):

    PYTHONPATH=. /work/venv/bin/python tools/calibrate_dedupe.py \\
        --messages /work/shared/data/board/hot_issue_messages.csv \\
        --groups /work/shared/data/board/hot_issue_example_groups.csv

Every message goes, in time order, through ``extract -> block_keys -> candidates from an
in-memory index -> decide``, as the gateway would do with its indexed key table. A case
counts as open for ``--open-days`` after its last report (default: never closes, i.e. the
hot-issue-mining view in which the example groups, spanning up to two years, were made).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from dedupe.decide import ATTACH, PROPOSE, Candidate, Thresholds, decide
from dedupe.features import Features, block_keys, case_keys, extract
from dedupe.metrics import bcubed, pairwise
from dedupe.place import Gazetteer

NEGATIVE = "NEGATIVE_template_sibling_other_place"
MAX_FEATURES_PER_CASE = 8  # the first report and the latest ones; enough to compare against


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _report(row: dict[str, str]) -> dict[str, Any]:
    return {
        "title": row.get("留言主题"),
        "text": row.get("留言详情"),
        "board_user": row.get("留言用户"),
        "time": row.get("留言时间"),
        "channel": "board",
    }


def run(args: argparse.Namespace) -> int:
    messages = _read_csv(Path(args.messages))
    groups = _read_csv(Path(args.groups))
    by_id = {row["留言编号"]: row for row in messages}
    example_ids = {row["留言编号"] for row in groups}
    missing = example_ids - set(by_id)
    for row in groups:  # an example row not in the message file still streams, with its title only
        if row["留言编号"] in missing:
            by_id[row["留言编号"]] = {**row, "留言详情": ""}
    if args.only_examples:
        by_id = {i: by_id[i] for i in example_ids}

    gazetteer = Gazetteer.from_profile({"city": "A市", "districts": []})
    thresholds = Thresholds(auto=args.auto, grey=args.grey)

    features = {i: extract(_report(row), gazetteer) for i, row in by_id.items()}
    order = sorted(features, key=lambda i: (features[i].time, int(i) if i.isdigit() else i))

    index: dict[str, set[int]] = defaultdict(set)
    case_reports: dict[int, list[str]] = {}
    case_last: dict[int, Any] = {}
    keys_of_case: dict[int, list[str]] = {}
    assigned: dict[str, int] = {}
    decisions: dict[str, Any] = {}
    latencies: list[float] = []
    candidate_counts: list[int] = []
    actions: Counter[str] = Counter()
    rules: Counter[str] = Counter()

    for message_id in order:
        f = features[message_id]
        keys = block_keys(f, window_hours=thresholds.same_problem_hours)
        found: set[int] = set()
        for key in keys:
            found |= index.get(key, set())
        candidates = []
        for case_id in sorted(found):
            reports = case_reports[case_id]
            stored = [features[r] for r in reports]
            last = case_last[case_id]
            is_open = args.open_days is None or (f.time - last).total_seconds() <= args.open_days * 86400
            candidates.append(
                Candidate(case_id, stored[0], is_open=is_open, last_report_at=last, more_features=tuple(stored[1:]))
            )
        started = time.perf_counter()
        decision = decide(f, candidates, thresholds)
        latencies.append((time.perf_counter() - started) * 1000)
        candidate_counts.append(len(candidates))
        decisions[message_id] = decision
        actions[decision.action] += 1
        if decision.rule:
            rules[f"{decision.action}:{decision.rule}"] += 1
        joins = decision.action == ATTACH or (decision.action == PROPOSE and args.accept_proposals)
        if joins and decision.case_id is not None:
            case_id = int(decision.case_id)  # type: ignore[call-overload]
            reports = case_reports[case_id]
            if len(reports) >= MAX_FEATURES_PER_CASE:
                reports.pop(1)
            reports.append(message_id)
        else:
            case_id = len(case_reports)
            case_reports[case_id] = [message_id]
        assigned[message_id] = case_id
        case_last[case_id] = f.time
        old = keys_of_case.get(case_id, [])
        new = case_keys(old, keys)
        for key in set(old) - set(new):
            index[key].discard(case_id)
        for key in new:
            index[key].add(case_id)
        keys_of_case[case_id] = new

    _report_examples(groups, assigned, decisions, features, args.verbose)
    print()
    print(f"stream: {len(order)} messages -> {len(case_reports)} cases; actions {dict(actions)}; rules {dict(rules)}")
    leaked = _leakage(groups, assigned, by_id)
    print(f"non-example messages put into an example group's case: {len(leaked)}")
    for line in leaked[: args.show_leaks]:
        print("   ", line)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    print(
        f"decide latency ms: p50 {p(0.5):.3f}  p99 {p(0.99):.3f}  max {latencies[-1]:.3f}; "
        f"candidates per decision: mean {statistics.mean(candidate_counts):.1f}  max {max(candidate_counts)}"
    )
    per_report = [len(block_keys(features[i])) for i in order[:500]]
    per_case = [len(k) for k in keys_of_case.values()]
    bytes_per_case = [sum(len(k.encode()) for k in ks) for ks in keys_of_case.values()]
    print(
        f"block keys per report (first 500): mean {statistics.mean(per_report):.1f} max {max(per_report)}; "
        f"per case (after case_keys): mean {statistics.mean(per_case):.1f} max {max(per_case)}; "
        f"key bytes per case: mean {statistics.mean(bytes_per_case):.0f} max {max(bytes_per_case)}"
    )
    return 0


def _report_examples(
    groups: list[dict[str, str]], assigned: dict[str, int], decisions: dict[str, Any], features: dict[str, Features], verbose: bool
) -> None:
    gold: dict[str, str] = {}
    for row in groups:
        mid = row["留言编号"]
        gold[mid] = f"neg:{mid}" if row["role"] == NEGATIVE else f"g{row['问题ID']}"
    predicted = {mid: str(assigned[mid]) for mid in gold}
    all_ok = True
    for group in sorted({g for g in gold.values() if g.startswith("g")}):
        members = [m for m in gold if gold[m] == group]
        cases = Counter(predicted[m] for m in members)
        main_case, size = cases.most_common(1)[0]
        joined = size == len(members)
        negatives_in = [m for m in gold if gold[m].startswith("neg") and predicted[m] == main_case]
        all_ok &= joined and not negatives_in
        print(f"group {group}: {size}/{len(members)} messages in case {main_case}; negatives joined: {negatives_in or 'none'}")
        for m in sorted(members, key=lambda i: features[i].time):
            d = decisions[m]
            mark = "ok " if predicted[m] == main_case else "OUT"
            if verbose or mark == "OUT":
                print(f"  {mark} {m} {features[m].time:%Y-%m-%d} {d.action:7} {d.rule or '-':12} {d.score:.3f}")
    for m in sorted(m for m in gold if gold[m].startswith("neg")):
        d = decisions[m]
        veto = next((r["value"] for r in d.reasons if r["feature"] in ("place_mismatch", "district_mismatch")), None)
        print(f"  negative {m}: {d.action} (nearest case {next((r['value'] for r in d.reasons if r['feature'] == 'nearest_case'), d.case_id)}, veto {veto})")
    pw, b3 = pairwise(gold, predicted), bcubed(gold, predicted)
    print(f"pairwise P/R/F1: {pw.precision:.3f} / {pw.recall:.3f} / {pw.f1:.3f}")
    print(f"B-cubed  P/R/F1: {b3.precision:.3f} / {b3.recall:.3f} / {b3.f1:.3f}")
    print("every example joins its group and no negative joins:", "YES" if all_ok else "NO")


def _leakage(groups: list[dict[str, str]], assigned: dict[str, int], by_id: dict[str, dict[str, str]]) -> list[str]:
    example_ids = {row["留言编号"] for row in groups}
    group_cases = {assigned[row["留言编号"]] for row in groups if row["role"] != NEGATIVE}
    return [
        f"{mid} -> case {case}: {by_id[mid].get('留言主题', '')}"
        for mid, case in sorted(assigned.items())
        if case in group_cases and mid not in example_ids
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", required=True)
    parser.add_argument("--groups", required=True)
    parser.add_argument("--auto", type=float, default=Thresholds.auto)
    parser.add_argument("--grey", type=float, default=Thresholds.grey)
    parser.add_argument("--open-days", type=float, default=None, help="a case closes this long after its last report")
    parser.add_argument("--accept-proposals", action="store_true", help="the office accepts every grey-zone proposal")
    parser.add_argument("--only-examples", action="store_true", help="stream only the example rows")
    parser.add_argument("--show-leaks", type=int, default=20)
    parser.add_argument("-v", "--verbose", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
