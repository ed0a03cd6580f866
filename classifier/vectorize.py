"""Fitted feature extraction as plain data: the serving side of the feature unions.

Training fits scikit-learn objects (training/features.py); `training/compile.py` turns them into
the classes here, which hold only vocabularies, idf vectors and settings and compute the same
matrix with numpy. Serving never imports scikit-learn: it costs a second of imports (with scipy
.stats and pandas) and unpickling its objects another.

The steps pass CSR matrices as their arrays (`Csr`) and make one scipy matrix at the end:
scipy's constructors, checks and stacking cost tens of microseconds a call, which was most of a
single ticket's feature time. Serving does not even import scipy.sparse: the products run
scipy's compiled kernel, loaded on its own (`sparse_kernels`).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from operator import is_not
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

# Up to this many rows (the service's micro-batches), per-row Python beats numpy calls.
SMALL_BATCH = 16
INT32_MAX = int(np.iinfo(np.int32).max)
KERNELS = "scipy.sparse._sparsetools"


def sparse_kernels() -> Any:
    """scipy's compiled sparse kernels (`scipy.sparse._sparsetools`, where scipy's own CSR
    products run) without scipy.sparse's Python package.

    Importing scipy.sparse takes a quarter of a second at every start (it imports scipy's
    array-API layer, and with it numpy.f2py and numpy.testing) while serving needs only
    csr_matvec and csr_matvecs. The extension module is loaded from its file in scipy's
    directory instead, in under a millisecond; the module scipy.sparse uses, if it is already
    imported, or the regular import if the file is not where scipy keeps it."""
    if KERNELS in sys.modules:
        return sys.modules[KERNELS]
    import scipy  # the top-level package alone: about 20 ms

    directory = Path(scipy.__file__).parent / "sparse"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"_sparsetools{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(KERNELS, str(path))
            spec = importlib.util.spec_from_file_location(KERNELS, path, loader=loader)
            if spec is not None:
                module = importlib.util.module_from_spec(spec)
                # registered as importlib's recipe does: scipy.sparse then imports this one
                sys.modules.setdefault(KERNELS, module)
                loader.exec_module(module)
                return sys.modules[KERNELS]
    from scipy.sparse import _sparsetools

    return _sparsetools


_kernels = sparse_kernels()


@dataclass(frozen=True)
class Csr:
    """A CSR matrix as its arrays."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_cols: int

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row_lengths(self) -> np.ndarray:
        # slicing, not np.diff: a Python-level function whose overhead (~5 us) counts for one
        # ticket, where a dozen of these run
        return self.indptr[1:] - self.indptr[:-1]

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_rows), self.row_lengths())

    def to_scipy(self) -> sp.csr_matrix:
        import scipy.sparse as sp  # training, tests and dot's fallback; serving never needs it

        return sp.csr_matrix(
            (self.data, self.indices, self.indptr), shape=(self.n_rows, self.n_cols), copy=False
        )

    def dot(self, other: np.ndarray) -> np.ndarray:
        """self @ other for a dense matrix (n_cols, k): the result of `to_scipy() @ other`,
        bit for bit, by the same scipy kernel (csr_matvec for one column, else csr_matvecs,
        as scipy dispatches) without the matrix's construction and checks (~25 us a call)."""
        if not (
            other.__class__ is np.ndarray
            and other.ndim == 2
            and other.shape[0] == self.n_cols
            and other.flags.c_contiguous
            and self.data.dtype == np.float64
            and other.dtype == np.float64
            and self.indices.dtype == np.int32
            and len(self.indptr) > 1
            and self.indptr[-1] <= INT32_MAX
        ):
            return np.asarray(self.to_scipy() @ other)
        # int32 row pointers as scipy makes them (it takes the narrowest type for both)
        indptr = self.indptr.astype(np.int32)
        n_rows, n_vecs = self.n_rows, other.shape[1]
        if n_vecs == 1:
            result = np.zeros(n_rows, dtype=np.float64)
            _kernels.csr_matvec(
                n_rows, self.n_cols, indptr, self.indices, self.data, other.ravel(), result
            )
            return result.reshape(n_rows, 1)
        out = np.zeros((n_rows, n_vecs), dtype=np.float64)
        _kernels.csr_matvecs(
            n_rows, self.n_cols, n_vecs, indptr, self.indices, self.data, other.ravel(), out.ravel()
        )
        return out


