"""The serving feature steps' shortcuts give exactly what their plain definitions give."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from classifier.vectorize import Csr, DictFeatures, Tfidf, counts, hstack


def random_csr(rng: np.random.Generator, n_rows: int, n_cols: int, mean: int) -> Csr:
    """A CSR block with unsorted, repeated columns in a row and about a fifth of rows empty."""
    lengths = rng.integers(0, 2 * mean + 1, n_rows)
    lengths[rng.random(n_rows) < 0.2] = 0
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    n = int(indptr[-1])
    return Csr(rng.random(n), rng.integers(0, n_cols, n).astype(np.int32), indptr, n_cols)


def hstack_by_sort(blocks: list[Csr]) -> Csr:
    """The blocks side by side by a stable sort of the entries' row numbers (the former way)."""
    offsets = np.cumsum([0] + [b.n_cols for b in blocks])
    data = np.concatenate([b.data for b in blocks])
    indices = np.concatenate(
        [b.indices.astype(np.int64) + offset for b, offset in zip(blocks, offsets, strict=False)]
    ).astype(np.int32)
    order = np.argsort(np.concatenate([b.row_ids() for b in blocks]), kind="stable")
    indptr = np.sum([b.indptr for b in blocks], axis=0)
    return Csr(data[order], indices[order], indptr, int(offsets[-1]))


def assert_same(a: Csr, b: Csr) -> None:
    assert a.n_cols == b.n_cols
    for name in ("data", "indices", "indptr"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("n_rows", [0, 1, 2, 7, 8, 16, 17, 100, 1000])
@pytest.mark.parametrize("n_blocks", [2, 3, 4])
def test_hstack_equals_the_stable_sort_of_row_numbers(n_rows: int, n_blocks: int) -> None:
    rng = np.random.default_rng(n_rows * 10 + n_blocks)
    blocks = [
        random_csr(rng, n_rows, int(rng.integers(1, 5000)), int(rng.integers(0, 50)))
        for _ in range(n_blocks)
    ]
    stacked = hstack(blocks)
    assert_same(stacked, hstack_by_sort(blocks))
    scipy_stacked = sp.hstack([b.to_scipy() for b in blocks], format="csr")
    assert np.array_equal(stacked.to_scipy().toarray(), scipy_stacked.toarray())


def test_hstack_of_one_block_is_the_block() -> None:
    block = random_csr(np.random.default_rng(0), 5, 10, 3)
    assert hstack([block]) is block


def test_hstack_with_all_rows_empty_in_a_block() -> None:
    rng = np.random.default_rng(1)
    for n_rows in (1, 8, 40):
        empty = Csr(
            np.zeros(0), np.zeros(0, dtype=np.int32), np.zeros(n_rows + 1, dtype=np.int64), 7
        )
        blocks = [random_csr(rng, n_rows, 50, 4), empty, random_csr(rng, n_rows, 9, 2)]
        assert_same(hstack(blocks), hstack_by_sort(blocks))


def dict_features_by_definition(features: DictFeatures, rows: list[dict]) -> Csr:
    """Each row's known features sorted by column, string values as "name=value" = 1."""
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        entries = [
            (f"{f}{features.separator}{v}", 1.0) if isinstance(v, str) else (f, float(v))
            for f, v in row.items()
        ]
        found = sorted((features.vocabulary[f], v) for f, v in entries if f in features.vocabulary)
        indices += [j for j, _ in found]
        data += [v for _, v in found]
        indptr.append(len(indices))
    return Csr(
        np.asarray(data, dtype=np.float64),
        np.asarray(indices, dtype=np.int32),
        np.asarray(indptr, dtype=np.int64),
        len(features.vocabulary),
    )


def test_dict_features_equal_their_definition_on_repeated_and_varied_rows() -> None:
    vocabulary = {"z": 0, "b": 1, "kind=web": 2, "a": 3, "n": 4, "kind=mail": 5}
    features = DictFeatures(vocabulary)
    rows: list[dict] = [
        {"a": 0.5, "b": 0.0, "z": 2.0},
        {"a": 1.5, "b": 3.0, "z": -2.0},  # the same names: the cached layout
        {"z": 1.0, "a": 2.0},  # other names, other order
        {"a": True, "n": 3, "unknown": 9.0},  # bool and int values, a feature not known
        {},
        {"a": 1.0, "kind": "web", "z": np.float64(0.25)},  # a string and a numpy value
        {"unknown": 1.0},
        {"a": 0.5, "b": 0.0, "z": 2.0},
    ]
    for batch in (rows, rows[::-1], rows[:1], rows * 3):
        assert_same(features(batch), dict_features_by_definition(features, batch))
    assert "_layouts" not in pickle.loads(pickle.dumps(features)).__dict__


def counts_by_lexsort(columns: np.ndarray, lengths: np.ndarray, n_cols: int) -> Csr:
    """Occurrences per (row, column) by a lexsort of all entries (the former way)."""
    n_rows = len(lengths)
    rows = np.repeat(np.arange(n_rows), lengths)
    order = np.lexsort((columns, rows))
    rows, columns = rows[order], columns[order]
    first = np.ones(len(columns) + 1, dtype=bool)
    first[1:-1] = (columns[1:] != columns[:-1]) | (rows[1:] != rows[:-1])
    bounds = np.flatnonzero(first)
    starts = bounds[:-1]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[starts], minlength=n_rows), out=indptr[1:])
    found = (bounds[1:] - starts).astype(np.float64)
    return Csr(found, columns[starts].astype(np.int32), indptr, n_cols)


