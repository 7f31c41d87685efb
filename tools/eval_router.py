"""Cross-validate the ticket router on a JSON-lines file of past tickets.

    python tools/eval_router.py --data FILE [--folds 5] [--words]

Each line holds ``title``, ``detail`` and ``category``. The last line printed is a JSON
object with ``accuracy`` and ``macro_f1``, for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script from a checkout: make the `gateway` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.router_model import RouterConfig, evaluate


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON object on each non-blank line of ``path``."""
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc


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
    result = evaluate(
        list(read_rows(args.data)), folds=args.folds, config=config, seed=args.seed
    )
    elapsed = time.perf_counter() - started

    print(
        f"tickets {result['n']} in {result['groups']} duplicate groups, {args.folds} folds"
    )
    print(f"config  {json.dumps(result['config'], ensure_ascii=False)}")
    print(f"{'category':<16}{'support':>8}{'F1':>8}")
    for category, f1 in result["per_class_f1"].items():
        print(f"{category:<16}{result['support'][category]:>8}{f1:>8.3f}")
    folds = " ".join(f"{f:.3f}" for f in result["fold_macro_f1"])
    print(f"macro-F1 per fold: {folds}")
    print(
        f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  ({elapsed:.0f} s)"
    )
    summary = {
        "accuracy": round(result["accuracy"], 4),
        "macro_f1": round(result["macro_f1"], 4),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