def counts(columns: np.ndarray, lengths: np.ndarray, n_cols: int) -> Csr:
    """Occurrences per row and column from each row's columns (`lengths[i]` of them for row i),
    columns sorted within a row: the canonical form scipy's sum_duplicates gives.

    Each row's columns are sorted on their own, as the narrowest unsigned type that holds the
    column numbers: numpy sorts 16-bit integers by radix, in linear time. That is 3x faster
    than a lexsort by (row, column) for a batch (which was 3x faster than np.unique of
    row * n_cols + column as int64 keys), and no row numbers are needed: a row's pairs end
    where the row does."""
    n_rows = len(lengths)
    # sorted in place: astype made `narrow` a copy
    narrow = columns.astype(np.min_scalar_type(max(n_cols - 1, 0)))
    if n_rows == 1:  # one ticket: no row edges to keep
        narrow.sort(kind="stable")
    else:
        edges = np.zeros(n_rows + 1, dtype=np.int64)  # where each row's columns start, the end
        np.add.accumulate(lengths, out=edges[1:])  # np.cumsum, without its Python wrapper
        for start, end in pairwise(edges.tolist()):
            narrow[start:end].sort(kind="stable")
    columns = narrow
    # where a (row, column) pair starts, and the end of the last one (np.ones, np.flatnonzero
    # and np.searchsorted as their steps, without the Python wrappers)
    first = np.empty(len(columns) + 1, dtype=bool)
    first[0] = first[-1] = True
    np.not_equal(columns[1:], columns[:-1], out=first[1:-1])
    if n_rows != 1:
        first[edges[1:-1]] = True  # a row's first column starts a pair
    bounds = first.nonzero()[0]
    starts = bounds[:-1]
    if n_rows == 1:
        indptr = np.array([0, len(starts)], dtype=np.int64)
    else:
        indptr = starts.searchsorted(edges)  # the pairs that start before each row's start
    found = bounds[1:] - starts
    return Csr(found.astype(np.float64), columns[starts].astype(np.int32), indptr, n_cols)


def hstack(blocks: list[Csr]) -> Csr:
    """The blocks side by side (scipy.sparse.hstack): each row holds its entries of the first
    block, then of the second, ...

    No sort: a few rows are cut from the blocks and joined in row order (a dozen slices cost
    less than the numpy calls); more rows are scattered, each block's entries to where its part
    of their row starts (a stable argsort of the row numbers, as this was, gives the same
    order and was most of the time for a batch)."""
    if len(blocks) == 1:
        return blocks[0]
    offsets = [0]
    for b in blocks:
        offsets.append(offsets[-1] + b.n_cols)
    indptr = blocks[0].indptr + blocks[1].indptr
    for b in blocks[2:]:
        indptr += b.indptr
    # int32 columns: the int32 indices plus an offset that fits (NEP 50 keeps int32 for a
    # Python int; a total past int32 raises instead of wrapping)
    shifted = [
        (b.indices + offset).astype(np.int32, copy=False)
        for b, offset in zip(blocks, offsets, strict=False)
    ]
    n_rows = len(indptr) - 1
    if n_rows <= SMALL_BATCH:
        if n_rows <= 1:  # one ticket (or none): the blocks in turn
            data_parts, index_parts = [b.data for b in blocks], shifted
        else:
            bounds = [b.indptr.tolist() for b in blocks]
            data_parts, index_parts = [], []
            for row in range(n_rows):
                for b, columns, ptr in zip(blocks, shifted, bounds, strict=True):
                    start, end = ptr[row], ptr[row + 1]
                    data_parts.append(b.data[start:end])
                    index_parts.append(columns[start:end])
        data = np.concatenate(data_parts)
        indices = np.concatenate(index_parts)
        return Csr(data, indices, indptr, offsets[-1])
    total = int(indptr[-1])
    data = np.empty(total, dtype=np.result_type(*(b.data for b in blocks)))
    indices = np.empty(total, dtype=np.int32)
    start = indptr[:-1].copy()  # where each row's part of the next block goes
    for b, columns in zip(blocks, shifted, strict=True):
        lengths = b.row_lengths()
        destination = (start - b.indptr[:-1]).repeat(lengths)
        destination += np.arange(len(b.data))
        data[destination] = b.data
        indices[destination] = columns
        start += lengths
    return Csr(data, indices, indptr, offsets[-1])


