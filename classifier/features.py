"""From tickets to model inputs: cleaning, language, spaCy lemmas, signals, rule hits, features.

`Analyzer` turns tickets into `Analysis` records; `build_featurizer` makes the (unfitted)
scikit-learn feature union the heads are trained on. Shared by serving and training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from classifier.rules import RULES_DIR, RuleHit, RuleSet, load_rule_file, rule_scores
from classifier.schemas import Ticket
from classifier.signals import SecretSpan, Signals, detect_signals, find_secrets
from classifier.text import CleanTicket, clean_ticket, detect_language, text_for_model

SPACY_BATCH = 256


@dataclass
class Analysis:
    """Everything the heads and the guide's logic need to know about one ticket."""

    clean: CleanTicket
    language: str
    language_fallback: bool
    text: str  # subject + own words, as written (char n-grams)
    lemmas: str  # the same, lower-cased and lemmatized (word n-grams)
    signals: Signals
    hits: list[RuleHit]
    subject_secrets: list[SecretSpan]
    body_secrets: list[SecretSpan]

    def record(self, use_signals: bool = True) -> dict[str, Any]:
        numeric: dict[str, float] = {}
        if use_signals:
            numeric.update(self.signals.features())
            numeric.update(rule_scores(self.hits))
        return {"text": self.text, "lemmas": self.lemmas, "numeric": numeric}


def build_nlp(language: str, lemma_table: dict[str, str]):
    """A blank spaCy pipeline with a lookup lemmatizer over the given table (no downloads)."""
    import spacy
    from spacy.lookups import Lookups

    nlp = spacy.blank(language)
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lookups = Lookups()
    lookups.add_table("lemma_lookup", lemma_table)
    lemmatizer.initialize(lookups=lookups)
    return nlp


class Analyzer:
    """Cleans, detects the language, lemmatizes and runs the detectors and rules.

    One spaCy pipeline per language is built once (on first use) from the lemma tables shipped
    inside the model artifact, so loading needs no spaCy data download or large table.
    """

    def __init__(
        self,
        lemma_tables: dict[str, dict[str, str]],
        max_chars: int = 20_000,
        rules_dir: Path = RULES_DIR,
    ):
        self.lemma_tables = lemma_tables
        self.max_chars = max_chars
        self.rules_dir = rules_dir
        self._nlp: dict[str, Any] = {}
        self._rules: dict[str, RuleSet] = {}

    def nlp(self, language: str):
        if language not in self._nlp:
            self._nlp[language] = build_nlp(language, self.lemma_tables.get(language, {}))
        return self._nlp[language]

    def rules(self, language: str) -> RuleSet:
        if language not in self._rules:
            rule_file = load_rule_file(self.rules_dir / f"{language}.json")
            self._rules[language] = RuleSet(rule_file, self.nlp(language))
        return self._rules[language]

    def warm_up(self) -> None:
        for language in ("nl", "fr", "en"):
            self.rules(language)
        detect_language("warm up")

    def analyze(self, tickets: Sequence[Ticket]) -> list[Analysis]:
        cleaned = [clean_ticket(t.subject, t.body, self.max_chars) for t in tickets]
        texts = [text_for_model(c) for c in cleaned]
        languages = [detect_language(f"{c.subject}\n{c.own}" if c.own else c.full) for c in cleaned]
        docs: list[Any] = [None] * len(tickets)
        for language in {lang for lang, _ in languages}:
            positions = [i for i, (lang, _) in enumerate(languages) if lang == language]
            nlp = self.nlp(language)
            batch = (texts[i].lower() for i in positions)
            for i, doc in zip(positions, nlp.pipe(batch, batch_size=SPACY_BATCH), strict=True):
                docs[i] = doc
        analyses = []
        for ticket, clean, text, (language, fallback), doc in zip(
            tickets, cleaned, texts, languages, docs, strict=True
        ):
            subject_secrets = find_secrets(ticket.subject or "")
            body_secrets = find_secrets(ticket.body or "")
            signals = detect_signals(clean, "")
            signals.secret_spans = subject_secrets + body_secrets
            analyses.append(
                Analysis(
                    clean=clean,
                    language=language,
                    language_fallback=fallback,
                    text=text,
                    lemmas=" ".join(t.lemma_ for t in doc if not t.is_space),
                    signals=signals,
                    hits=self.rules(language).match(doc),
                    subject_secrets=subject_secrets,
                    body_secrets=body_secrets,
                )
            )
        return analyses


# ---------------------------------------------------------------- feature union


def _texts(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [row["text"] for row in rows]


def _lemmas(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [row["lemmas"] for row in rows]


def _numeric(rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    return [row["numeric"] for row in rows]


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
                            token_pattern=r"(?u)\b\w[\w'-]*\w\b|\b\w\b",
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
                    (
                        "tfidf",
                        TfidfVectorizer(
                            analyzer="char_wb",
                            ngram_range=(2, 5),
                            min_df=3,
                            sublinear_tf=True,
                            lowercase=True,
                            max_features=max_char_features,
                        ),
                    ),
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


def _subjects(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [row["subject"] for row in rows]


def _subject_numeric(rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    return [{"generic": float(row["generic"]), "words": min(row["words"], 8) / 8} for row in rows]


def build_subject_featurizer() -> FeatureUnion:
    """Features of the subject line alone (is it descriptive?)."""
    return FeatureUnion(
        [
            (
                "chars",
                Pipeline(
                    [
                        ("select", FunctionTransformer(_subjects)),
                        (
                            "tfidf",
                            TfidfVectorizer(
                                analyzer="char_wb",
                                ngram_range=(2, 4),
                                min_df=2,
                                sublinear_tf=True,
                                max_features=20_000,
                            ),
                        ),
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


def subject_record(analysis: Analysis) -> dict[str, Any]:
    from classifier.text import GENERIC_PREFIX

    subject = GENERIC_PREFIX.sub("", analysis.clean.subject).strip()
    return {
        "subject": subject.lower(),
        "generic": analysis.signals.generic_subject,
        "words": len(subject.split()),
    }
