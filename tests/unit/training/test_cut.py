"""The multi-issue cut: the middle of the cross-validated F1 plateau, not its noisy peak."""

from __future__ import annotations

import numpy as np

from training.fit import best_f1_cut


def test_the_cut_is_the_middle_of_the_f1_plateau():
    # 100 multi-issue tickets scored 0.9, 300 others 0.1: every cut from 0.2 to 0.8 is perfect,
    # but one multi-issue ticket scored 0.29 makes the cuts up to 0.28 a hair better
    p = np.array([0.9] * 100 + [0.29] + [0.1] * 300)
    gold = np.array([True] * 101 + [False] * 300)
    assert best_f1_cut(p, gold) == 0.5  # the middle of 0.20-0.80
    # without tolerance, the middle of the peak alone (0.20-0.28)
    assert best_f1_cut(p, gold, tolerance=0.0) == 0.24
    # a clear optimum is kept: negatives up to 0.45 and positives from 0.55
    p = np.concatenate([np.linspace(0.0, 0.45, 300), np.linspace(0.55, 1.0, 100)])
    gold = np.array([False] * 300 + [True] * 100)
    assert 0.46 <= best_f1_cut(p, gold) <= 0.54
