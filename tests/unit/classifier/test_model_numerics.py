"""Shortcuts in the model's arithmetic give the same floats, bit for bit, as the plain code."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from classifier.model import (
    BINARY_HEADS,
    BinaryHeads,
    CategoryPriorityHeads,
    add_in_order,
    ordered_columns,
    topic_features,
)
from classifier.schemas import CATEGORIES, PRIORITIES


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


@pytest.mark.parametrize("n_rows", [1, 8, 1000])
def test_binary_heads_together_give_each_heads_own_probabilities(model, n_rows: int) -> None:
    heads = [model.heads[name] for name in BINARY_HEADS]
    rng = np.random.default_rng(n_rows)
    # decision values over the range the heads see and beyond (|value| up to ~40)
    products = rng.standard_normal((n_rows, len(heads))) * 10.0 ** rng.integers(-3, 2, (n_rows, 1))
    found = model.binary.positives(products)
    for i, head in enumerate(heads):
        expected = head.positive_of_products(products[:, i : i + 1])
        assert np.array_equal(found[:, i], expected), BINARY_HEADS[i]


def test_binary_heads_flip_a_head_whose_true_class_comes_first(model) -> None:
    head = model.heads["error_given"]
    flipped = replace(head, classes=np.array([True, False]))
    products = np.linspace(-5, 5, 21).reshape(-1, 1)
    both = BinaryHeads([head, flipped]).positives(np.hstack([products, products]))
    assert np.array_equal(both[:, 0], head.positive_of_products(products))
    assert np.array_equal(both[:, 1], flipped.positive_of_products(products))
    assert np.array_equal(both[:, 1], 1.0 - both[:, 0])
    with pytest.raises(ValueError, match="binary heads"):
        BinaryHeads([model.heads["category"]])


@pytest.mark.parametrize("n_rows", [1, 8, 1000])
def test_category_and_priority_together_give_each_heads_own_numbers(model, n_rows: int) -> None:
    category, priority = model.heads["category"], model.heads["priority"]
    rng = np.random.default_rng(100 + n_rows)
    scale = 10.0 ** rng.integers(-3, 2, (n_rows, 1))
    products = rng.standard_normal((n_rows, 8)) * scale
    products[0, :4] = 0.0  # a row of equal decision values
    pair = model.pair.probabilities(products)
    p_category = category.proba_of_products(products[:, :4])
    p_priority = priority.proba_of_products(products[:, 4:])
    assert np.array_equal(pair[:, 0], p_category)
    assert np.array_equal(pair[:, 1], p_priority)
    weight = 0.7
    expected = topic_features(
        ordered_columns(p_category, category.classes, CATEGORIES),
        ordered_columns(p_priority, priority.classes, PRIORITIES),
        weight,
    )
    assert np.array_equal(model.pair.topics(pair, weight), expected)


def test_category_and_priority_heads_follow_each_heads_class_order(model) -> None:
    category, priority = model.heads["category"], model.heads["priority"]
    # the priority head with its classes (and their columns) in another order
    turn = [2, 0, 3, 1]
    shuffled = replace(
        priority,
        classes=priority.classes[turn],
        intercept=priority.intercept[turn],
        a=priority.a[turn],
        b=priority.b[turn],
    )
    heads = CategoryPriorityHeads(category, shuffled)
    products = np.random.default_rng(3).standard_normal((5, 8))
    pair = heads.probabilities(products)
    assert np.array_equal(pair[:, 1], shuffled.proba_of_products(products[:, 4:]))
    expected = topic_features(
        ordered_columns(pair[:, 0], category.classes, CATEGORIES),
        ordered_columns(pair[:, 1], shuffled.classes, PRIORITIES),
        1.0,
    )
    assert np.array_equal(heads.topics(pair, 1.0), expected)
    with pytest.raises(ValueError, match="four labels"):
        CategoryPriorityHeads(category, model.heads["error_given"])


@pytest.mark.parametrize("n_rows", [1, 8, 1000])
def test_rows_rank_each_heads_guide_ordered_probabilities_as_two_argsorts(model, n_rows) -> None:
    """_rows from the pair side by side: what ordered_columns and an argsort per head gave."""
    category, priority = model.heads["category"], model.heads["priority"]
    rng = np.random.default_rng(200 + n_rows)
    products = rng.standard_normal((n_rows, 8)) * 10.0 ** rng.integers(-3, 2, (n_rows, 1))
    products[0, :4] = 0.0  # equal probabilities: ties ranked as the argsort ranks them
    products[-1, 4:] = 0.0
    pair = model.pair.probabilities(products)
    binary = rng.random((n_rows, len(BINARY_HEADS)))
    raw = {"_ordered": model.pair.ordered(pair), "_binary": binary}
    rows = model._rows(raw)
    p_cat = ordered_columns(pair[:, 0], category.classes, CATEGORIES)
    p_pri = ordered_columns(pair[:, 1], priority.classes, PRIORITIES)
    assert [r.category for r in rows] == p_cat.tolist()
    assert [r.priority for r in rows] == p_pri.tolist()
    assert [r.category_rank for r in rows] == np.argsort(-p_cat, axis=1)[:, :3].tolist()
    assert [r.priority_rank for r in rows] == np.argsort(-p_pri, axis=1)[:, :3].tolist()
    for i, name in enumerate(BINARY_HEADS):
        assert [getattr(r, name) for r in rows] == binary[:, i].tolist()
    # the runner-up a multi-issue ticket names: what an argsort of its own row gave
    for r in rows:
        assert r.category_rank[1] == int(np.argsort(-np.asarray(r.category))[1])
