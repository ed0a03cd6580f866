"""From tickets to model inputs: cleaning, language, spaCy lemmas, signals, rule hits, features.

`Analyzer` turns tickets into `Analysis` records, and the selection functions below pick a
record's inputs for each part of the feature unions (training/features.py builds them,
classifier/vectorize.py holds their fitted form). Shared by serving and training; no
scikit-learn here.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.rules import RULES_DIR, RuleHit, RuleSet, load_rule_file, rule_scores
from classifier.schemas import Ticket
from classifier.signals import SecretSpan, Signals, detect_signals, find_secrets, redact
from classifier.text import (
    GENERIC_PREFIX,
    MAX_SUBJECT_CHARS,
    RAW_FACTOR,
    CleanTicket,
    clean_ticket,
    detect_language,
    text_for_model,
)

LEMMATIZER = "lookup_lemmatizer"

# lower-case form hash -> lemma string, kept per lemmatizer (LookupLemmatizer.lemmatize); bounded:
# cleared when full
_LEMMA_STRINGS_MAX = 200_000


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
        # no blank forms or lemmas: a token is whitespace exactly when its lemma is (lemmatize)
        self.hashes = {
            strings.add(form): strings.add(lemma)
            for form, lemma in table.items()
            if form.strip() and lemma.strip()
        }

    @property
    def hashes(self) -> dict[int, int]:
        return self._hashes

    @hashes.setter
    def hashes(self, hashes: dict[int, int]) -> None:
        self._hashes = hashes
        # lower-case form hash -> its lemma string, "" for whitespace (see lemmatize); bounded:
        # cleared when full, and here, since the strings follow from the table
        self._words: dict[int, str] = {}

    def __call__(self, doc: Any) -> Any:
        from spacy.attrs import LEMMA, LOWER

        forms = doc.to_array(LOWER).tolist()
        get = self.hashes.get
        lemmas = np.array([get(h, h) for h in forms], dtype=np.uint64).reshape(-1, 1)
        return doc.from_array([LEMMA], lemmas)

    def lemmatize(self, doc: Any) -> str:
        """Set the doc's lemmas as calling the component does, and return the doc's lemma text
        (the lemmas of its non-whitespace tokens joined by spaces), both from one read of the
        doc's LOWER array (three quarters of the time of the two steps apart).

        A token's lemma is `hashes.get(lower, lower)`, so its lemma string is a function of its
        lower-case form's hash, cached here per form: the string token.lemma_ reads back through
        the LEMMA array the component sets. Whitespace is cached as "" and dropped by the join's
        filter, which drops nothing else: no lemma is empty (a table lemma is not blank, and a
        token's lower-case form is not empty)."""
        from spacy.attrs import LEMMA, LOWER

        forms = doc.to_array(LOWER).tolist()
        get = self._hashes.get
        # the uint64 array __call__ builds from its list, built from the iterator directly
        lemmas = np.fromiter(map(get, forms, forms), dtype=np.uint64, count=len(forms))
        doc.from_array([LEMMA], lemmas.reshape(-1, 1))
        known = self._words
        try:
            words = list(map(known.__getitem__, forms))
        except KeyError:
            if len(known) > _LEMMA_STRINGS_MAX:
                known.clear()
            strings = doc.vocab.strings
            for h in forms:
                if h not in known:
                    lemma = strings[get(h, h)]
                    known[h] = "" if lemma.isspace() else lemma
            words = list(map(known.__getitem__, forms))
        return " ".join(filter(None, words))


def blank_french(whitespace_specials: bool = False) -> Any:
    """A blank French pipeline without spaCy's 16,000 French tokenizer exceptions, which take
    about 4 s and 40 MB to build at import: French elision (l'erreur -> l' erreur) is kept in the
    prefix and infix rules; hyphenated words are split as by the base rules."""
    from spacy.lang.char_classes import ALPHA
    from spacy.lang.punctuation import TOKENIZER_INFIXES, TOKENIZER_PREFIXES
    from spacy.language import BaseDefaults, Language

    elision = "'’"

    class LiteFrenchDefaults(BaseDefaults):
        tokenizer_exceptions = exceptions(BaseDefaults.tokenizer_exceptions, whitespace_specials)
        prefixes = (
            *TOKENIZER_PREFIXES,
            rf"(?:[dlnjmstcDLNJMSTC]|qu|Qu)[{elision}](?=[{ALPHA}])",
        )
        infixes = (
            *TOKENIZER_INFIXES,
            rf"(?<=[{ALPHA}][{elision}])(?=[{ALPHA}])",
        )

    class LiteFrench(Language):
        lang = "fr"
        Defaults = LiteFrenchDefaults

    return LiteFrench()


def blank_dutch(whitespace_specials: bool = False) -> Any:
    """A blank Dutch pipeline with spaCy's Dutch punctuation rules but without its 4,670
    abbreviation exceptions, which take 0.7 s to compile in every process ("bv." becomes
    "bv" "." — the same lemma either way for the n-gram features)."""
    from spacy.lang.nl import Dutch
    from spacy.language import BaseDefaults, Language

    class LiteDutchDefaults(BaseDefaults):
        tokenizer_exceptions = exceptions(BaseDefaults.tokenizer_exceptions, whitespace_specials)
        prefixes = Dutch.Defaults.prefixes
        infixes = Dutch.Defaults.infixes
        suffixes = Dutch.Defaults.suffixes

    class LiteDutch(Language):
        lang = "nl"
        Defaults = LiteDutchDefaults

    return LiteDutch()


def blank_english(whitespace_specials: bool = False) -> Any:
    """spaCy's blank English pipeline, its tokenizer built without the whitespace special
    cases (see without_whitespace_specials) rather than built and then rebuilt without them:
    the English special cases (1,343 of them) take 0.14 s to compile, at every start."""
    from spacy.lang.en import English

    class EnglishDefaults(English.Defaults):  # type: ignore[valid-type,misc]
        tokenizer_exceptions = exceptions(
            English.Defaults.tokenizer_exceptions, whitespace_specials
        )

    class WhitespaceFreeEnglish(English):
        Defaults = EnglishDefaults

    return WhitespaceFreeEnglish()


def import_spacy() -> Any:
    """spaCy without its command line. `import spacy` imports spacy.cli (typer, weasel, rich,
    requests and every command) only to offer `spacy.info`: a third of a second of each
    serving process's start. During the import, placeholders stand in for spacy.cli and
    spacy.cli.info; they are removed after it, so spacy.cli still imports on first use, and
    `spacy.info` imports the real one when called."""
    if "spacy" in sys.modules:
        return sys.modules["spacy"]

    def info(*args: Any, **kwargs: Any) -> Any:
        from spacy.cli.info import info as real_info

        return real_info(*args, **kwargs)

    cli, cli_info = types.ModuleType("spacy.cli"), types.ModuleType("spacy.cli.info")
    cli_info.info = info  # type: ignore[attr-defined]
    placeholders = {"spacy.cli": cli, "spacy.cli.info": cli_info}
    sys.modules.update(placeholders)
    try:
        import spacy
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return spacy


def without_whitespace_specials(tokenizer: Any) -> None:
    """Drop the tokenizer's special cases for whitespace ("\\n", "\\t", " ", no-break space).

    spaCy caches the tokens of every whitespace-separated chunk, but stops caching for the rest
    of a doc once any special case has matched in it (spaCy's `_save_cached`, issue #1250), and
    "\\n" is a special case: after a ticket's first line break nothing was cached, and the
    tokenizer redid its prefix, suffix and infix searches for every word of every ticket. The
    special cases only map each whitespace string to itself as one token, which the affix rules
    give too (a unit test compares both tokenizers on whitespace of every kind), so the tokens
    are unchanged and the cache now works: the tokenizer is 4 to 8 times faster on tickets.

    The pipelines of build_nlp are built without them (whitespace_free exceptions): setting the
    rules recompiles every special case, so they are set only when there is one to drop."""
    rules = tokenizer.rules or {}
    if any(key.isspace() for key in rules):
        tokenizer.rules = whitespace_free(rules)


def whitespace_free(exceptions: dict[str, Any]) -> dict[str, Any]:
    """Tokenizer exceptions without those for whitespace strings (without_whitespace_specials)."""
    return {key: value for key, value in exceptions.items() if not key.isspace()}


def exceptions(language_exceptions: dict[str, Any], whitespace_specials: bool) -> dict[str, Any]:
    """A blank_* pipeline's tokenizer exceptions: without the whitespace ones, which serving
    drops, unless asked for (the tokenizer as spaCy ships it, for comparison)."""
    return (
        dict(language_exceptions) if whitespace_specials else whitespace_free(language_exceptions)
    )


def build_nlp(language: str, lemma_table: dict[str, str]):
    """A blank spaCy pipeline with a lookup lemmatizer over the given table (no downloads)."""
    spacy = import_spacy()
    from spacy.language import Language

    if LEMMATIZER not in Language.factories:
        Language.factory(LEMMATIZER, default_config={"table": {}})(
            lambda nlp, name, table: LookupLemmatizer(nlp.vocab, table)
        )
    lite = {"fr": blank_french, "nl": blank_dutch, "en": blank_english}
    nlp = lite[language]() if language in lite else spacy.blank(language)
    without_whitespace_specials(nlp.tokenizer)
    component = nlp.add_pipe(LEMMATIZER)
    assert nlp.pipe_names == [LEMMATIZER]  # Analyzer.analyze runs it alone after the tokenizer
    component.hashes = LookupLemmatizer(nlp.vocab, lemma_table).hashes
    return nlp


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
        lemmas: list[str] = [""] * len(tickets)
        for language in {lang for lang, _ in languages}:
            # what nlp.pipe does (the tokenizer, then the lemmatizer, its only component), with
            # the lemma text read in the same pass; one language at a time, as quick as pipe
            nlp = self.nlp(language)
            make_doc, lemmatizer = nlp.make_doc, nlp.get_pipe(LEMMATIZER)
            for i, (lang, _) in enumerate(languages):
                if lang == language:
                    docs[i] = doc = make_doc(texts[i].lower())
                    lemmas[i] = lemmatizer.lemmatize(doc)
        analyses = []
        for clean, text, (language, fallback), doc, lemma_words, secret_spans in zip(
            cleaned, texts, languages, docs, lemmas, secrets, strict=True
        ):
            subject_secrets, body_secrets = secret_spans
            signals = detect_signals(clean)
            signals.secret_spans = subject_secrets + body_secrets
            analyses.append(
                Analysis(
                    clean=clean,
                    language=language,
                    language_fallback=fallback,
                    text=text,
                    lemmas=lemma_words,
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


def _subjects(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [row["subject"] for row in rows]


def _subject_numeric(rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    return [{"generic": float(row["generic"]), "words": min(row["words"], 8) / 8} for row in rows]


def subject_record(analysis: Analysis) -> dict[str, Any]:
    subject = GENERIC_PREFIX.sub("", analysis.clean.subject).strip()
    return {
        "subject": subject.lower(),
        "generic": analysis.signals.generic_subject,
        "words": len(subject.split()),
    }
