"""The fixed samples of board posts for the appeal-type labels: 200 to measure on, a separate set to develop on.

    python3 tools/appeal_sample.py ids  --data /work/shared/data/board/messages_with_replies.csv
    python3 tools/appeal_sample.py show --data /work/shared/data/board/messages_with_replies.csv --set eval

The sampling (docs/labelling/appeal_types.md, "The sample"): every row of the file with a title or a text,
without the rows whose title and text repeat an earlier row's (the board holds copies, and a copy must not sit
in both sets); their ids sorted as numbers and shuffled with ``random.Random(SEED)``; the first 200 are the
measurement set (``eval``), the next ``DEV_SIZE`` the development set (``dev``) whose posts the cue words were
fitted on. ``show`` prints a set's posts to the terminal for reading; nothing of the data is written into the
repository (the labels file holds ids and labels only).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from pathlib import Path

SEED = 12345
EVAL_SIZE = 200
DEV_SIZE = 200
SHOW_LIMIT = 1500  # characters of a text shown; longer ones keep their head and their end (where the ask is)


def read_posts(path: Path) -> dict[str, tuple[str, str]]:
    """id -> (title, text) of the board's messages_with_replies.csv."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["留言编号"].strip(): ((row.get("留言主题") or "").strip(), _squeeze(row.get("留言详情") or ""))
                for row in csv.DictReader(handle)}


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def samples(posts: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """The two sets of ids: ``eval`` (EVAL_SIZE) and ``dev`` (DEV_SIZE), disjoint and without repeated texts."""
    seen, ids = set(), []
    for post_id in sorted(posts, key=lambda i: (len(i), i)):
        title, text = posts[post_id]
        key = (title, text)
        if not (title or text) or key in seen:
            continue
        seen.add(key)
        ids.append(post_id)
    random.Random(SEED).shuffle(ids)
    return {"eval": ids[:EVAL_SIZE], "dev": ids[EVAL_SIZE:EVAL_SIZE + DEV_SIZE]}


def show(posts: dict[str, tuple[str, str]], ids: list[str], start: int, stop: int) -> None:
    for number, post_id in enumerate(ids[start:stop], start + 1):
        title, text = posts[post_id]
        if len(text) > SHOW_LIMIT:
            text = f"{text[:SHOW_LIMIT - 300]} [...] {text[-300:]}"
        print(f"#{number} id={post_id}\n  【{title}】\n  {text}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("ids", "show"))
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--set", dest="which", choices=("eval", "dev"), default="eval")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--stop", type=int, default=None)
    args = parser.parse_args(argv)
    posts = read_posts(args.data)
    sets = samples(posts)
    if args.what == "ids":
        for name, ids in sets.items():
            print(name, " ".join(ids))
    else:
        show(posts, sets[args.which], args.start, args.stop or len(sets[args.which]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
