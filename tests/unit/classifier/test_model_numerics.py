"""Shortcuts in the model's arithmetic give the same floats, bit for bit, as the plain code."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.model import add_in_order


def add_one_column_at_a_time(products: np.ndarray, inputs: np.ndarray, weights: np.ndarray):
    out = products.copy()
    for j, row in enumerate(weights):
        out += inputs[:, j : j + 1] * row
    return out


@pytest.mark.parametrize("n_rows", [1, 8, 1000])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_add_in_order_adds_as_the_column_loop(n_rows: int, n_outputs: int) -> None:
    rng = np.random.default_rng(n_rows + n_outputs)
    n_inputs = 11
    # magnitudes spread over many orders, so that another summation order would round otherwise
    scale = 10.0 ** rng.integers(-8, 9, (n_rows, n_inputs))
    inputs = rng.standard_normal((n_rows, n_inputs)) * scale
    weights = rng.standard_normal((n_inputs, n_outputs))
    products = rng.standard_normal((n_rows, n_outputs)) * 1e3
    expected = add_one_column_at_a_time(products, inputs, weights)
    found = add_in_order(products, inputs, weights)
    assert found.shape == expected.shape
    assert np.array_equal(found, expected)
    if n_rows == 1000:  # the check can tell orders apart: a product summed otherwise differs
        assert not np.array_equal(products + inputs @ weights, expected)
