"""Decision thresholds per class on cross-validated probabilities."""

from __future__ import annotations

import numpy as np

from training.fit import class_thresholds


def _plain(proba, classes, gold, precision, predicted, confidence):
    """Per class, sort its predictions by confidence; the lowest cut whose prefix reaches it."""
    cuts = {}
    for label in classes:
        mine = sorted(
            (
                (c, g == label)
                for c, p, g in zip(confidence, predicted, gold, strict=True)
                if p == label
            ),
            key=lambda t: -t[0],
        )
        ok = [
            mine[i][0]
            for i in range(len(mine))
            if sum(r for _, r in mine[: i + 1]) / (i + 1) >= precision
        ]
        cuts[label] = min(ok) if ok else 1.01
    return cuts


def test_argmax_classes_and_a_binary_head_cut_elsewhere():
    rng = np.random.default_rng(3)
    classes = ["a", "b", "c"]
    proba = rng.dirichlet([2, 1, 1], 400)
    gold = np.array(classes)[
        np.where(rng.random(400) < 0.7, proba.argmax(1), rng.integers(0, 3, 400))
    ]
    predicted = np.array(classes)[proba.argmax(1)]
    assert class_thresholds(proba, classes, gold, 0.8) == _plain(
        proba, classes, gold, 0.8, predicted, proba.max(1)
    )
    # a binary head decided at 0.3: "true" is given on less than even odds, and its
    # confidence is then the probability of "true", not the larger of the two
    p = rng.random(400)
    binary = np.column_stack([1 - p, p])
    given = np.where(p >= 0.3, "true", "false")
    truth = np.where(rng.random(400) < p + 0.1, "true", "false")
    confidence = np.where(given == "true", p, 1 - p)
    found = class_thresholds(binary, ["false", "true"], truth, 0.7, given)
    assert found == _plain(binary, ["false", "true"], truth, 0.7, given, confidence)
