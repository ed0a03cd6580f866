"""The cleaning and language fast paths give exactly what the plain definitions give.

Each function in classifier/text.py that skips work on a cheap test is compared here with a
straightforward version of its definition, on tricky strings and on random ones.
"""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import text as text_module
from classifier.text import (
    LONG_RUN,
    SUPPORTED,
    _exclusive_stop_word_languages,
    _stop_word_vote,
    break_long_runs,
    normalize,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def plain_normalize(text: str) -> str:
    if not text:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"[ \t\xa0]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


TRICKY = [
    "",
    " ",
    "plain ascii text",
    "two  spaces",
    "tab\there",
    "no\xa0break",
    "\xa0\xa0lead",
    "line\r\nwindows\rold mac\n\n\n\nblank lines",
    "ﬁle ﬂow ＡＢＣ １２３ x² ½ ㍻ ﷺ",
    "control\x00\x01\x07\x0b\x0c\x1c\x1f\x7f chars",
    "zero\u200bwidth\u200d joiner\ufeff bom \u2028 sep \u2029",
    "lone \ud800 surrogate \udfff",
    "emoji 😀🎉👍🏽❤️",
    "spaces\u2000\u2003\u2009\u202f\u3000\u1680\x85 kinds",
    "e\u0301 combining, \u00e9 composed",
    "K\u212a Kelvin, \u0130 dotted I",
    "\n \n\n \t\n",
    "a" * 200,
    "!" * 30 + "?" * 5 + "*" * 12,
]


@pytest.mark.parametrize("text", TRICKY)
def test_normalize_equals_its_plain_definition(text: str) -> None:
    assert normalize(text) == plain_normalize(text)


def test_ascii_is_left_alone_by_the_unicode_steps() -> None:
    # normalize skips the surrogate and NFKC steps for ASCII text: both must be the identity
    ascii_chars = [chr(c) for c in range(128)]
    pairs = [a + b for a in ascii_chars for b in ascii_chars]
    for text in [*ascii_chars, *pairs, "".join(ascii_chars)]:
        assert text.encode("utf-8", "replace").decode("utf-8") == text
        assert unicodedata.normalize("NFKC", text) == text


ODD = "ﬁﬂＡａ１²½ \xa0\u2003\u3000\u1680\x85\r\n\t\x0b\x0c\x1c\x00\x7f\u200b\u2028\ufeff\ud800😀éİK.,!?*#-'"


def random_texts(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    alphabet = "abcXYZ019_ " + ODD
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rnd.randint(0, 12)):
            kind = rnd.random()
            if kind < 0.6:
                parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 10))))
            elif kind < 0.8:
                parts.append(rnd.choice("!*#=-~") * rnd.randint(1, 20))
            else:
                parts.append("".join(rnd.choice("abcdef0123") for _ in range(rnd.randint(30, 80))))
            parts.append(rnd.choice([" ", "  ", "\n", "\n\n\n", "\t", "\xa0", ""]))
        texts.append("".join(parts))
    return texts


