"""The scikit-learn feature unions the heads are trained on, and our estimators in them.

Training only: `training/compile.py` turns the fitted unions into classifier/vectorize.py's
plain-data steps for serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from classifier.features import _lemmas, _numeric, _subject_numeric, _subjects, _texts
from classifier.vectorize import CharNgramColumns, word_char_ngrams

# the word n-grams' tokens: words of 2+ characters that may hold ' and -, and 1-char words
TOKEN_PATTERN = r"(?u)\b\w[\w'-]*\w\b|\b\w\b"


def build_featurizer(
    use_signals: bool = True, max_char_features: int = 60_000, max_word_features: int = 30_000
) -> FeatureUnion:
    """Word n-grams on lemmas + character n-grams on the text (+ signal and rule features)."""
    parts: list[tuple[str, Any]] = [
        (
            "words",
            Pipeline(
                [
                    ("select", FunctionTransformer(_lemmas)),
                    (
                        "tfidf",
                        TfidfVectorizer(
                            ngram_range=(1, 2),
                            min_df=2,
                            max_df=0.9,
                            sublinear_tf=True,
                            max_features=max_word_features,
                            token_pattern=TOKEN_PATTERN,
                        ),
                    ),
                ]
            ),
        ),
        (
            "chars",
            Pipeline(
                [
                    ("select", FunctionTransformer(_texts)),
                    ("counts", CharNgramCounter((2, 5), 3, max_char_features)),
                    ("tfidf", TfidfTransformer(sublinear_tf=True)),
                ]
            ),
        ),
    ]
    if use_signals:
        parts.append(
            (
                "numeric",
                Pipeline([("select", FunctionTransformer(_numeric)), ("dict", DictVectorizer())]),
            )
        )
    return FeatureUnion(parts)


class CharNgramCounter(CharNgramColumns, BaseEstimator, TransformerMixin):
    """Counts character n-grams inside words, like CountVectorizer(analyzer="char_wb"), with
    each word's columns cached (`CharNgramColumns`); compiled to `CharNgrams` for serving."""

    def __init__(
        self,
        ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 3,
        max_features: int | None = 60_000,
        cache_size: int = 200_000,
    ):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.cache_size = cache_size

    def fit(self, texts: Sequence[str], y: Any = None) -> CharNgramCounter:
        low, high = self.ngram_range
        df: dict[str, int] = {}
        for text in texts:
            for gram in {g for w in text.lower().split() for g in word_char_ngrams(w, low, high)}:
                df[gram] = df.get(gram, 0) + 1
        kept = [g for g, count in df.items() if count >= self.min_df]
        if self.max_features is not None and len(kept) > self.max_features:
            kept = sorted(kept, key=lambda g: (-df[g], g))[: self.max_features]
        self.vocabulary_ = {gram: i for i, gram in enumerate(sorted(kept))}
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        columns, lengths = self.columns(texts)
        rows = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
        matrix = sp.csr_matrix(
            (np.ones(columns.shape[0]), (rows, columns)),
            shape=(len(texts), len(self.vocabulary_)),
        )
        matrix.sum_duplicates()
        return matrix

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = np.empty(len(self.vocabulary_), dtype=object)
        for gram, i in self.vocabulary_.items():
            names[i] = gram
        return names


class BlockScaler(BaseEstimator, TransformerMixin):
    """Multiplies the columns from `start` on (the signal and rule block) by `weight`: each head
    decides how loud the hand-made features speak next to the n-grams."""

    def __init__(self, start: int = 0, weight: float = 1.0):
        self.start = start
        self.weight = weight

    def fit(self, x: Any, y: Any = None) -> BlockScaler:
        scale = np.ones(x.shape[1])
        scale[self.start :] = self.weight
        self.scale_ = sp.diags(scale).tocsr()
        return self

    def transform(self, x: Any) -> Any:
        return sp.csr_matrix(x) @ self.scale_


def build_subject_featurizer() -> FeatureUnion:
    """Features of the subject line alone (is it descriptive?)."""
    return FeatureUnion(
        [
            (
                "chars",
                Pipeline(
                    [
                        ("select", FunctionTransformer(_subjects)),
                        ("counts", CharNgramCounter((2, 4), 2, 20_000)),
                        ("tfidf", TfidfTransformer(sublinear_tf=True)),
                    ]
                ),
            ),
            (
                "numeric",
                Pipeline(
                    [("select", FunctionTransformer(_subject_numeric)), ("dict", DictVectorizer())]
                ),
            ),
        ]
    )
