"""The learned router in the running gateway: where the model file lives, loading it once, reading ticket files."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from gateway.casework.router_model import RouterModel, RouterModelError, normalize
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

MODEL_FILE = "router_model.joblib"


def model_path(rt: Runtime) -> Path:
    """HOTLINE_ROUTER_MODEL, or router_model.joblib in the data folder."""
    return Path(rt.settings.router_model_path or Path(rt.settings.data_dir) / MODEL_FILE)


def loaded_model(rt: Runtime) -> RouterModel | None:
    """The trained model, read once per process (again when the file changes); None when there is none."""
    path = model_path(rt)
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    cached = rt.router_model
    if cached is not None and cached[0] == (str(path), stamp):
        return cached[1]
    try:
        model = RouterModel.load(path)
    except (RouterModelError, OSError, ValueError) as exc:
        log.error("router model %s unusable, routing by rules only: %s", path, exc)
        return None
    rt.router_model = ((str(path), stamp), model)
    return model


def predict(rt: Runtime, title: str | None, text: str | None) -> tuple[str, float] | None:
    """The model's (board label, probability) for a ticket, or None without a model."""
    model = loaded_model(rt)
    return model.predict(title, text) if model is not None else None


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON object on each non-blank line of a JSON-lines ticket file."""
    for _, row in numbered_rows(path):
        yield row


def numbered_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, JSON object) for each non-blank line; a clear error for anything else."""
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RouterModelError(f"{path}:{number}: not JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise RouterModelError(f"{path}:{number}: not a JSON object")
                yield number, row
    except UnicodeDecodeError as exc:
        raise RouterModelError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RouterModelError(f"{path}: cannot read ({exc.strerror})") from None


def labelled_rows(path: Path, labels: Sequence[str]) -> list[dict[str, Any]]:
    """The tickets of a labelled file for scoring a model: each needs text and one of ``labels``."""
    rows = []
    for number, row in numbered_rows(path):
        category = row.get("category")
        if not isinstance(category, str) or not category.strip():
            raise RouterModelError(f"{path}:{number}: no category")
        if category not in labels:
            raise RouterModelError(f"{path}:{number}: unknown category {category!r}; "
                                   f"the model knows {', '.join(labels)}")
        for key in ("title", "detail"):
            if row.get(key) is not None and not isinstance(row[key], str):
                raise RouterModelError(f"{path}:{number}: {key} is not text")
        if not normalize(row.get("title")) and not normalize(row.get("detail")):
            raise RouterModelError(f"{path}:{number}: no title or detail text")
        rows.append(row)
    if not rows:
        raise RouterModelError(f"{path}: no tickets")
    return rows


def score_lines(result: dict[str, Any], model_file: Path, data: Path) -> list[str]:
    """A model's figures on a labelled file, ending with one JSON line holding all of them."""
    labels = result["labels"]
    lines = [f"model {model_file} on {data}: {result['n']} tickets",
             f"{'category':<16}{'support':>8}{'P':>8}{'R':>8}{'F1':>8}"]
    for c in labels:
        m = result["per_category"][c]
        lines.append(f"{c:<16}{m['support']:>8}{m['precision']:>8.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}")
    lines.append("confusion (rows: true category, columns: predicted, in the order above)")
    for c, row in zip(labels, result["confusion"], strict=True):
        lines.append(f"{c:<16}" + "".join(f"{n:>6}" for n in row))
    kept = result["accuracy_not_triaged"]
    lines.append(f"triage at threshold {result['threshold']}: {result['triage_rate']:.1%} of tickets; accuracy of "
                 f"the rest {'-' if kept is None else f'{kept:.4f}'}")
    lines.append(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}")
    summary = {k: result[k] for k in ("n", "threshold", "triage_rate", "accuracy_not_triaged", "per_category")}
    summary["per_category"] = {c: {k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}
                               for c, m in result["per_category"].items()}
    summary["confusion"] = {"labels": labels, "matrix": result["confusion"]}
    for key in ("triage_rate", "accuracy_not_triaged"):
        if summary[key] is not None:
            summary[key] = round(summary[key], 4)
    summary["accuracy"] = round(result["accuracy"], 4)
    summary["macro_f1"] = round(result["macro_f1"], 4)
    lines.append(json.dumps(summary, ensure_ascii=False))
    return lines


def evaluation_lines(result: dict[str, Any], elapsed: float) -> list[str]:
    """The human-readable evaluation, ending with one JSON line holding accuracy and macro_f1."""
    lines = [f"tickets {result['n']} in {result['groups']} duplicate groups, {result['folds']} folds",
             f"config  {json.dumps(result['config'], ensure_ascii=False)}",
             f"{'category':<16}{'support':>8}{'F1':>8}"]
    for category, f1 in result["per_class_f1"].items():
        lines.append(f"{category:<16}{result['support'][category]:>8}{f1:>8.3f}")
    lines.append("macro-F1 per fold: " + " ".join(f"{f:.3f}" for f in result["fold_macro_f1"]))
    lines.append(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  ({elapsed:.0f} s)")
    lines.append(json.dumps({"accuracy": round(result["accuracy"], 4), "macro_f1": round(result["macro_f1"], 4)}))
    return lines
