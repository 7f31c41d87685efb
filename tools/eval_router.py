"""Cross-validate the ticket router on a JSON-lines file of past tickets.

    python tools/eval_router.py --data FILE [--folds 5] [--words]

Each line holds ``title``, ``detail`` and ``category``. The last line printed is a JSON
object with ``accuracy`` and ``macro_f1``, for scripts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script from a checkout: make the `gateway` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.casework.learned_router import evaluation_lines, read_rows
from gateway.casework.router_model import RouterConfig, evaluate


def main(argv: Sequence[str] | None = None) -> int:
    """Print cross-validated accuracy, macro-F1 and per-class F1; end with a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="JSON-lines tickets")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--words", action="store_true", help="add jieba word 1-2-grams")
    args = parser.parse_args(argv)

    config = RouterConfig(word_ngrams=(1, 2)) if args.words else RouterConfig()
    started = time.perf_counter()
    result = evaluate(list(read_rows(args.data)), folds=args.folds, config=config, seed=args.seed)
    print("\n".join(evaluation_lines(result, time.perf_counter() - started)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
