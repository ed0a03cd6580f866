"""Clean a ticket for classification: HTML, quoted replies, signatures, language, spaCy docs.

Every step is linear in the input: regexes here have no nested quantifiers, and runs without
whitespace are broken up before spaCy (whose tokenizer is quadratic on them) ever sees them.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser as HTMLParser

if TYPE_CHECKING:
    from lingua import LanguageDetector

LONG_RUN = 48  # characters without whitespace after which a run is split for spaCy
# Cues that a body is HTML (tags that mail clients and portals emit), not a "<" in plain text.
_HTML_TAG = re.compile(
    r"<\s*/?\s*(?:br|p|div|span|html|body|head|table|tr|td|th|ul|ol|li|b|i|u|strong|em|a|font|"
    r"img|blockquote|h[1-6]|hr|pre|style|meta|o:p)\b[^<>]{0,500}>",
    re.IGNORECASE,
)
_BR = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h[1-6])\s*/?\s*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_NON_SPACE_RUN = re.compile(r"\S{" + str(LONG_RUN + 1) + r",}")

# A line that opens a quoted earlier mail or a forwarded one (top posting: all below is quoted).
_QUOTE_HEADER = re.compile(
    r"^(?:"
    r"-{2,}\s*(?:original message|oorspronkelijk bericht|message d'origine|forwarded message|"
    r"doorgestuurd bericht|message transféré|oorspronkelijk bericht)\s*-{2,}"
    r"|(?:on|op|le|am)\b.{0,120}\b(?:wrote|schreef|a écrit|écrit|schrieb)\s*:?"
    r"|(?:from|van|de|von)\s*:.{1,200}"
    r"|_{10,}"
    r")\s*$",
    re.IGNORECASE,
)
_HEADER_FIELD = re.compile(
    r"^(?:sent|verzonden|envoyé|date|datum|to|aan|à|subject|onderwerp|objet|cc)\s*:",
    re.IGNORECASE,
)
# A line on its own that closes the customer's words: sign-offs, device footers, disclaimers.
_SIGN_OFF = re.compile(
    r"^(?:--\s*|"
    r"(?:met\s+)?(?:vriendelijke|hartelijke|beste|warme|sportieve|collegiale)?\s*groet(?:en|jes)?[,.!]*|"
    r"mvg[,.]*|m\.v\.g\.?|vriendelijke groeten[,.]*|groetjes[,.]*|"
    r"dank(?:\s*u|\s*je)?\s*(?:wel)?[,.!]*|"
    r"alvast bedankt[,.!]*|"
    r"(?:kind|best|warm)\s+regards[,.]*|regards[,.]*|cheers[,.!]*|thanks?(?:\s+in\s+advance)?[,.!]*|"
    r"thank you[,.!]*|best[,.]*|"
    r"cordialement[,.]*|bien (?:à vous|cordialement)[,.]*|bàv[,.]*|salutations[,.]*|"
    r"(?:meilleures|sinc[eè]res) salutations[,.]*|merci(?: d'avance| beaucoup)?[,.!]*|"
    r"(?:sent from|envoyé de|verzonden (?:vanaf|met|van)|verstuurd vanaf|outlook voor|get outlook)"
    r".{0,60}"
    r")$",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"^(?:disclaimer|this (?:e-?mail|message)|dit (?:e-?mail)?bericht|deze e-?mail|"
    r"ce (?:message|courriel|e-?mail)|le présent (?:message|courriel)|"
    r"the information (?:contained|in this)|de informatie (?:in|verzonden)|"
    r"confidential(?:ity)?(?: notice)?|vertrouwelijk|avertissement|privacy ?:)",
    re.IGNORECASE,
)
GENERIC_PREFIX = re.compile(
    # one \s* between the parts (two in a row could split the same spaces many ways)
    r"^\s*(?:(?:re|fw|fwd|tr|aw|wg|antw|doorst)\s*(?:\[\d+\]\s*)?:\s*)+",
    re.I,
)


@dataclass(frozen=True)
class CleanTicket:
    """A ticket's text made ready for the detectors and the model."""

    subject: str  # normalized subject, reply prefixes kept
    own: str  # the customer's own words: no quotes, no signature; cut to the limit
    quoted: str  # quoted earlier mails and forwarded chains (information there counts as given)
    full: str  # subject + whole normalized body (own words, signature and quotes)
    truncated: bool  # own text was longer than the limit and was cut for classification


