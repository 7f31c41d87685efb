"""A learned router: ticket text -> category, trained on a city's own past tickets.

Pure: no Flask, database or queue; scikit-learn only (jieba when word features are on).

The model is character n-gram TF-IDF (Chinese needs no segmentation for it), optionally
joined with jieba word n-grams, feeding a class-balanced linear SVM whose scores are
calibrated (sigmoid, 3-fold) into probabilities. The confidence of a prediction is the
calibrated probability of the chosen category.

Saved models are pickles (joblib): load only files this system wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from gateway.casework.router_split import duplicate_groups as near_same_groups

FORMAT: Final = "gateway.casework.router_model/1"

# Excel exports of the board carry carriage returns as this literal text.
_EXCEL_CR: Final = re.compile(r"_x000[dD]_")
_SPACE: Final = re.compile(r"\s+")
_NOT_WORD: Final = re.compile(r"[\W_]+")


class RouterModelError(ValueError):
    """Raised for unusable training data or a model file this code cannot read."""


@dataclass(frozen=True)
class RouterConfig:
    """The knobs of the model; the defaults are the best measured on the board data."""

    # Kept after the attempts of docs/ROUTER.md (CV on the four fifths 0.889, held-out fifth 0.921;
    # jieba words, naive Bayes, SGD and votes did not beat it). Earlier, on all 4,098 tickets, macro-F1:
    # chars 1-3 0.890, chars 1-2 0.891 (and faster), + jieba words 1-2 0.890 (4x slower),
    # title twice 0.893, C=3 0.894, both 0.895; C=0.5 0.883, details cut to 400 0.885.
    char_ngrams: tuple[int, int] = (1, 2)
    char_min_df: int = 2
    word_ngrams: tuple[int, int] | None = None  # jieba words; None = characters only
    title_weight: int = 2  # times the title is repeated before the detail
    max_chars: int | None = None  # cut long details; None = keep all
    C: float = 3.0
    class_weight: str | None = "balanced"
    calibration_folds: int = 3
    # The classifiers whose probabilities are averaged (soft vote): "svm" (the calibrated linear
    # SVM above), "logreg" (logistic regression, C=logreg_C), "cnb" (complement naive Bayes).
    models: tuple[str, ...] = ("svm",)
    logreg_C: float = 20.0
    nb_alpha: float = 0.3


@dataclass
class RouterModel:
    """A trained router; ``predict`` gives the category and a confidence in [0, 1]."""

    pipeline: Pipeline
    labels: tuple[str, ...]
    config: RouterConfig
    trained_on: int
    versions: dict[str, str] = field(default_factory=dict)

    def predict(self, title: str | None, detail: str | None) -> tuple[str, float]:
        """Return the most likely category and its calibrated probability."""
        return self.predict_many([(title, detail)])[0]

    def predict_many(
        self, items: Iterable[tuple[str | None, str | None]]
    ) -> list[tuple[str, float]]:
        """Predict for many (title, detail) pairs at once."""
        return self._predict_texts([ticket_text(t, d, self.config) for t, d in items])

    def _predict_texts(self, texts: list[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        proba = self.pipeline.predict_proba(texts)
        classes = self.pipeline.classes_
        best = proba.argmax(axis=1)
        return [(str(classes[i]), float(proba[row, i])) for row, i in enumerate(best)]

    def save(self, path: str | Path) -> None:
        """Write the model with a format tag and the library versions it was trained with."""
        payload = {
            "format": FORMAT,
            "versions": self.versions,
            "config": asdict(self.config),
            "labels": list(self.labels),
            "trained_on": self.trained_on,
            "pipeline": self.pipeline,
        }
        joblib.dump(payload, path)

    @classmethod
    def load(cls, path: str | Path) -> RouterModel:
        """Read a model written by :meth:`save`; refuse other formats."""
        try:
            payload = joblib.load(path)
        except FileNotFoundError:
            raise
        except Exception as exc:  # a file that is not a joblib pickle fails in many ways
            raise RouterModelError(f"{path} is not a model file ({type(exc).__name__}: {exc})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise RouterModelError(f"{path} is not a {FORMAT} model file")
        cfg = dict(payload["config"])
        for key in ("char_ngrams", "word_ngrams", "models"):
            if cfg.get(key) is not None:
                cfg[key] = tuple(cfg[key])
        return cls(
            pipeline=payload["pipeline"],
            labels=tuple(payload["labels"]),
            config=RouterConfig(**cfg),
            trained_on=int(payload["trained_on"]),
            versions=dict(payload["versions"]),
        )


def normalize(text: str | None) -> str:
    """Fold full-width forms, drop export artefacts and collapse whitespace."""
    if not text:
        return ""
    text = _EXCEL_CR.sub(" ", unicodedata.normalize("NFKC", text))
    return _SPACE.sub(" ", text).strip()


def ticket_text(
    title: str | None, detail: str | None, config: RouterConfig | None = None
) -> str:
    """Join a ticket's title and detail into the one text the model reads."""
    config = config or RouterConfig()
    t, d = normalize(title), normalize(detail)
    if config.max_chars is not None:
        d = d[: config.max_chars]
    if not t:
        return d
    return "。".join([t] * config.title_weight + ([d] if d else []))