@dataclass
class Tfidf:
    """TfidfTransformer(norm="l2", use_idf=True).transform's arithmetic on counts."""

    idf: np.ndarray
    sublinear_tf: bool

    def __call__(self, x: Csr) -> Csr:
        data = x.data.astype(np.float64)
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf[x.indices]
        if x.n_rows == 1:
            # one row (a ticket alone): its norm without the row bookkeeping. The running sum
            # of its squares adds them one after another from zero, as bincount does: the
            # same float; sqrt and division are exactly rounded wherever they run. (The sum
            # is np.cumsum's ufunc without its Python wrapper, ~3 us a call.)
            norm = float(np.sqrt(np.add.accumulate(data**2)[-1])) if len(data) else 0.0
            data /= norm if norm != 0 else 1.0
            return Csr(data, x.indices, x.indptr, x.n_cols)
        lengths = x.row_lengths()
        rows = np.arange(x.n_rows).repeat(lengths)
        norms = np.sqrt(np.bincount(rows, weights=data**2, minlength=x.n_rows))
        norms[norms == 0] = 1.0
        data /= norms.repeat(lengths)
        return Csr(data, x.indices, x.indptr, x.n_cols)


class WordNgrams:
    """CountVectorizer(analyzer="word", lowercase=True).transform for a regex token pattern:
    the texts lower-cased, the pattern's matches, n-grams of them joined by spaces (the same
    terms as scikit-learn's analyzer, in the same order), counted against the vocabulary."""

    def __init__(self, token_pattern: str, ngram_range: tuple[int, int], vocabulary: dict):
        self.token_pattern = token_pattern
        self.ngram_range = ngram_range
        self.vocabulary = {str(term): int(j) for term, j in vocabulary.items()}
        self._findall = re.compile(token_pattern).findall

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_findall"]  # a compiled pattern; rebuilt on load
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._findall = re.compile(self.token_pattern).findall

    def analyze(self, text: str) -> list[str]:
        """The terms of one text (scikit-learn's `build_analyzer()(text)`)."""
        tokens = self._findall(text.lower())
        low, high = self.ngram_range
        if high == 1:
            return tokens
        terms = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
            # n-grams from n shifted views of the tokens (zip stops at the shortest), joined in
            # C: no Python-level loop per n-gram
            shifted = (tokens[i:] for i in range(n))
            terms.extend(map(" ".join, zip(*shifted, strict=False)))
        return terms

    def __call__(self, texts: Sequence[str]) -> Csr:
        find = self.vocabulary.get
        known = partial(is_not, None)  # a C-level filter of the look-ups' misses
        columns: list[int] = []
        lengths: list[int] = []
        for text in texts:
            before = len(columns)
            columns.extend(cast(Iterator[int], filter(known, map(find, self.analyze(text)))))
            lengths.append(len(columns) - before)
        return counts(
            np.array(columns, dtype=np.int64),
            np.array(lengths, dtype=np.int64),
            len(self.vocabulary),
        )