def without_surrogates(text: str) -> str:
    """The text with every lone surrogate (no character, no UTF-8) replaced by '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def normalize(text: str) -> str:
    """Unicode NFKC, no control characters or lone surrogates, tidy whitespace."""
    if not text:
        return ""
    # ASCII text holds no surrogates and every ASCII string is NFKC already: both steps would
    # return it unchanged.
    if not text.isascii():
        text = unicodedata.normalize("NFKC", without_surrogates(text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    # _SPACES matches every single space; replacing a lone " " by " " changes nothing, so the
    # substitution can only change a text holding a tab, a no-break space or two spaces in a row.
    if "\t" in text or "\xa0" in text or "  " in text:
        text = _SPACES.sub(" ", text)
    text = "\n".join([line.strip() for line in text.split("\n")])
    if "\n\n\n" in text:  # what _BLANK_LINES needs to match
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def html_to_text(text: str) -> str:
    """Plain text of an HTML body; plain text (a lone '<' included) is only unescaped."""
    if _HTML_TAG.search(text):
        text = _BR.sub("\n", text)
        tree = HTMLParser(text)
        for node in tree.css("style, script, head"):
            node.decompose()
        root = tree.body or tree.root
        text = root.text(separator="", strip=False) if root is not None else ""
    return html.unescape(text)


_SYMBOL_FLOOD = re.compile(r"[^\w\s]{9,}")
_FLOOD_MIN = 8  # a flood has more symbols than this; it is cut to this many


def break_long_runs(text: str) -> str:
    """Cut floods of symbols or emoji to 8 characters and split other runs without whitespace
    (base64, keys, URLs) into pieces: spaCy's affix search is quadratic in a run's length.

    Both patterns match only inside one chunk of `text.split()` (`\\s` and `str.split` both use
    `str.isspace`), so a text without chunks of 9 characters or more is returned as it is, a
    chunk of letters and digits alone (`str.isalnum`: no `[^\\w\\s]` in it) holds no flood, and
    the runs are split only when a chunk is longer than LONG_RUN (cutting floods never
    lengthens a chunk). Scanning every position of every ticket with both patterns was most of
    this function's time."""
    chunks = [chunk for chunk in text.split() if len(chunk) > _FLOOD_MIN]
    if not chunks:
        return text
    if any(not chunk.isalnum() and _SYMBOL_FLOOD.search(chunk) for chunk in chunks):
        text = _SYMBOL_FLOOD.sub(lambda m: m.group(0)[:8], text)
    if not any(len(chunk) > LONG_RUN for chunk in chunks):
        return text

    def split(match: re.Match[str]) -> str:
        run = match.group(0)
        return " ".join(run[i : i + LONG_RUN] for i in range(0, len(run), LONG_RUN))

    return _NON_SPACE_RUN.sub(split, text)


def split_quoted(body: str) -> tuple[str, str]:
    """(own words, quoted part): '>' lines and all below a reply or forward header are quoted."""
    own: list[str] = []
    quoted: list[str] = []
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(">"):
            quoted.append(line.lstrip("> "))
            continue
        if _QUOTE_HEADER.match(line) and _looks_like_header(lines, index):
            quoted.extend(lines[index:])
            break
        own.append(line)
    return "\n".join(own).strip(), "\n".join(quoted).strip()


def _looks_like_header(lines: list[str], index: int) -> bool:
    line = lines[index].lower()
    if not line.startswith(("from", "van", "de", "von")):
        return True
    # "Van: ..." opens a quote only with a header block under it ("Verzonden:", "Aan:", ...)
    following = lines[index + 1 : index + 4]
    return any(_HEADER_FIELD.match(f) for f in following)


# A line under the signature that the customer still wrote themselves: a postscript
# ("PS: ...", "P.S.", "N.B.", "Oh and ...", "Nog iets: ..."), often a second question.
_POSTSCRIPT = re.compile(
    r"^\s*(?:p\.?\s?p?\.?\s?s\b\.?|n\.\s?b\.|nb\s*:|o ja\b|oh ja\b|oja\b|en nog iets\b|nog iets\b|"
    r"oh,? and\b|and one more\b|one more thing\b|ah oui\b|autre chose\b|encore une chose\b)",
    re.IGNORECASE,
)


