from __future__ import annotations

import pytest

from dedupe.metrics import bcubed, pairwise

GOLD = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}


@pytest.mark.parametrize(
    ("predicted", "pw", "b3"),
    [
        (dict(GOLD), (1.0, 1.0), (1.0, 1.0)),
        # everything apart: no predicted pairs (precision 1 by convention), nothing found
        ({k: k for k in GOLD}, (1.0, 0.0), (1.0, (1 / 3 * 3 + 1 + 1) / 5)),
        # everything together: 10 pairs predicted, 3 right
        ({k: 0 for k in GOLD}, (0.3, 1.0), ((3 * 3 / 5 + 1 / 5 + 1 / 5) / 5, 1.0)),
        # c split off, d wrongly joined to a+b
        ({"a": 1, "b": 1, "c": 9, "d": 1, "e": 3}, (1 / 3, 1 / 3), ((2 / 3 * 2 + 1 / 3 + 1 + 1) / 5, (2 / 3 * 2 + 1 / 3 + 1 + 1) / 5)),
    ],
)
def test_pairwise_and_bcubed_on_known_examples(predicted, pw, b3):
    p = pairwise(GOLD, predicted)
    b = bcubed(GOLD, predicted)
    assert (p.precision, p.recall) == pytest.approx(pw)
    assert (b.precision, b.recall) == pytest.approx(b3)
    assert p.f1 == pytest.approx(2 * pw[0] * pw[1] / (pw[0] + pw[1]) if sum(pw) else 0.0)


def test_items_missing_from_one_side_are_ignored():
    assert pairwise({"a": 1, "b": 1}, {"a": 5, "b": 5, "z": 5}).f1 == 1.0