def word_char_ngrams(word: str, low: int, high: int) -> list[str]:
    """Character n-grams of one word padded with spaces (as scikit-learn's 'char_wb')."""
    padded = f" {word} "
    grams: list[str] = []
    for n in range(low, high + 1):
        if n > len(padded):
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class CharNgramColumns:
    """Character n-grams inside words (as analyzer="char_wb") looked up in `vocabulary_`, with
    each word's columns cached: tickets repeat their words, so this is a dictionary look-up per
    word instead of a Python loop over every n-gram (about 10x faster). Shared by the fitted
    scikit-learn transformer (training) and its compiled form (`CharNgrams`)."""

    ngram_range: tuple[int, int]
    vocabulary_: dict[str, int]
    cache_size: int

    def _columns(self, word: str, cache: dict[str, np.ndarray]) -> np.ndarray:
        found = cache.get(word)
        if found is None:
            low, high = self.ngram_range
            vocabulary = self.vocabulary_
            found = np.array(
                [vocabulary[g] for g in word_char_ngrams(word, low, high) if g in vocabulary],
                dtype=np.int32,
            )
            if len(cache) >= self.cache_size:
                cache.clear()
            cache[word] = found
        return found

    def columns(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary columns of every text's n-grams, all texts concatenated, and how many
        belong to each text."""
        cache = self.__dict__.setdefault("_cache", {})
        parts: list[np.ndarray] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            words = text.lower().split()
            try:  # most words are cached: plain look-ups, no method call per word
                found = [cache[w] for w in words]
            except KeyError:
                found = [self._columns(w, cache) for w in words]
            parts.extend(found)
            lengths[row] = sum(map(len, found))
        columns = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return columns, lengths

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)  # rebuilt on use; never pickled
        return state


class CharNgrams(CharNgramColumns):
    """A fitted CharNgramCounter as data: its settings and vocabulary; counts per text."""

    def __init__(self, ngram_range: tuple[int, int], vocabulary: dict, cache_size: int):
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.vocabulary_ = {str(gram): int(j) for gram, j in vocabulary.items()}
        self.cache_size = cache_size

    def __call__(self, texts: Sequence[str]) -> Csr:
        return counts(*self.columns(texts), len(self.vocabulary_))


class DictFeatures:
    """DictVectorizer.transform: known features, sorted by column, zeros kept as stored entries
    (as scikit-learn does); a string value v of feature f is the feature "f<separator>v" = 1."""

    def __init__(self, vocabulary: dict, separator: str = "="):
        self.vocabulary = {str(name): int(j) for name, j in vocabulary.items()}
        self.separator = separator

    def _entry(self, name: str, value: Any) -> tuple[str, float]:
        if isinstance(value, str):
            return f"{name}{self.separator}{value}", 1.0
        if isinstance(value, (int, float, np.number)):
            return name, float(value)
        raise TypeError(f"feature {name!r}: unsupported value type {type(value).__name__}")

    def __call__(self, rows: Sequence[dict[str, Any]]) -> Csr:
        vocabulary = self.vocabulary
        # per tuple of feature names (rows repeat them): their known columns, sorted, and the
        # positions of their values in the row
        layouts = self.__dict__.setdefault("_layouts", {})
        data: list[float] = []
        indices: list[int] = []
        indptr = [0]
        for row in rows:
            values = list(row.values())
            if all(type(v) in (float, int, bool) for v in values):
                names = tuple(row)
                layout = layouts.get(names)
                if layout is None:
                    known = sorted(
                        (vocabulary[f], i) for i, f in enumerate(names) if f in vocabulary
                    )
                    layout = ([j for j, _ in known], [i for _, i in known])
                    if len(layouts) >= 1_000:
                        layouts.clear()
                    layouts[names] = layout
                indices.extend(layout[0])
                data.extend([float(values[i]) for i in layout[1]])
            else:
                entries = (self._entry(f, v) for f, v in row.items())
                found = sorted((vocabulary[f], float(v)) for f, v in entries if f in vocabulary)
                indices.extend(j for j, _ in found)
                data.extend(v for _, v in found)
            indptr.append(len(indices))
        return Csr(
            np.asarray(data, dtype=np.float64),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int64),
            len(vocabulary),
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_layouts", None)  # rebuilt on use; never pickled
        return state


@dataclass
class FeatureUnion:
    """A fitted scikit-learn FeatureUnion compiled to steps: per part, the functions applied
    in turn (selection, counting, tf-idf), the parts' matrices side by side."""

    parts: list[list[Callable[[Any], Any]]]

    def transform(self, rows: Sequence[Any]) -> sp.csr_matrix:
        return self.transform_arrays(rows).to_scipy()

    def transform_arrays(self, rows: Sequence[Any]) -> Csr:
        """The matrix as its arrays (what `transform` makes a scipy matrix of)."""
        blocks = []
        for steps in self.parts:
            data: Any = rows
            for step in steps:
                data = step(data)
            blocks.append(data)
        return hstack(blocks)