def strip_signature(own: str) -> str:
    """Cut the sign-off, signature and legal disclaimer under the customer's own words; a
    postscript under the signature is the customer's own words again and is kept."""
    lines = own.split("\n")
    for index, line in enumerate(lines):
        if index == 0 or len(line) > 80:
            continue
        if _SIGN_OFF.match(line) or _DISCLAIMER.match(line):
            kept = "\n".join(lines[:index]).strip()
            if kept:
                postscript = _postscript(lines[index + 1 :])
                return f"{kept}\n\n{postscript}" if postscript else kept
    return own


def _postscript(lines: list[str]) -> str:
    """The postscript among the lines under a sign-off: from a PS-like line up to a blank line,
    a disclaimer or a new sign-off."""
    for index, line in enumerate(lines):
        if _DISCLAIMER.match(line):
            return ""
        if _POSTSCRIPT.match(line):
            kept: list[str] = []
            for following in lines[index:]:
                if not following.strip() and kept:
                    break
                if _DISCLAIMER.match(following) or (kept and _SIGN_OFF.match(following)):
                    break
                kept.append(following)
            return "\n".join(kept).strip()
    return ""


RAW_FACTOR = 3  # raw characters read per character classified (HTML and quotes are verbose)
MAX_SUBJECT_CHARS = 500


def clean_ticket(subject: str, body: str, max_chars: int, truncated: bool = False) -> CleanTicket:
    """Clean a ticket for the detectors and the model, reading at most a bounded prefix: a body
    over the limit is cut (and flagged) so that no input costs more than a bounded time.
    `truncated` says the caller already cut the text."""
    subject = subject or ""
    body = body or ""
    truncated = truncated or len(body) > RAW_FACTOR * max_chars or len(subject) > MAX_SUBJECT_CHARS
    subject = normalize(html_to_text(subject[:MAX_SUBJECT_CHARS])).replace("\n", " ")
    body = normalize(html_to_text(body[: RAW_FACTOR * max_chars]))
    own, quoted = split_quoted(body)
    own = strip_signature(own)
    if len(own) > max_chars:
        own, truncated = own[:max_chars], True
    return CleanTicket(
        subject=subject,
        own=own,
        quoted=quoted[:max_chars],
        full=f"{subject}\n{body[: 2 * max_chars]}",
        truncated=truncated,
    )


# A forward: "Fwd:"/"TR:"/"Doorst:" in the subject (after any reply prefixes), or the quote
# opening with a forwarded-message line.
_FORWARD_PREFIX = re.compile(r"\b(?:fw|fwd|tr|wg|doorst)\b", re.I)  # within GENERIC_PREFIX's match
_FORWARD_LINE = re.compile(
    r"-{2,}\s*(?:forwarded message|doorgestuurd bericht|message transféré)", re.IGNORECASE
)


def text_for_model(ticket: CleanTicket, min_own_words: int = 10, min_reply_words: int = 3) -> str:
    """What the model reads: subject and own words. A forward with few own words of its own
    ("zie hieronder, kunnen jullie dit bekijken?") is classified on the forwarded text too; a
    reply only when it has next to none: below a short new question, the quoted earlier mail
    is history (often of another problem) and would outweigh the question."""
    subject = GENERIC_PREFIX.sub("", ticket.subject)
    text = f"{subject}\n{ticket.own}"
    if ticket.quoted:  # most tickets quote nothing
        words = len(ticket.own.split())
        prefix = GENERIC_PREFIX.match(ticket.subject)
        forward = bool(
            (prefix and _FORWARD_PREFIX.search(prefix.group(0)))
            or _FORWARD_LINE.match(ticket.quoted)
        )
        if words < min_reply_words or (forward and words < min_own_words):
            text = f"{text}\n{ticket.quoted[:5000]}"
    return break_long_runs(text)


# ---------------------------------------------------------------- language

