"""`hotline eval appeal`: score the appeal-type guess (adapters/appeal.py) on hand-labelled posts.

The posts are read at run time from the file given (the board's CSV, or JSON lines), never copied: the
labels file holds ``source_file,row_id,label`` only (tests/fixtures/appeal_labels.csv, written by hand by
docs/labelling/appeal_types.md). A post the guess leaves without a type counts as wrong for recall and
accuracy, and is shown in the confusion matrix's column "—".
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from adapters.appeal import Guess
from adapters.base import APPEAL_TYPES

NO_GUESS = "—"
CONSULTATION = "咨询"  # the one type that changes the deadline (gateway/casework/sla.py rule_for)
BANDS = ((0.8, "≥0.8"), (0.6, "0.6-0.8"), (0.0, "<0.6"))  # confidence bands: how far a guess's confidence can be trusted
BOARD_COLUMNS = ("留言编号", "留言主题", "留言详情")  # id, title, text in the board's CSV files


class AppealEvalError(ValueError):
    """The data or the labels cannot be used; the message names the file and the line or column."""


@dataclass(frozen=True)
class Post:
    id: str
    title: str
    text: str


def read_posts(path: Path) -> dict[str, Post]:
    """id -> Post, from the board's CSV (留言编号, 留言主题, 留言详情; or id, title, text) or JSON lines (id, title,
    detail or text)."""
    if path.suffix.lower() in (".jsonl", ".json"):
        return _read_jsonl(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = _columns(path, reader.fieldnames or [])
        return {str(row[columns[0]]).strip(): Post(str(row[columns[0]]).strip(), (row.get(columns[1]) or "").strip(),
                                                   (row.get(columns[2]) or "").strip()) for row in reader}


def _columns(path: Path, names: Sequence[str]) -> tuple[str, str, str]:
    for wanted in (BOARD_COLUMNS, ("id", "title", "text")):
        if wanted[0] in names and wanted[2] in names:
            return wanted
    raise AppealEvalError(f"{path}: needs the columns {','.join(BOARD_COLUMNS)} or id,title,text; has {','.join(names)}")


def _read_jsonl(path: Path) -> dict[str, Post]:
    posts = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AppealEvalError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or row.get("id") in (None, ""):
                raise AppealEvalError(f"{path}:{number}: needs an object with an id")
            posts[str(row["id"])] = Post(str(row["id"]), str(row.get("title") or ""),
                                         str(row.get("detail") or row.get("text") or ""))
    return posts


def read_labels(path: Path, source_file: str) -> dict[str, str]:
    """row_id -> label for the rows of ``source_file`` (the data file's name) in a source_file,row_id,label CSV."""
    labels: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"source_file", "row_id", "label"} <= set(reader.fieldnames or []):
            raise AppealEvalError(f"{path}: needs the columns source_file,row_id,label")
        for number, row in enumerate(reader, 2):
            if row["source_file"].strip() != source_file:
                continue
            label = row["label"].strip()
            if label not in APPEAL_TYPES:
                raise AppealEvalError(f"{path}:{number}: label {label!r} is not one of {'/'.join(APPEAL_TYPES)}")
            labels[row["row_id"].strip()] = label
    if not labels:
        raise AppealEvalError(f"{path}: no labels for {source_file}")
    return labels


def evaluate(posts: Mapping[str, Post], labels: Mapping[str, str],
             guess: Callable[[str, str], Guess | None]) -> dict[str, Any]:
    """Guess every labelled post and score the guesses against the labels."""
    missing = sorted(set(labels) - set(posts))
    if missing:
        raise AppealEvalError(f"{len(missing)} labelled ids are not in the data file (first: {missing[0]})")
    predicted, confidence = {}, {}
    for post_id in labels:
        found = guess(posts[post_id].title, posts[post_id].text)
        predicted[post_id] = found.appeal_type if found else NO_GUESS
        if found:
            confidence[post_id] = found.confidence
    return {**score(labels, predicted), "by_confidence": by_confidence(labels, predicted, confidence),
            "wrong": sorted(i for i in labels if predicted[i] != labels[i])}


def by_confidence(gold: Mapping[str, str], predicted: Mapping[str, str], confidence: Mapping[str, float]
                  ) -> dict[str, dict[str, Any]]:
    """Per confidence band of the guesses: how many, and how many of them right."""
    bands: dict[str, dict[str, Any]] = {name: {"guessed": 0, "right": 0} for _, name in BANDS}
    for post_id, value in confidence.items():
        name = next(name for floor, name in BANDS if value >= floor)
        bands[name]["guessed"] += 1
        bands[name]["right"] += predicted[post_id] == gold[post_id]
    for band in bands.values():
        band["accuracy"] = _ratio(band["right"], band["guessed"])
    return bands


