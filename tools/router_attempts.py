"""Reproduce the router's table of attempts (docs/ROUTER.md): cross-validation on the four fifths, then the held-out fifth.

    python tools/router_attempts.py --data ../shared/data/board/router_dev.jsonl c12:svm=3 c13+w12:svm=0.5,logreg=20

Each attempt is ``FEATURES:CLASSIFIERS``. FEATURES joins blocks with ``+``: ``c12``/``c13``/``c24`` character
n-grams of title (twice) and detail, ``w11``/``w12`` jieba word n-grams, ``tc`` the title's characters alone.
CLASSIFIERS joins with ``,`` (their probabilities are averaged): ``svm=C`` (calibrated linear SVM), ``svmraw=C``
(uncalibrated, softmax of its margins), ``logreg=C``, ``cnb=alpha``, ``sgd=alpha`` (modified Huber).
``--self-train CUT --unlabelled FILE.csv [--unlabelled FILE.csv]`` adds the board's unlabelled messages (those near-same with no
ticket of the data file) that a first model labels with a probability of at least CUT, then trains again.

The split is `gateway.casework.router_split`; the held-out fifth is never used for fitting anything. The
features' vocabulary and IDF weights are fitted once on the four fifths' texts (with the unlabelled messages
when self-training, per fold), the classifiers on each fold's training part.
Prints one JSON line per attempt: cv_macro_f1/cv_accuracy (5 folds, reposts kept together) and
holdout_macro_f1/holdout_accuracy (trained on the four fifths).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from gateway.casework.learned_router import read_rows
from gateway.casework.router_model import jieba_words, normalize, ticket_text
from gateway.casework.router_split import duplicate_groups, holdout_split


class Words:
    """jieba segmentation, each text once."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if text not in self.seen:
            self.seen[text] = " ".join(jieba_words(text))
        return self.seen[text]


WORDS = Words()


def vectorizer(block: str) -> tuple[TfidfVectorizer, Any]:
    """The vectorizer of a feature block and the function giving its input from a row."""
    common: dict[str, Any] = {"min_df": 2, "sublinear_tf": True, "dtype": np.float32}
    if block[0] == "c":
        return TfidfVectorizer(analyzer="char", ngram_range=(int(block[1]), int(block[2])), **common), \
            lambda r: ticket_text(r.get("title"), r.get("detail"))
    if block[0] == "w":
        return TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False,
                               ngram_range=(int(block[1]), int(block[2])), **common), \
            lambda r: WORDS(ticket_text(r.get("title"), r.get("detail")))
    if block == "tc":
        return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), **common), lambda r: normalize(r.get("title"))
    raise SystemExit(f"unknown feature block {block!r}")


def features(spec: str, fit_rows: list[dict[str, Any]], *others: list[dict[str, Any]]) -> list[Any]:
    """Fit the blocks on ``fit_rows``; return the matrices of ``fit_rows`` and of each of ``others``."""
    mats: list[list[Any]] = [[] for _ in range(1 + len(others))]
    for block in spec.split("+"):
        vec, get = vectorizer(block)
        mats[0].append(vec.fit_transform([get(r) for r in fit_rows]))
        for i, part in enumerate(others, 1):
            mats[i].append(vec.transform([get(r) for r in part]))
    return [sp.hstack(m).tocsr() for m in mats]


def classifier(name: str) -> Any:
    kind, _, arg = name.partition("=")
    if kind == "svm":
        return CalibratedClassifierCV(LinearSVC(C=float(arg or 1), class_weight="balanced"), method="sigmoid", cv=3)
    if kind == "svmraw":
        return LinearSVC(C=float(arg or 1), class_weight="balanced")
    if kind == "logreg":
        return LogisticRegression(C=float(arg or 10), class_weight="balanced", max_iter=3000)
    if kind == "cnb":
        return ComplementNB(alpha=float(arg or 0.3))
    if kind == "sgd":
        return SGDClassifier(loss="modified_huber", alpha=float(arg or 1e-4), class_weight="balanced",
                             max_iter=50, random_state=0)
    raise SystemExit(f"unknown classifier {name!r}")


