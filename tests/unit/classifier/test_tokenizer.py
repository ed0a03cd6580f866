"""The serving tokenizers drop spaCy's whitespace special cases (so its chunk cache works):
their tokens must stay exactly those of the tokenizers the special cases came with."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.features import (
    blank_dutch,
    blank_english,
    blank_french,
    build_nlp,
    import_spacy,
)

# the tokenizers with spaCy's whitespace special cases, as the languages ship them
REFERENCE = {
    "nl": lambda: blank_dutch(whitespace_specials=True),
    "fr": lambda: blank_french(whitespace_specials=True),
    "en": lambda: import_spacy().blank("en"),
}

TICKETS = [
    "Goedemorgen,\n\nonze site www.bakkerij-peeters.be geeft sinds vanmorgen een 500 error.\r\n"
    "We hebben de cache al geleegd.\n\n\nMvg,\nJan\t(zaakvoerder)\n",
    "Bonjour,\u00a0le site ne répond plus depuis l'update\u00a0: « erreur 503 ».\n\n"
    "Cordialement,\n-- \nMarie  Dubois\n",
    "Hi,\n\n  the VPS is down again :( can't ssh in.\n\t\tTried a reboot from the panel.\n"
    "> On Monday you wrote:\n> it's fixed now\n\nThanks!!\n",
    "  \n \t \u00a0 \r\n",
    "",
]

# Letters, punctuation the affix rules care about, and whitespace of every kind spaCy treats
# as a chunk separator or a token.
ALPHABET = st.sampled_from([*"ab'-.:()!?\"«»", " ", "  ", "\n", "\t", "\u00a0", "\r\n", "\u2003"])


def tokens(nlp, text: str) -> list[tuple[str, str]]:
    return [(t.text, t.whitespace_) for t in nlp.tokenizer(text)]


@pytest.fixture(scope="module")
def pipelines():
    return {lang: (build_nlp(lang, {}), make()) for lang, make in REFERENCE.items()}


def test_whitespace_special_cases_are_gone_and_the_others_kept(pipelines):
    for served, reference in pipelines.values():
        dropped = set(reference.tokenizer.rules) - set(served.tokenizer.rules)
        assert dropped and all(key.isspace() for key in dropped)
        assert "\n" in dropped
        assert set(served.tokenizer.rules) <= set(reference.tokenizer.rules)
        for key, value in served.tokenizer.rules.items():
            assert reference.tokenizer.rules[key] == value


def test_english_is_spacys_blank_english_but_for_the_whitespace_cases():
    served, shipped = blank_english(), import_spacy().blank("en")
    assert type(served).__mro__[1] is type(shipped)  # spaCy's English class, its settings
    assert blank_english(whitespace_specials=True).tokenizer.rules == shipped.tokenizer.rules


@pytest.mark.parametrize("language", sorted(REFERENCE))
def test_ticket_tokens_are_unchanged(pipelines, language):
    served, reference = pipelines[language]
    for text in TICKETS:
        # twice: the second pass reads the chunk cache the first one filled
        assert tokens(served, text) == tokens(reference, text)
        assert tokens(served, text) == tokens(reference, text)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(ALPHABET, max_size=40))
def test_tokens_are_unchanged_on_any_whitespace(pipelines, pieces):
    text = "".join(pieces)
    for served, reference in pipelines.values():
        assert tokens(served, text) == tokens(reference, text)


# ---------------------------------------------------------------- lemmas


def lemma_text_by_tokens(doc) -> str:
    """The plain definition of a ticket's lemma text: the non-whitespace tokens' lemmas."""
    return " ".join(t.lemma_ for t in doc if not t.is_space)


LEMMAS = {
    "nl": {"geeft": "geven", "hebben": "hebben", "geleegd": "legen", "sites": "site"},
    "fr": {"répond": "répondre", "erreur": "erreur"},
    # blank entries would make a word's lemma whitespace (or whitespace a word): dropped
    "en": {"tried": "try", "thanks": " ", "\n": "newline", "down": ""},
}


@pytest.fixture(scope="module")
def lemmatizing():
    return {lang: build_nlp(lang, table) for lang, table in LEMMAS.items()}


# ---------------------------------------------------------------- LookupLemmatizer.lemmatize


def lemmatize_both_ways(nlp, text: str) -> tuple[tuple[str, list[str]], tuple[str, list[str]]]:
    """(lemma text, token lemmas) from `lemmatize` on a bare doc, and by the plain definition on
    the doc the whole pipeline makes (the component's __call__, then the non-space tokens)."""
    bare = nlp.make_doc(text.lower())
    fused = nlp.get_pipe("lookup_lemmatizer").lemmatize(bare)
    plain = nlp(text.lower())
    return (fused, [t.lemma_ for t in bare]), (
        lemma_text_by_tokens(plain),
        [t.lemma_ for t in plain],
    )


def test_lemmatize_uses_the_table_and_skips_blank_entries(lemmatizing):
    nl, en = lemmatizing["nl"], lemmatizing["en"]
    text = "De site geeft een fout\n\nwe hebben geleegd"
    assert nl.get_pipe("lookup_lemmatizer").lemmatize(nl.make_doc(text.lower())) == (
        "de site geven een fout we hebben legen"
    )
    text = "Thanks,\n\nthe VPS is down. Tried a reboot"
    assert en.get_pipe("lookup_lemmatizer").lemmatize(en.make_doc(text.lower())) == (
        "thanks , the vps is down . try a reboot"
    )


@pytest.mark.parametrize("language", sorted(LEMMAS))
def test_lemmatize_equals_the_component_and_the_token_lemmas(lemmatizing, language):
    nlp = lemmatizing[language]
    for text in [*TICKETS, "Sites geeft erreur répond Tried thanks down \n"]:
        for _ in range(2):  # the second time from the cached strings
            fused, plain = lemmatize_both_ways(nlp, text)
            assert fused == plain


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(ALPHABET, st.sampled_from(["geeft", "Tried", "erreur", "thanks", "down"])),
        max_size=30,
    )
)
def test_lemmatize_equals_the_plain_definition_on_any_text(lemmatizing, pieces):
    text = "".join(pieces)
    for nlp in lemmatizing.values():
        fused, plain = lemmatize_both_ways(nlp, text)
        assert fused == plain


def test_lemmatize_follows_a_new_table():
    # the cached strings follow from the table: replacing it (as build_nlp does) starts afresh
    nlp = build_nlp("nl", {"geeft": "geven"})
    lemmatizer = nlp.get_pipe("lookup_lemmatizer")
    assert lemmatizer.lemmatize(nlp.make_doc("site geeft")) == "site geven"
    lemmatizer.hashes = {nlp.vocab.strings.add("geeft"): nlp.vocab.strings.add("gaf")}
    assert lemmatizer.lemmatize(nlp.make_doc("site geeft")) == "site gaf"
    assert lemma_text_by_tokens(nlp("site geeft")) == "site gaf"  # the component too


def test_lemmatize_with_a_full_cache(monkeypatch):
    # the cached strings are bounded: cleared when full, the text is the same
    monkeypatch.setattr("classifier.features._LEMMA_STRINGS_MAX", 3)
    nlp = build_nlp("fr", LEMMAS["fr"])
    longest = max(len(nlp.make_doc(text.lower())) for text in TICKETS)
    for text in [*TICKETS, *TICKETS]:
        fused, plain = lemmatize_both_ways(nlp, text)
        assert fused == plain
        assert len(nlp.get_pipe("lookup_lemmatizer")._words) <= 3 + longest