def score(gold: Mapping[str, str], predicted: Mapping[str, str]) -> dict[str, Any]:
    """Per-type precision/recall/F1, accuracy, coverage, macro-F1 (over the types the labels hold), the confusion
    matrix and what the consultation deadline gets right and wrong."""
    pairs = Counter((gold[i], predicted.get(i, NO_GUESS)) for i in gold)
    n = len(gold)
    present = [kind for kind in APPEAL_TYPES if any(label == kind for label in gold.values())]
    per_type = {kind: _prf(pairs, kind) for kind in APPEAL_TYPES}
    guessed = sum(v for (_, p), v in pairs.items() if p != NO_GUESS)
    right = sum(v for (g, p), v in pairs.items() if g == p)
    return {
        "posts": n,
        "guessed": guessed,
        "coverage": _ratio(guessed, n),
        "accuracy": _ratio(right, n),
        "accuracy_guessed": _ratio(right, guessed),
        "macro_f1": round(sum(per_type[k]["f1"] for k in present) / len(present), 4) if present else 0.0,
        "per_type": per_type,
        "confusion": {g: {p: pairs[(g, p)] for p in (*APPEAL_TYPES, NO_GUESS)} for g in APPEAL_TYPES},
        "consultation": _deadline(pairs),
    }


def _prf(pairs: Counter, kind: str) -> dict[str, Any]:
    tp = pairs[(kind, kind)]
    guessed = sum(v for (_, p), v in pairs.items() if p == kind)
    support = sum(v for (g, _), v in pairs.items() if g == kind)
    precision, recall = _ratio(tp, guessed), _ratio(tp, support)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    return {"support": support, "guessed": guessed, "precision": precision, "recall": recall, "f1": f1}


def _deadline(pairs: Counter) -> dict[str, int]:
    """What the consultation rule (24 h 办结 for 咨询) gets: right, given wrongly, missed."""
    return {
        "right": pairs[(CONSULTATION, CONSULTATION)],
        "given_wrongly": sum(v for (g, p), v in pairs.items() if p == CONSULTATION and g != CONSULTATION),
        "missed": sum(v for (g, p), v in pairs.items() if g == CONSULTATION and p != CONSULTATION),
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def report_lines(result: Mapping[str, Any], data_name: str) -> list[str]:
    """The scores for a person, ending with one JSON line (without the list of wrong ids)."""
    lines = [f"{result['posts']} labelled posts of {data_name}: {result['guessed']} guessed "
             f"({result['coverage']:.1%}), {result['posts'] - result['guessed']} without a guess",
             f"{'type':<6}{'labels':>7}{'guessed':>8}{'P':>7}{'R':>7}{'F1':>7}"]
    for kind, row in result["per_type"].items():
        lines.append(f"{kind:<6}{row['support']:>7}{row['guessed']:>8}{row['precision']:>7.3f}{row['recall']:>7.3f}"
                     f"{row['f1']:>7.3f}")
    lines.append(f"accuracy {result['accuracy']:.3f} (no guess counts as wrong), {result['accuracy_guessed']:.3f} of "
                 f"the guessed; macro-F1 {result['macro_f1']:.3f} over the types the labels hold")
    deadline = result["consultation"]
    lines.append(f"咨询 (the consultation deadline): {deadline['right']} right, {deadline['given_wrongly']} given to "
                 f"posts that are not consultations, {deadline['missed']} consultations missed")
    if "by_confidence" in result:
        lines.append("by confidence: " + ", ".join(f"{name} {band['right']}/{band['guessed']} right"
                                                   for name, band in result["by_confidence"].items()))
    lines.extend(_matrix(result["confusion"]))
    lines.append(json.dumps({k: v for k, v in result.items() if k != "wrong"}, ensure_ascii=False))
    return lines


def _matrix(confusion: Mapping[str, Mapping[str, int]]) -> Iterable[str]:
    columns = (*APPEAL_TYPES, NO_GUESS)
    yield "confusion (rows: label, columns: guess)"
    yield "      " + "".join(f"{c:>5}" for c in columns)
    for kind, row in confusion.items():
        if any(row.values()):
            yield f"{kind:<6}" + "".join(f"{row[c]:>6}" for c in columns)
