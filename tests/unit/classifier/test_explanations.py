"""Top terms of an explanation: the batch partition gives what an argsort per row gave."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from classifier.model import TERM_CANDIDATES, TicketClassifier, _readable, term_table


def argsort_top_terms(weights: np.ndarray, x: sp.csr_matrix, row: int, names, k: int) -> list[str]:
    """The former per-row code: an argsort of all the row's products (quicksort ties)."""
    start, end = x.indptr[row], x.indptr[row + 1]
    indices = x.indices[start:end]
    contributions = x.data[start:end] * weights[indices]
    order = np.argsort(-contributions)[: TERM_CANDIDATES * k]
    shown: list[str] = []
    for term in [_readable(names[indices[i]]) for i in order if contributions[i] > 0]:
        # a term saying no more than one shown before it is left out
        if len(shown) < k and not any(term.strip("“”") in t.strip("“”") for t in shown):
            shown.append(term)
    return shown


def test_top_terms_match_the_argsort_per_row_ties_included():
    rng = np.random.default_rng(7)
    n_rows, n_features = 300, 40
    # few distinct values, so that equal products (ties) are common; negatives and zeros too
    x = sp.random(n_rows, n_features, density=0.3, random_state=rng, format="csr")
    x.data = rng.choice([0.25, 0.5, 1.0, 2.0], size=x.nnz)
    coef = rng.choice([-1.0, 0.0, 0.5, 1.0, 1.5], size=(3, n_features)).astype(np.float32)
    # the three kinds of feature names (each made readable its own way, then cached)
    kinds = ("words__w", "chars__ ab", "numeric__sig_")
    names = np.array([f"{kinds[j % 3]}{j} " for j in range(n_features)], dtype=object)
    labels = ["a", "b", "c"]
    # what _top_terms reads of a TicketClassifier
    model = SimpleNamespace(
        term_weights={"head": (np.ascontiguousarray(coef), {"a": 0, "b": 1, "c": 2})},
        fitted=SimpleNamespace(feature_names=names),
    )
    rows = [labels[i % 3] if i % 11 else "unknown" for i in range(n_rows)]
    for k in (1, 5, 12):
        found = TicketClassifier._top_terms(model, "head", rows, x, k)
        expected = [
            argsort_top_terms(coef[labels.index(label)], x, i, names, k) if label in labels else []
            for i, label in enumerate(rows)
        ]
        assert found == expected
        single = [
            TicketClassifier._top_terms(model, "head", [label], x[i], k)[0]
            for i, label in enumerate(rows)
        ]
        assert single == expected
    assert TicketClassifier._top_terms(model, "none", rows, x) == [[] for _ in rows]


def test_explained_terms_of_a_few_rows_match_top_terms_per_head():
    """The side-by-side gather for a few rows gives each head's _top_terms, ties included."""
    rng = np.random.default_rng(11)
    n_features = 40
    kinds = ("words__w", "chars__ ab", "numeric__sig_")
    names = np.array([f"{kinds[j % 3]}{j} " for j in range(n_features)], dtype=object)
    # float32 weights as stored, with few distinct values (ties) and negatives and zeros
    coefs = {
        head: rng.choice([-1.0, 0.0, 0.5, 1.0, 1.5, 0.1], size=(4, n_features)).astype(np.float32)
        for head in ("category", "priority")
    }
    labels = {"category": ["a", "b", "c", "d"], "priority": ["P1", "P2", "P3", "P4"]}
    term_weights = {
        head: (np.ascontiguousarray(coef), {label: i for i, label in enumerate(labels[head])})
        for head, coef in coefs.items()
    }
    model = SimpleNamespace(
        term_weights=term_weights,
        term_table=term_table(term_weights),
        fitted=SimpleNamespace(feature_names=names),
    )
    model._top_terms = partial(TicketClassifier._top_terms, model)
    for n_rows in (1, 2, 8, 16, 17, 40):
        x = sp.random(n_rows, n_features, density=0.4, random_state=rng, format="csr")
        x.data = rng.choice([0.25, 0.5, 1.0, 2.0, 0.3], size=x.nnz)
        rows = {
            head: [known[i % 4] if i % 5 != 4 else "unknown" for i in range(n_rows)]
            for head, known in labels.items()
        }
        for k in (1, 5):
            found = TicketClassifier._explained_terms(
                model, rows["category"], rows["priority"], x, k
            )
            expected = tuple(
                TicketClassifier._top_terms(model, head, rows[head], x, k)
                for head in ("category", "priority")
            )
            assert found == expected
            assert any(found[0]) and any(found[1])


def test_terms_saying_no_more_are_left_out():
    names = np.array(
        [
            "words__vps",
            "chars__ vps",
            "chars__vp",
            "words__down",
            "numeric__sig_domain",
            "words__vps down",
            "numeric__rule_category:infrastructure",
        ],
        dtype=object,
    )
    x = sp.csr_matrix(np.ones((1, len(names))))
    coef = np.array([[7, 6, 5, 4, 3, 2, 1]], dtype=np.float32)
    model = SimpleNamespace(
        term_weights={"head": (coef, {"a": 0})}, fitted=SimpleNamespace(feature_names=names)
    )
    assert TicketClassifier._top_terms(model, "head", ["a"], x, 3) == [
        ["vps", "down", "signal: a domain"]
    ]
    assert TicketClassifier._top_terms(model, "head", ["a"], x, 5) == [
        ["vps", "down", "signal: a domain", "vps down", "rules: infrastructure"]
    ]
