"""Fitted scikit-learn objects -> the serving artifact's plain data (classifier/vectorize.py,
`LinearHead`). Done once, when the model is saved, so serving never imports scikit-learn.

Only the settings we train with are supported; anything else raises instead of compiling to
something that would compute other features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion as SklearnFeatureUnion
from sklearn.preprocessing import FunctionTransformer

from classifier.model import LinearHead, ServingModel, Thresholds
from classifier.vectorize import CharNgrams, DictFeatures, FeatureUnion, Tfidf, WordNgrams
from training.features import CharNgramCounter


@dataclass
class FittedModel:
    """The fitted scikit-learn pipelines and plain data that training produces (also what
    artifacts of format 1 held), before compilation."""

    featurizer: Any
    subject_featurizer: Any
    heads: dict[str, Any]
    coefficients: dict[str, np.ndarray]
    feature_names: np.ndarray
    thresholds: Thresholds
    lemma_tables: dict[str, dict[str, str]]
    use_signals: bool = True
    max_chars: int = 8_000
    multi_topic_weight: float = 0.0


class NotCompilable(TypeError):
    """A fitted step whose settings the serving steps do not reproduce."""


def _require(step: Any, **expected: Any) -> None:
    for name, value in expected.items():
        if getattr(step, name) != value:
            raise NotCompilable(
                f"{type(step).__name__}.{name}={getattr(step, name)!r}: only {value!r} compiles"
            )


def _tfidf(step: Any) -> Tfidf:
    _require(step, norm="l2", use_idf=True)
    return Tfidf(np.asarray(step.idf_, dtype=np.float64).copy(), bool(step.sublinear_tf))


def compile_step(step: Any) -> list[Any]:
    """The serving steps computing what one fitted pipeline step computes."""
    if isinstance(step, FunctionTransformer):
        _require(step, kw_args=None, validate=False)
        return [step.func]
    if isinstance(step, TfidfVectorizer):
        _require(
            step,
            input="content",
            analyzer="word",
            lowercase=True,
            preprocessor=None,
            tokenizer=None,
            stop_words=None,
            strip_accents=None,
            binary=False,
        )
        vocabulary = dict(sorted(step.vocabulary_.items(), key=lambda item: item[1]))
        words = WordNgrams(step.token_pattern, tuple(step.ngram_range), vocabulary)
        return [words, _tfidf(step)]
    if isinstance(step, TfidfTransformer):
        return [_tfidf(step)]
    if isinstance(step, DictVectorizer):
        return [DictFeatures(step.vocabulary_, step.separator)]
    if isinstance(step, CharNgramCounter):
        return [CharNgrams(step.ngram_range, step.vocabulary_, step.cache_size)]
    raise NotCompilable(f"no serving form for {type(step).__name__}")


def compile_union(union: SklearnFeatureUnion) -> FeatureUnion:
    if union.transformer_weights:
        raise NotCompilable("FeatureUnion.transformer_weights is not supported")
    return FeatureUnion(
        [
            [compiled for _, step in pipe.steps for compiled in compile_step(step)]
            for _, pipe in union.transformer_list
        ]
    )


def compile_model(fitted: FittedModel) -> ServingModel:
    """The serving artifact of a fitted model."""
    return ServingModel(
        featurizer=compile_union(fitted.featurizer),
        subject_featurizer=compile_union(fitted.subject_featurizer),
        heads={name: LinearHead.from_pipeline(head) for name, head in fitted.heads.items()},
        coefficients=fitted.coefficients,
        feature_names=fitted.feature_names,
        thresholds=fitted.thresholds,
        lemma_tables=fitted.lemma_tables,
        use_signals=fitted.use_signals,
        max_chars=fitted.max_chars,
        multi_topic_weight=fitted.multi_topic_weight,
    )
