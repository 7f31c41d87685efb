"""Measure a clustering of reports against gold groups: pairwise and B-cubed precision, recall, F1.

Both take ``dict item -> label``; items missing from one side are ignored (only shared items count).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Hashable, Mapping, TypeVar

_Item = TypeVar("_Item", bound=Hashable)  # what is clustered: report ids, names ...


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _groups(labels: Mapping[_Item, Hashable], items: set[_Item]) -> dict[Hashable, set[_Item]]:
    out: dict[Hashable, set[_Item]] = defaultdict(set)
    for item in items:
        out[labels[item]].add(item)
    return out


def _pairs(labels: Mapping[_Item, Hashable], items: set[_Item]) -> set[frozenset[_Item]]:
    pairs: set[frozenset[_Item]] = set()
    for members in _groups(labels, items).values():
        pairs.update(frozenset(p) for p in combinations(sorted(members, key=repr), 2))
    return pairs


def pairwise(gold: Mapping[_Item, Hashable], predicted: Mapping[_Item, Hashable]) -> PRF:
    """Precision/recall/F1 over the pairs of items put together; with no pairs on a side, that side scores 1."""
    items = set(gold) & set(predicted)
    gold_pairs, predicted_pairs = _pairs(gold, items), _pairs(predicted, items)
    common = len(gold_pairs & predicted_pairs)
    p = common / len(predicted_pairs) if predicted_pairs else 1.0
    r = common / len(gold_pairs) if gold_pairs else 1.0
    return PRF(p, r, _f1(p, r))


def bcubed(gold: Mapping[_Item, Hashable], predicted: Mapping[_Item, Hashable]) -> PRF:
    """B-cubed: per item, the share of its predicted cluster in its gold group (precision) and vice versa."""
    items = set(gold) & set(predicted)
    if not items:
        return PRF(1.0, 1.0, 1.0)
    gold_groups, predicted_groups = _groups(gold, items), _groups(predicted, items)
    p_sum = r_sum = 0.0
    for item in items:
        g, c = gold_groups[gold[item]], predicted_groups[predicted[item]]
        overlap = len(g & c)
        p_sum += overlap / len(c)
        r_sum += overlap / len(g)
    p, r = p_sum / len(items), r_sum / len(items)
    return PRF(p, r, _f1(p, r))
