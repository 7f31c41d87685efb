"""The router's fixed held-out fifth: a seeded, stratified split that keeps reposts together.

Pure standard library, so the split is the same on every machine and every library version:

- **Duplicate groups.** Two tickets are one group when their bodies (detail, else title) start with the
  same 30 letters and digits, or when their texts are near-same: the Jaccard similarity of their
  character 5-gram sets is at least ``NEAR_SAME`` (candidates come from a bottom-k sketch of each text,
  then the exact Jaccard decides). Groups are closed under both relations (union-find).
- **Seeded order.** A group's key is the smallest body key of its members, so the split depends on
  the texts, not on the order of the file; groups are ordered by ``sha256(seed:key)``.
- **Stratified.** A group counts for the category most of its members carry; in each category, groups
  are taken in that order until the held-out part holds ``fraction`` of the category's tickets.

Nothing of the data is stored in the repository: ``docs/router_holdout.txt`` lists the ids and a short
digest of each held-out ticket (ids repeat in the board's public copies), written by
``hotline router split``, so that a later run can check it chose the same tickets.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

SEED: Final = 20261207
FRACTION: Final = 0.2
NEAR_SAME: Final = 0.4  # Jaccard of character 5-gram sets
SHINGLE: Final = 5
SKETCH: Final = 24  # bottom-k hashes per text used to find candidate pairs

_EXCEL_CR: Final = re.compile(r"_x000[dD]_")
_NOT_WORD: Final = re.compile(r"[\W_]+")


def letters(text: str | None) -> str:
    """Letters and digits only, full-width folded, export artefacts dropped."""
    if not text:
        return ""
    return _NOT_WORD.sub("", _EXCEL_CR.sub("", unicodedata.normalize("NFKC", text)))


def body(row: Mapping[str, Any]) -> str:
    """The ticket's body, the part reposts share: its detail, else its title."""
    return letters(row.get("detail")) or letters(row.get("title"))


def digest(row: Mapping[str, Any]) -> str:
    """A short fingerprint of a ticket's text (ids alone are not unique in the board's copies)."""
    text = letters(row.get("title")) + "|" + body(row)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _shingles(text: str) -> set[str]:
    if len(text) <= SHINGLE:
        return {text} if text else set()
    return {text[i : i + SHINGLE] for i in range(len(text) - SHINGLE + 1)}


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def duplicate_groups(rows: Sequence[Mapping[str, Any]], near_same: float = NEAR_SAME) -> list[int]:
    """One group number per row; reposts and near-same texts share one (numbered by first row)."""
    groups = _Groups(len(rows))
    first: dict[str, int] = {}
    texts = [letters(r.get("title")) + body(r) for r in rows]
    for i, row in enumerate(rows):
        key = body(row)[:30]
        if key:
            groups.join(first.setdefault(key, i), i)
    shingles = [_shingles(t) for t in texts]
    by_hash: dict[int, list[int]] = defaultdict(list)
    for i, sh in enumerate(shingles):
        for h in heapq.nsmallest(SKETCH, {_hash(s) for s in sh}):
            by_hash[h].append(i)
    checked: set[tuple[int, int]] = set()
    for members in by_hash.values():
        for x, a in enumerate(members):
            for b in members[x + 1 :]:
                if (a, b) in checked or groups.find(a) == groups.find(b):
                    continue
                checked.add((a, b))
                sa, sb = shingles[a], shingles[b]
                inter = len(sa & sb)
                if inter and inter / (len(sa) + len(sb) - inter) >= near_same:
                    groups.join(a, b)
    return [groups.find(i) for i in range(len(rows))]


@dataclass(frozen=True)
class Split:
    """Row indices of the held-out part and of the rest, and the duplicate group of every row."""

    holdout: list[int]
    rest: list[int]
    groups: list[int]


def holdout_split(rows: Sequence[Mapping[str, Any]], fraction: float = FRACTION, seed: int = SEED) -> Split:
    """Choose the held-out rows: stratified by category, whole duplicate groups, seeded order."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    groups = duplicate_groups(rows)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    label_of: dict[int, str] = {}
    key_of: dict[int, str] = {}
    for g, idx in members.items():
        counts = Counter(str(rows[i].get("category") or "") for i in idx)
        label_of[g] = min(counts, key=lambda c: (-counts[c], c))
        key_of[g] = min(digest(rows[i]) for i in idx)
    by_label: dict[str, list[int]] = defaultdict(list)
    for g, label in label_of.items():
        by_label[label].append(g)
    held: set[int] = set()
    for label, gs in sorted(by_label.items()):
        target = round(fraction * sum(len(members[g]) for g in gs))
        taken = 0
        for g in sorted(gs, key=lambda g: hashlib.sha256(f"{seed}:{key_of[g]}".encode()).hexdigest()):
            if taken >= target:
                break
            held.add(g)
            taken += len(members[g])
    holdout = [i for i, g in enumerate(groups) if g in held]
    rest = [i for i, g in enumerate(groups) if g not in held]
    return Split(holdout, rest, groups)


def holdout_lines(rows: Sequence[Mapping[str, Any]], split: Split) -> list[str]:
    """The record kept in the repository: one ``id<TAB>digest`` line per held-out ticket, sorted."""
    return sorted(f"{rows[i].get('id', '')}\t{digest(rows[i])}" for i in split.holdout)


__all__ = ["FRACTION", "NEAR_SAME", "SEED", "Split", "body", "digest", "duplicate_groups", "holdout_lines",
           "holdout_split", "letters"]
