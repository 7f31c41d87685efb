"""The learned router in the running gateway: where the model file lives, loading it once, reading ticket files."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.casework.router_model import RouterModel, RouterModelError
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
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RouterModelError(f"{path}:{number}: not JSON: {exc.msg}") from None


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
