"""From tickets to model inputs: cleaning, language, spaCy lemmas, signals, rule hits, features.

`Analyzer` turns tickets into `Analysis` records; `build_featurizer` makes the (unfitted)
scikit-learn feature union the heads are trained on. Shared by serving and training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from classifier.rules import RULES_DIR, RuleHit, RuleSet, load_rule_file, rule_scores
from classifier.schemas import Ticket
from classifier.signals import SecretSpan, Signals, detect_signals, find_secrets, redact
from classifier.text import (
    MAX_SUBJECT_CHARS,
    RAW_FACTOR,
    CleanTicket,
    clean_ticket,
    detect_language,
    text_for_model,
)

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


class LookupLemmatizer:
    """spaCy component: lemmas from a spacy-lookups-data lookup table, set in one array call.

    It gives the same lemmas as spaCy's `Lemmatizer(mode="lookup")` on lower-cased text, but
    works on the doc's hash arrays instead of visiting every Token object in Python, which made
    the built-in component 40% of prediction time.
    """

    def __init__(self, vocab: Any, table: dict[str, str]):
        strings = vocab.strings
        self.hashes = {strings.add(form): strings.add(lemma) for form, lemma in table.items()}

    def __call__(self, doc: Any) -> Any:
        from spacy.attrs import LEMMA, LOWER

        forms = doc.to_array(LOWER).tolist()
        get = self.hashes.get
        lemmas = np.array([get(h, h) for h in forms], dtype=np.uint64).reshape(-1, 1)
        return doc.from_array([LEMMA], lemmas)


def blank_french() -> Any:
    """A blank French pipeline without spaCy's 16,000 French tokenizer exceptions, which take
    about 4 s and 40 MB to build at import: French elision (l'erreur -> l' erreur) is kept in the
    prefix and infix rules; hyphenated words are split as by the base rules."""
    from spacy.lang.char_classes import ALPHA
    from spacy.lang.punctuation import TOKENIZER_INFIXES, TOKENIZER_PREFIXES
    from spacy.language import BaseDefaults, Language

    elision = "'’"

    class LiteFrenchDefaults(BaseDefaults):
        prefixes: ClassVar[list[str]] = [
            *TOKENIZER_PREFIXES,
            rf"(?:[dlnjmstcDLNJMSTC]|qu|Qu)[{elision}](?=[{ALPHA}])",
        ]
        infixes: ClassVar[list[str]] = [
            *TOKENIZER_INFIXES,
            rf"(?<=[{ALPHA}][{elision}])(?=[{ALPHA}])",
        ]

    class LiteFrench(Language):
        lang = "fr"
        Defaults = LiteFrenchDefaults

    return LiteFrench()


def blank_dutch() -> Any:
    """A blank Dutch pipeline with spaCy's Dutch punctuation rules but without its 4,670
    abbreviation exceptions, which take 0.7 s to compile in every process ("bv." becomes
    "bv" "." — the same lemma either way for the n-gram features)."""
    from spacy.lang.nl import Dutch
    from spacy.language import BaseDefaults, Language

    class LiteDutchDefaults(BaseDefaults):
        prefixes = Dutch.Defaults.prefixes
        infixes = Dutch.Defaults.infixes
        suffixes = Dutch.Defaults.suffixes

    class LiteDutch(Language):
        lang = "nl"
        Defaults = LiteDutchDefaults

    return LiteDutch()


def build_nlp(language: str, lemma_table: dict[str, str]):
    """A blank spaCy pipeline with a lookup lemmatizer over the given table (no downloads)."""
    import spacy
    from spacy.language import Language

    if "lookup_lemmatizer" not in Language.factories:
        Language.factory("lookup_lemmatizer", default_config={"table": {}})(
            lambda nlp, name, table: LookupLemmatizer(nlp.vocab, table)
        )
    lite = {"fr": blank_french, "nl": blank_dutch}
    nlp = lite[language]() if language in lite else spacy.blank(language)
    component = nlp.add_pipe("lookup_lemmatizer")
    component.hashes = LookupLemmatizer(nlp.vocab, lemma_table).hashes
    return nlp


def run_pipeline(nlp: Any, text: str) -> Any:
    """One text through the tokenizer and the components: the doc `nlp.pipe` makes, without its
    generator and batching set-up (a tenth of a single ticket's spaCy time)."""
    doc = nlp.make_doc(text)
    for _, component in nlp.pipeline:
        doc = component(doc)
    return doc


def lemma_text(doc: Any) -> str:
    """The doc's lemmas joined by spaces (arrays, not Token objects: this runs per ticket)."""
    from spacy.attrs import IS_SPACE, LEMMA

    strings = doc.vocab.strings
    rows = doc.to_array([LEMMA, IS_SPACE]).tolist()
    return " ".join(strings[h] for h, space in rows if not space)


class Analyzer:
    """Cleans, detects the language, lemmatizes and runs the detectors and rules.

    One spaCy pipeline per language is built once (on first use) from the lemma tables shipped
    inside the model artifact, so loading needs no spaCy data download or large table.
    """

    def __init__(
        self,
        lemma_tables: dict[str, dict[str, str]],
        max_chars: int = 8_000,
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
        # Secrets are found first, in the same bounded prefix the cleaning reads, and replaced
        # by [REDACTED] before anything else sees the text: no feature, vocabulary or model
        # artifact can hold a customer's password.
        limit = RAW_FACTOR * self.max_chars
        secrets = [
            (
                find_secrets((t.subject or "")[:MAX_SUBJECT_CHARS]),
                find_secrets((t.body or "")[:limit]),
            )
            for t in tickets
        ]
        cleaned = [
            clean_ticket(
                redact((t.subject or "")[:MAX_SUBJECT_CHARS], subject_spans),
                redact((t.body or "")[:limit], body_spans),
                self.max_chars,
                truncated=len(t.body or "") > limit or len(t.subject or "") > MAX_SUBJECT_CHARS,
            )
            for t, (subject_spans, body_spans) in zip(tickets, secrets, strict=True)
        ]
        texts = [text_for_model(c) for c in cleaned]
        languages = [detect_language(f"{c.subject}\n{c.own}" if c.own else c.full) for c in cleaned]
        docs: list[Any] = [None] * len(tickets)
        for language in {lang for lang, _ in languages}:
            positions = [i for i, (lang, _) in enumerate(languages) if lang == language]
            nlp = self.nlp(language)
            if len(positions) == 1:
                docs[positions[0]] = run_pipeline(nlp, texts[positions[0]].lower())
                continue
            batch = (texts[i].lower() for i in positions)
            for i, doc in zip(positions, nlp.pipe(batch, batch_size=SPACY_BATCH), strict=True):
                docs[i] = doc
        analyses = []
        for clean, text, (language, fallback), doc, (subject_secrets, body_secrets) in zip(
            cleaned, texts, languages, docs, secrets, strict=True
        ):
            signals = detect_signals(clean)
            signals.secret_spans = subject_secrets + body_secrets
            analyses.append(
                Analysis(
                    clean=clean,
                    language=language,
                    language_fallback=fallback,
                    text=text,
                    lemmas=lemma_text(doc),
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


def word_char_ngrams(word: str, low: int, high: int) -> list[str]:
    """Character n-grams of one word padded with spaces (as scikit-learn's 'char_wb')."""
    padded = f" {word} "
    grams = []
    for n in range(low, high + 1):
        if n > len(padded):
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class CharNgramCounter(BaseEstimator, TransformerMixin):
    """Counts character n-grams inside words, like CountVectorizer(analyzer="char_wb"), but
    caches each word's column indices: tickets repeat their words, so transform is a dictionary
    look-up per word instead of a Python loop over every n-gram (about 10x faster)."""

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
            found = [self._columns(w, cache) for w in text.lower().split()]
            parts.extend(found)
            lengths[row] = sum(map(len, found))
        columns = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return columns, lengths

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

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)  # rebuilt on use; never pickled
        return state


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


def subject_record(analysis: Analysis) -> dict[str, Any]:
    from classifier.text import GENERIC_PREFIX

    subject = GENERIC_PREFIX.sub("", analysis.clean.subject).strip()
    return {
        "subject": subject.lower(),
        "generic": analysis.signals.generic_subject,
        "words": len(subject.split()),
    }