def jieba_words(text: str) -> list[str]:
    """Segment Chinese text into words with jieba (module-level so models pickle)."""
    import jieba  # optional dependency: only models with word features need it

    jieba.setLogLevel(60)
    return [w for w in jieba.lcut(text) if w.strip()]


def build_pipeline(config: RouterConfig) -> Pipeline:
    """Return the untrained feature + classifier pipeline for ``config``."""
    char = TfidfVectorizer(
        analyzer="char",
        ngram_range=config.char_ngrams,
        min_df=config.char_min_df,
        sublinear_tf=True,
        dtype=np.float32,
    )
    features: Any = char
    if config.word_ngrams is not None:
        words = TfidfVectorizer(
            tokenizer=jieba_words,
            token_pattern=None,
            lowercase=False,
            ngram_range=config.word_ngrams,
            min_df=2,
            sublinear_tf=True,
            dtype=np.float32,
        )
        features = FeatureUnion([("char", char), ("word", words)])
    return Pipeline([("features", features), ("clf", _classifier(config))])


def _classifier(config: RouterConfig) -> Any:
    """One classifier, or a soft vote of several, each giving probabilities."""
    made: dict[str, Any] = {}
    for name in config.models:
        if name == "svm":
            svm = LinearSVC(C=config.C, class_weight=config.class_weight)
            made[name] = CalibratedClassifierCV(svm, method="sigmoid", cv=config.calibration_folds)
        elif name == "logreg":
            made[name] = LogisticRegression(C=config.logreg_C, class_weight=config.class_weight, max_iter=3000)
        elif name == "cnb":
            made[name] = ComplementNB(alpha=config.nb_alpha)
        else:
            raise RouterModelError(f"unknown classifier {name!r} (svm, logreg, cnb)")
    if not made:
        raise RouterModelError("no classifier configured")
    if len(made) == 1:
        return next(iter(made.values()))
    return VotingClassifier(list(made.items()), voting="soft")


def _examples(
    rows: Iterable[Mapping[str, Any]], config: RouterConfig
) -> tuple[list[str], list[str], list[str]]:
    """Return model texts, labels and the bodies (detail, else title) that reposts share."""
    texts, labels, bodies = [], [], []
    for row in rows:
        category = row.get("category")
        text = ticket_text(row.get("title"), row.get("detail"), config)
        if not category or not text:
            continue  # nothing to learn from a row without a label or without text
        texts.append(text)
        labels.append(str(category))
        bodies.append(normalize(row.get("detail")) or normalize(row.get("title")))
    return texts, labels, bodies


def _check_trainable(labels: Sequence[str], min_per_class: int) -> None:
    counts = Counter(labels)
    if len(counts) < 2:
        raise RouterModelError(
            f"need at least two categories to train, got {sorted(counts)}"
        )
    thin = {c: n for c, n in counts.items() if n < min_per_class}
    if thin:
        raise RouterModelError(
            f"need at least {min_per_class} tickets per category, got {thin}"
        )


def _fit(texts: list[str], labels: list[str], config: RouterConfig) -> RouterModel:
    pipeline = build_pipeline(config)
    pipeline.fit(texts, labels)
    versions = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    return RouterModel(
        pipeline, tuple(sorted(set(labels))), config, len(texts), versions
    )


