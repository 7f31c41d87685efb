"""Turn the board's hot-issue CSVs into the JSONL that `hotline eval dedupe` reads (written outside the repo).

    PYTHONPATH=. /work/venv/bin/python tools/board_to_eval.py \\
        --messages /work/shared/data/board/hot_issue_messages.csv \\
        --groups /work/shared/data/board/hot_issue_example_groups.csv --out /tmp/board_eval.jsonl
    hotline eval dedupe --data /tmp/board_eval.jsonl

Every example of a group gets the group's label; a NEGATIVE row (the same template about another
place) and every other message get none (each is its own matter). Rule to calibrate against:
every example joins its group and no negative joins. ``--only-examples`` writes the labelled rows alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

NEGATIVE = "NEGATIVE_template_sibling_other_place"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def convert(messages: Path, groups: Path, only_examples: bool = False) -> list[dict[str, str]]:
    by_id = {row["留言编号"]: row for row in _rows(messages)}
    labels: dict[str, str] = {}
    for row in _rows(groups):
        mid = row["留言编号"]
        labels[mid] = "" if row.get("role") == NEGATIVE else f"g{row['问题ID']}"
        if mid not in by_id:  # an example not in the message file: its title is all there is
            by_id[mid] = {**row, "留言详情": ""}
    out = []
    for mid, row in by_id.items():
        if only_examples and mid not in labels:
            continue
        out.append({"id": mid, "group": labels.get(mid, ""), "time": (row.get("留言时间") or "").strip(),
                    "channel": "board", "user": (row.get("留言用户") or "").strip(),
                    "title": (row.get("留言主题") or "").strip(), "text": " ".join((row.get("留言详情") or "").split())})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", required=True, type=Path)
    parser.add_argument("--groups", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--only-examples", action="store_true")
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parent.parent
    if repo in args.out.resolve().parents:
        parser.error("--out is inside the repository; the board data must stay outside it (use /tmp)")
    rows = convert(args.messages, args.groups, args.only_examples)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} lines ({sum(1 for r in rows if r['group'])} labelled) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