@pytest.mark.parametrize("n_rows", [0, 1, 2, 8, 17, 300])
@pytest.mark.parametrize("n_cols", [1, 200, 40_000, 70_000])
def test_counts_equal_a_lexsort_of_all_entries(n_rows: int, n_cols: int) -> None:
    rng = np.random.default_rng(n_rows + n_cols)
    lengths = rng.integers(0, 60, n_rows)
    lengths[rng.random(n_rows) < 0.25] = 0
    dtype = np.int32 if n_rows % 2 else np.int64
    columns = rng.integers(0, min(n_cols, 30 if n_cols > 1 else 1), lengths.sum()).astype(dtype)
    columns[::3] = rng.integers(0, n_cols, len(columns[::3]))  # some far apart
    assert_same(counts(columns, lengths, n_cols), counts_by_lexsort(columns, lengths, n_cols))


@pytest.mark.parametrize("n_rows", [0, 1, 8, 100])
@pytest.mark.parametrize("n_vecs", [1, 2, 7])
def test_dot_is_scipys_product_bit_for_bit(n_rows: int, n_vecs: int) -> None:
    rng = np.random.default_rng(n_rows * 7 + n_vecs)
    x = random_csr(rng, n_rows, 3000, 40)
    x = Csr(x.data * 1e3 - 500, x.indices, x.indptr, x.n_cols)  # mixed signs: cancellation
    weights = rng.standard_normal((3000, n_vecs))
    expected = np.asarray(x.to_scipy() @ weights)
    for other in (weights, np.asfortranarray(weights)):  # the kernel, and scipy's fallback
        product = x.dot(other)
        assert product.shape == expected.shape == (n_rows, n_vecs)
        assert product.dtype == expected.dtype
        assert np.array_equal(product, expected)


@pytest.mark.parametrize("sublinear_tf", [False, True])
@pytest.mark.parametrize("n_rows", [1, 2, 8, 200])
def test_tfidf_equals_scikit_learn_and_a_row_alone_equals_its_row_in_a_batch(
    n_rows: int, sublinear_tf: bool
) -> None:
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(n_rows + 10 * sublinear_tf)
    lengths = rng.integers(1, 81, n_rows)
    lengths[1:2] = 0  # an empty row among them
    x = counts(rng.integers(0, 500, lengths.sum()), lengths, 500)
    fitted = TfidfTransformer(sublinear_tf=sublinear_tf).fit(
        sp.csr_matrix(rng.integers(0, 3, (50, 500)).astype(float))
    )
    tfidf = Tfidf(fitted.idf_, sublinear_tf)
    batch = tfidf(x)
    expected = fitted.transform(x.to_scipy())
    assert np.allclose(batch.to_scipy().toarray(), expected.toarray(), rtol=1e-12, atol=0)
    for row in range(n_rows):
        start, end = x.indptr[row], x.indptr[row + 1]
        alone = tfidf(Csr(x.data[start:end], x.indices[start:end], np.array([0, end - start]), 500))
        assert np.array_equal(alone.data, batch.data[start:end])  # bit for bit
        assert np.array_equal(alone.indices, batch.indices[start:end])
    empty = tfidf(Csr(np.zeros(0), np.zeros(0, dtype=np.int32), np.array([0, 0]), 500))
    assert len(empty.data) == 0


def test_the_kernels_loaded_on_their_own_are_the_ones_scipy_sparse_uses() -> None:
    from scipy.sparse import _sparsetools

    from classifier import vectorize

    # loaded before scipy.sparse (at import of classifier.vectorize), and then shared by it
    assert vectorize._kernels is _sparsetools
    assert vectorize.sparse_kernels() is _sparsetools