def train(
    rows: Iterable[Mapping[str, Any]], config: RouterConfig | None = None
) -> RouterModel:
    """Train a router on rows with ``title``, ``detail`` (either may be empty) and ``category``."""
    config = config or RouterConfig()
    texts, labels, _ = _examples(rows, config)
    _check_trainable(labels, config.calibration_folds)
    return _fit(texts, labels, config)


def duplicate_groups(bodies: Sequence[str]) -> list[int]:
    """Give reposts of one message one group id, so that cross-validation keeps them together.

    Reposts differ in spacing, punctuation, export artefacts or a dropped title, so the
    key is the first 30 letters and digits of the message body (its detail).
    """
    ids: dict[str, int] = {}
    groups = []
    for body in bodies:
        key = _NOT_WORD.sub("", normalize(body))[:30]
        groups.append(ids.setdefault(key, len(ids)))
    return groups


def evaluate(
    rows: Iterable[Mapping[str, Any]],
    folds: int = 5,
    config: RouterConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Cross-validate: stratified k folds that keep reposts and near-same texts together.

    Returns pooled out-of-fold ``accuracy``, ``macro_f1`` and ``per_class_f1``, the
    per-fold figures, and the counts behind them.
    """
    config = config or RouterConfig()
    rows = [r for r in rows if r.get("category") and ticket_text(r.get("title"), r.get("detail"), config)]
    texts, labels, _ = _examples(rows, config)
    _check_trainable(labels, folds)
    groups = near_same_groups(rows)
    y = np.asarray(labels)
    predicted = np.empty_like(y)
    fold_acc, fold_f1 = [], []
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(texts, y, groups):
        model = _fit(
            [texts[i] for i in train_idx], [labels[i] for i in train_idx], config
        )
        got = [c for c, _ in model._predict_texts([texts[i] for i in test_idx])]
        predicted[test_idx] = got
        fold_acc.append(accuracy_score(y[test_idx], got))
        fold_f1.append(f1_score(y[test_idx], got, average="macro"))
    classes = sorted(set(labels))
    per_class = f1_score(y, predicted, labels=classes, average=None)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro")),
        "per_class_f1": {c: float(f) for c, f in zip(classes, per_class, strict=True)},
        "support": dict(sorted(Counter(labels).items())),
        "fold_accuracy": [float(a) for a in fold_acc],
        "fold_macro_f1": [float(f) for f in fold_f1],
        "folds": folds,
        "n": len(texts),
        "groups": len(set(groups)),
        "config": asdict(config),
    }


def score(
    model: RouterModel, rows: Sequence[Mapping[str, Any]], threshold: float
) -> dict[str, Any]:
    """Score a trained model on labelled rows (``title``, ``detail``, ``category``).

    Per category precision, recall, F1 and support; the confusion matrix (rows: the true
    category, columns: the predicted one, in ``labels`` order); accuracy and macro-F1 over the
    model's labels; and, at ``threshold`` (the profile's ``[router] threshold``), the share of
    tickets whose confidence is below it (they go to the office's triage queue unless a keyword
    decides) and the accuracy of the rest. Rows must carry text and a label the model knows.
    """
    if not rows:
        raise RouterModelError("no labelled tickets to score")
    truth = [str(r["category"]) for r in rows]
    got = model.predict_many([(r.get("title"), r.get("detail")) for r in rows])
    predicted = [c for c, _ in got]
    confident = [p >= threshold for _, p in got]
    labels = list(model.labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    kept = [i for i, ok in enumerate(confident) if ok]
    return {
        "n": len(rows),
        "labels": labels,
        "per_category": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion": confusion_matrix(truth, predicted, labels=labels).tolist(),
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        ),
        "threshold": threshold,
        "triage_rate": 1 - len(kept) / len(rows),
        "accuracy_not_triaged": (
            float(accuracy_score([truth[i] for i in kept], [predicted[i] for i in kept]))
            if kept
            else None
        ),
    }


__all__ = [
    "FORMAT",
    "RouterConfig",
    "RouterModel",
    "RouterModelError",
    "build_pipeline",
    "duplicate_groups",
    "evaluate",
    "normalize",
    "score",
    "ticket_text",
    "train",
]