def probabilities(model: Any, x: Any) -> Any:
    if isinstance(model, LinearSVC):
        margins = model.decision_function(x)
        e = np.exp((margins - margins.max(1, keepdims=True)) * 5)
        return e / e.sum(1, keepdims=True)
    return model.predict_proba(x)


def fit_predict(names: str, a: Any, y: Any, b: Any) -> tuple[Any, Any]:
    votes, classes = [], None
    for name in names.split(","):
        model = classifier(name)
        model.fit(a, y)
        votes.append(probabilities(model, b))
        classes = model.classes_
    return classes, np.mean(votes, axis=0)


def self_trained(spec: str, names: str, train: list[dict[str, Any]], test: list[dict[str, Any]],
                 unlabelled: list[dict[str, Any]], cut: float) -> Any:
    """Label the unlabelled messages with a first model, keep those at or above ``cut``, train again."""
    y = np.array([r["category"] for r in train])
    a, u, b = features(spec, train + unlabelled, unlabelled, test)  # vocabulary from both kinds of text
    a = a[: len(train)]
    classes, pu = fit_predict(names, a, y, u)
    keep = pu.max(1) >= cut
    a2 = sp.vstack([a, u[keep]]).tocsr()
    y2 = np.concatenate([y, classes[pu.argmax(1)][keep]])
    classes, p = fit_predict(names, a2, y2, b)
    return classes[p.argmax(1)]


def read_unlabelled(paths: Sequence[Path], labelled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The board's CSV messages (留言主题, 留言详情) that are near-same with no labelled ticket."""
    extra = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            extra += [{"title": r.get("留言主题"), "detail": r.get("留言详情")} for r in csv.DictReader(f)]
    groups = duplicate_groups(labelled + extra)
    taken = set(groups[: len(labelled)])
    return [e for e, g in zip(extra, groups[len(labelled):], strict=True) if g not in taken]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--self-train", type=float, default=None, metavar="CUT")
    parser.add_argument("--unlabelled", type=Path, action="append", default=[], help="a board CSV (repeatable)")
    parser.add_argument("attempts", nargs="+", metavar="FEATURES:CLASSIFIERS")
    args = parser.parse_args(argv)
    rows = [r for r in read_rows(args.data) if r.get("category")]
    split = holdout_split(rows)
    rest, held = [rows[i] for i in split.rest], [rows[i] for i in split.holdout]
    y_rest, y_held = np.array([r["category"] for r in rest]), np.array([r["category"] for r in held])
    groups = np.array([split.groups[i] for i in split.rest])
    folds = list(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0).split(rest, y_rest, groups))
    unlabelled = read_unlabelled(args.unlabelled, rows) if args.self_train is not None else []
    for attempt in args.attempts:
        spec, names = attempt.split(":")
        started = time.perf_counter()
        predicted = np.empty_like(y_rest)
        if args.self_train is None:
            # the vocabulary and weights of the features come from the four fifths' texts (no labels), once
            a, b = features(spec, rest, held)
            for train_idx, test_idx in folds:
                classes, p = fit_predict(names, a[train_idx], y_rest[train_idx], a[test_idx])
                predicted[test_idx] = classes[p.argmax(1)]
            classes, p = fit_predict(names, a, y_rest, b)
            got = classes[p.argmax(1)]
        else:
            for train_idx, test_idx in folds:
                predicted[test_idx] = self_trained(spec, names, [rest[i] for i in train_idx],
                                                   [rest[i] for i in test_idx], unlabelled, args.self_train)
            got = self_trained(spec, names, rest, held, unlabelled, args.self_train)
        print(json.dumps({
            "attempt": attempt, "self_train": args.self_train,
            "cv_macro_f1": round(float(f1_score(y_rest, predicted, average="macro")), 4),
            "cv_accuracy": round(float(accuracy_score(y_rest, predicted)), 4),
            "holdout_macro_f1": round(float(f1_score(y_held, got, average="macro")), 4),
            "holdout_accuracy": round(float(accuracy_score(y_held, got)), 4),
            "seconds": round(time.perf_counter() - started),
        }), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