SUPPORTED = ("nl", "fr", "en")
# Languages we recognise only to fall back from: each maps to the nearest supported one.
FALLBACK = {"de": "nl", "es": "fr", "it": "fr", "pt": "fr"}


@lru_cache(maxsize=1)
def language_detector() -> LanguageDetector:
    from lingua import Language, LanguageDetectorBuilder

    languages = [
        Language.DUTCH,
        Language.FRENCH,
        Language.ENGLISH,
        Language.GERMAN,
        Language.SPANISH,
        Language.ITALIAN,
        Language.PORTUGUESE,
    ]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


@lru_cache(maxsize=1)
def _exclusive_stop_words() -> dict[str, frozenset[str]]:
    """Each supported language's spaCy stop words that the other two do not share."""
    words = {lang: _spacy_stop_words(lang) for lang in SUPPORTED}
    return {
        lang: frozenset(
            w for w in own if len(w) > 1 and all(w not in words[o] for o in words if o != lang)
        )
        for lang, own in words.items()
    }


@lru_cache(maxsize=1)
def _exclusive_stop_word_languages() -> dict[str, str]:
    """Each exclusive stop word and its language (one look-up per word instead of three)."""
    return {word: lang for lang, words in _exclusive_stop_words().items() for word in words}


def _spacy_stop_words(language: str) -> set[str]:
    """spaCy's stop word list of a language, read from its module file alone: importing the
    language package would also build its tokenizer exceptions (4 s for French)."""
    import importlib.util
    from pathlib import Path

    import spacy

    path = Path(spacy.__file__).parent / "lang" / language / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_stop_words_{language}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.STOP_WORDS)


_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ASCII_WORD_RE = re.compile(r"[a-zA-Z]+(?:'[a-zA-Z]+)?")  # _WORD_RE for ASCII text
_ASCII_NON_LETTERS_TO_SPACE = str.maketrans({c: " " for c in range(128) if not chr(c).isalpha()})


# a token with a dot inside: a domain, an address, a URL, a file or version name; their parts
# are no words of the text's language (".be" is English's "be")
_DOTTED_TOKEN_RE = re.compile(r"(?<!\S)\S*?\w\.\w\S*")


def _stop_word_vote(sample: str) -> str | None:
    """The language whose own stop words clearly dominate the text, if one does (a fast path:
    most tickets are decided here without running the statistical detector)."""
    language_of = _exclusive_stop_word_languages()
    counts = dict.fromkeys(SUPPORTED, 0)
    lowered = sample.lower()
    if "." in lowered:
        lowered = _DOTTED_TOKEN_RE.sub(" ", lowered)
    if not lowered.isascii():
        words = _WORD_RE.findall(lowered)
    elif "'" in lowered:
        # on ASCII text both patterns find the same words (their letter classes hold the same
        # ASCII characters), and re tests a plain class quicker than a negated Unicode one
        words = _ASCII_WORD_RE.findall(lowered)
    else:
        # without apostrophes the words are the runs of letters, which is what splitting finds
        # once every other character is a space (three times quicker than the regex)
        words = lowered.translate(_ASCII_NON_LETTERS_TO_SPACE).split()
    for lang in filter(None, map(language_of.get, words)):
        counts[lang] += 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 5 and top >= 4 * max(second, 1):
        return best
    return None


def detect_language(text: str, default: str = "nl") -> tuple[str, bool]:
    """(language code, fell back): the supported language the text is most likely written in.

    A text clearly in another language is mapped to the nearest supported one and flagged; with
    no letters at all the default is returned, flagged.
    """
    sample = text[:2000]
    if not any(ch.isalpha() for ch in sample):
        return default, True
    voted = _stop_word_vote(sample[:600])
    if voted is not None:
        return voted, False
    values = language_detector().compute_language_confidence_values(sample)
    scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    best_supported = max(SUPPORTED, key=lambda code: scores.get(code, 0.0))
    other, other_score = max(
        ((code, score) for code, score in scores.items() if code not in SUPPORTED),
        key=lambda item: item[1],
        default=("", 0.0),
    )
    # short texts are ambiguous: only call them foreign when the evidence is strong
    if other_score > 0.6 and other_score > 3 * scores.get(best_supported, 0.0):
        return FALLBACK.get(other, best_supported), True
    return best_supported, False