def test_normalize_on_random_texts() -> None:
    for text in random_texts(3000, seed=7):
        assert normalize(text) == plain_normalize(text), repr(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_on_any_text(text: str) -> None:
    assert normalize(text) == plain_normalize(text)


def test_module_patterns_match_the_plain_ones() -> None:
    # the plain definitions above restate the module's patterns; keep them in step
    assert text_module._CONTROL.pattern == _CONTROL.pattern
    assert text_module._SPACES.pattern == r"[ \t\xa0]+"
    assert text_module._BLANK_LINES.pattern == r"\n{3,}"


def plain_break_long_runs(text: str) -> str:
    text = re.sub(r"[^\w\s]{9,}", lambda m: m.group(0)[:8], text)

    def split(match: re.Match[str]) -> str:
        run = match.group(0)
        return " ".join(run[i : i + LONG_RUN] for i in range(0, len(run), LONG_RUN))

    return re.sub(r"\S{" + str(LONG_RUN + 1) + r",}", split, text)


def test_split_and_isalnum_agree_with_the_regex_classes() -> None:
    # break_long_runs looks for matches only in str.split() chunks, and for floods only in
    # chunks that are not str.isalnum(): this holds for every code point
    space, symbol = re.compile(r"\s"), re.compile(r"[^\w\s]")
    for code in range(0x110000):
        char = chr(code)
        assert (space.match(char) is not None) == char.isspace(), hex(code)
        assert char.split() == ([] if char.isspace() else [char]), hex(code)
        if char.isalnum():
            assert symbol.match(char) is None, hex(code)


BREAK_TRICKY = [
    "",
    "short words only, nothing long.",
    "!!!!!!!!! nine",
    "!!!!!!!! eight",
    "word!!!!!!!!!!!!!!!!!!!word",
    "😀" * 9 + " " + "🎉" * 30,
    "x" * 48 + " " + "y" * 49 + "\n" + "z" * 200,
    "=" * 60,
    "a=" * 40,
    "tab\tsep" + "q" * 50 + "\u3000" + "r" * 50 + "\x85" + "s" * 60 + "\u1680" + "#" * 12,
    "under_score_" * 6,
    "x²³¹½" * 15,
    "!!!!!!!!!\x1c!!!!!!!!!\u200b!!!!!!!!!!",
    "é" * 50 + "…" * 10,
]


@pytest.mark.parametrize("text", BREAK_TRICKY)
def test_break_long_runs_equals_its_plain_definition(text: str) -> None:
    assert break_long_runs(text) == plain_break_long_runs(text)


def test_break_long_runs_on_random_texts() -> None:
    for text in random_texts(3000, seed=11):
        for variant in (text, normalize(text)):
            assert break_long_runs(variant) == plain_break_long_runs(variant), repr(variant)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1_ !*#😀\n\t\xa0\u3000²")))
def test_break_long_runs_on_any_text(text: str) -> None:
    assert break_long_runs(text) == plain_break_long_runs(text)


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def plain_stop_word_vote(sample: str) -> str | None:
    language_of = _exclusive_stop_word_languages()
    counts = dict.fromkeys(SUPPORTED, 0)
    for word in _WORD.findall(sample.lower()):
        lang = language_of.get(word)
        if lang is not None:
            counts[lang] += 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 5 and top >= 4 * max(second, 1):
        return best
    return None


def test_ascii_letter_classes_agree() -> None:
    # the vote's ASCII paths stand for _WORD's letter class on ASCII text
    letter = re.compile(r"[^\W\d_]")
    for code in range(128):
        char = chr(code)
        assert (letter.match(char) is not None) == char.isalpha(), hex(code)
        assert char.isalpha() == (char in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def stop_word_texts(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    language_of = _exclusive_stop_word_languages()
    words = sorted(language_of)
    separators = [" ", " ", " ", ", ", ".\n", "  ", "_", "9", "'", "'s ", "-", "(", "\t", "é", "²"]
    texts = []
    for index in range(count):
        lang = SUPPORTED[index % 3]
        own = [w for w in words if language_of[w] == lang]
        ascii_only = index % 2 == 0
        parts = []
        for _ in range(rnd.randint(0, 60)):
            word = rnd.choice(own) if rnd.random() < 0.7 else rnd.choice(words)
            if rnd.random() < 0.2:
                word = word.upper()
            parts.append(word)
            parts.append(rnd.choice(separators[:-2] if ascii_only else separators))
        text = "".join(parts)
        texts.append(text.encode("ascii", "ignore").decode() if ascii_only else text)
    return texts


VOTE_TRICKY = [
    "",
    "de het een van is niet dat",
    "the and is not for with this that these",
    "le la les et des est pas pour que",
    "DE HET EEN VAN IS NIET DAT",
    "de_het_een_van_is_niet_dat 9de9het9een9van9is",
    "l'erreur aujourd'hui qu'il don't it's 'de' het' 'een",
    "the's the'the the'' ''the and and and and",
    "\u212a the KELVIN the the the the",
    "\u0130 het het het het het",
    "et² et et et et",
]


@pytest.mark.parametrize("text", VOTE_TRICKY)
def test_stop_word_vote_equals_its_plain_definition(text: str) -> None:
    assert _stop_word_vote(text) == plain_stop_word_vote(text)


def test_stop_word_vote_on_random_texts() -> None:
    texts = stop_word_texts(3000, seed=5)
    decided = 0
    for text in texts:
        expected = plain_stop_word_vote(text[:600])
        assert _stop_word_vote(text[:600]) == expected, repr(text)
        decided += expected is not None
    assert decided > 500  # the texts do reach the vote's decisions


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*sorted(_exclusive_stop_word_languages())[:300], " ", "'", ","])))
def test_stop_word_vote_on_any_word_list(words: list[str]) -> None:
    text = " ".join(words)
    assert _stop_word_vote(text) == plain_stop_word_vote(text)
