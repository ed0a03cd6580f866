"""Follow-up messages for a classified ticket, in the ticket's language (nl, fr, en).

The texts are data: ``classifier/templates/replies.json``, editable without touching Python.
All three languages sit in one file, not one file per language. The links (the secure
password link, the knowledge base and the what-is-my-IP page) are then defined once, and the
translations sit side by side, so a part added to one language and forgotten in another is
easy to see. Either way the file is checked when it loads: a missing language, part, code or
link fails with an error that names the file and the key.

File format::

    {
      "comment": "optional, free text for whoever edits the file",
      "links": {                                   # name -> URL; these three are required
        "secure_link": "https://safe.webcanyon.eu/",
        "knowledge_base": "https://support.webcanyon.eu/",
        "what_is_my_ip": "https://eth0.me/"
      },
      "languages": {                               # exactly nl, fr and en
        "nl": {
          "links": {"knowledge_base": "https://..."},      # optional per-language override
          "greeting": "Beste klant,",
          "opening": "Bedankt voor uw bericht.",
          "password_warning": "... {secure_link} ...",
          "out_of_scope_device": "... {knowledge_base} ...",
          "multi_issue": {"named": "...:\\n{issues}\\n\\n...", "unnamed": "..."},
          "missing_info": {
            "intro": "...:",
            "items": {"server_or_domain": "...", "error_message": "...",
                      "ip_address": "... {what_is_my_ip} ...", "steps_tried": "...",
                      "descriptive_subject": "..."},         # every missing_info code
            "outro": "..."
          },
          "categories": {"infrastructure": "een probleem met de hostinginfrastructuur", ...},
          "sign_off": "Met vriendelijke groeten,\\nHet supportteam van Webcanyon"
        },
        "fr": {...},
        "en": {...}
      }
    }

Placeholders: ``{<link name>}`` for any name defined under ``links`` (this works in every
text), and ``{issues}`` (only in ``multi_issue.named``, where it is required). The password
warning must contain ``{secure_link}``, the device note ``{knowledge_base}`` and the
``ip_address`` question ``{what_is_my_ip}``. Write ``{{`` and ``}}`` for a literal brace.
Any other placeholder is an error when the file loads. Each text in ``categories`` is a
lower-case phrase that follows a list bullet.

The message is the greeting, then the opening, then the parts that apply, then the sign-off,
with a blank line between them. The parts always come in this order:

1. the password warning (most urgent: the secret has already been sent);
2. the note that software on the customer's own devices is not supported
   (category ``out_of_scope_device``);
3. the request for one ticket per problem, listing the issues (``multi_issue``);
4. one question per missing code, in the policy's order: server or domain, error
   message, IP address, steps tried, subject.

When no part applies, there is no message (``None``).

The message never quotes the ticket. Its only inputs are label codes, which are checked
against the schema, and the issue labels the caller passes for ``multi_issue``. Those labels
must be short, single-line labels chosen by the system (for example ``"invoice"``), never an
excerpt of the ticket. A label that is too long or spans several lines is refused.

Templates are loaded on first use and then cached per path (nothing is read at import time).
A service running in production must be restarted to pick up edits to the file.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from classifier.datafiles import read_json_model
from classifier.schemas import CATEGORIES, LANGUAGES, Category, Language, MissingCode

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_REPLIES_PATH = TEMPLATES_DIR / "replies.json"

# The policy's order of the items a ticket should give (not the alphabetical MISSING_CODES).
MISSING_ORDER: tuple[str, ...] = (
    "server_or_domain",
    "error_message",
    "ip_address",
    "steps_tried",
    "descriptive_subject",
)
REQUIRED_LINKS: tuple[str, ...] = ("secure_link", "knowledge_base", "what_is_my_ip")
MAX_ISSUE_LABEL_CHARS = 80
BULLET = "- "
PART_SEPARATOR = "\n\n"


class ReplyTemplatesError(ValueError):
    """The reply templates file cannot be read or is invalid (the message names file and key)."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty")
    return value


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value):
        raise ValueError(f"not an http(s) URL without spaces: {value!r}")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Url = Annotated[str, AfterValidator(_url)]


def _require_keys(given: Iterable[str], required: Iterable[str], what: str) -> None:
    present = set(given)
    missing = [key for key in required if key not in present]
    if missing:
        raise ValueError(f"missing {what}: {', '.join(missing)}")


class MultiIssueTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    named: Text = Field(description="with {issues}: the bullet list of the issues found")
    unnamed: Text = Field(description="used when the caller passes no issues")


class MissingInfoTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intro: Text
    items: dict[MissingCode, Text]
    outro: Text

    @field_validator("items")
    @classmethod
    def _every_code(cls, items: dict[str, str]) -> dict[str, str]:
        _require_keys(items, MISSING_ORDER, "code(s)")
        return items


class LanguageTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    links: dict[str, Url] = Field(default_factory=dict, description="overrides of the links")
    greeting: Text
    opening: Text
    password_warning: Text
    out_of_scope_device: Text
    multi_issue: MultiIssueTemplates
    missing_info: MissingInfoTemplates
    categories: dict[Category, Text]
    sign_off: Text

    @field_validator("categories")
    @classmethod
    def _every_category(cls, categories: dict[str, str]) -> dict[str, str]:
        _require_keys(categories, CATEGORIES, "category code(s)")
        return categories

    def texts(self) -> dict[str, str]:
        """Every text by its dotted key in the file (for validation and error messages)."""
        found = {
            name: getattr(self, name)
            for name in ("greeting", "opening", "password_warning", "out_of_scope_device")
        }
        found["multi_issue.named"] = self.multi_issue.named
        found["multi_issue.unnamed"] = self.multi_issue.unnamed
        found["missing_info.intro"] = self.missing_info.intro
        found["missing_info.outro"] = self.missing_info.outro
        for code, text in self.missing_info.items.items():
            found[f"missing_info.items.{code}"] = text
        for category, text in self.categories.items():
            found[f"categories.{category}"] = text
        found["sign_off"] = self.sign_off
        return found


# Placeholders each text must contain (besides being allowed to use any link).
_REQUIRED_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "password_warning": frozenset({"secure_link"}),
    "out_of_scope_device": frozenset({"knowledge_base"}),
    "missing_info.items.ip_address": frozenset({"what_is_my_ip"}),
    "multi_issue.named": frozenset({"issues"}),
}
_EXTRA_PLACEHOLDERS: dict[str, frozenset[str]] = {"multi_issue.named": frozenset({"issues"})}


def _placeholders(text: str) -> set[str]:
    """The {names} in a str.format template; raises ValueError on a malformed one."""
    names: set[str] = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain name such as {{secure_link}}")
        names.add(name)
    return names


class ReplyTemplates(BaseModel):
    """The whole reply templates file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    comment: str | None = None
    links: dict[str, Url]
    languages: dict[Language, LanguageTemplates]

    @field_validator("links")
    @classmethod
    def _link_names(cls, links: dict[str, str]) -> dict[str, str]:
        _require_keys(links, REQUIRED_LINKS, "link(s)")
        bad = [name for name in links if not name.isidentifier() or name == "issues"]
        if bad:
            raise ValueError(f"link name(s) must be plain identifiers other than 'issues': {bad}")
        return links

    @field_validator("languages")
    @classmethod
    def _every_language(
        cls, languages: dict[str, LanguageTemplates]
    ) -> dict[str, LanguageTemplates]:
        _require_keys(languages, LANGUAGES, "language(s)")
        return languages

    @model_validator(mode="after")
    def _placeholders_known(self) -> ReplyTemplates:
        problems: list[str] = []
        for lang, block in self.languages.items():
            unknown_links = sorted(set(block.links) - set(self.links))
            if unknown_links:
                problems.append(
                    f"languages.{lang}.links: {', '.join(unknown_links)} not defined in the "
                    "top-level links (a language can only override a link)"
                )
            for key, text in block.texts().items():
                where = f"languages.{lang}.{key}"
                try:
                    used = _placeholders(text)
                except ValueError as exc:
                    problems.append(f"{where}: {exc} (write {{{{ or }}}} for a literal brace)")
                    continue
                allowed = set(self.links) | _EXTRA_PLACEHOLDERS.get(key, frozenset())
                unknown = sorted(used - allowed)
                if unknown:
                    problems.append(
                        f"{where}: unknown placeholder(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(sorted(allowed))}"
                    )
                needed = sorted(_REQUIRED_PLACEHOLDERS.get(key, frozenset()) - used)
                if needed:
                    braced = ", ".join("{" + name + "}" for name in needed)
                    problems.append(f"{where}: missing placeholder(s) {braced}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def for_language(self, language: str) -> LanguageTemplates:
        return self.languages[language]  # type: ignore[index]

    def links_for(self, language: str) -> dict[str, str]:
        return {**self.links, **self.for_language(language).links}


def _read(path: Path) -> ReplyTemplates:
    return read_json_model(path, ReplyTemplates, "reply templates", ReplyTemplatesError)


@lru_cache(maxsize=16)
def _load_cached(path: Path) -> ReplyTemplates:
    return _read(path)


def load_reply_templates(path: Path | None = None) -> ReplyTemplates:
    """The reply templates, validated, read once per path (default: the shipped file).

    Raises ReplyTemplatesError (a ValueError) naming the file and what is wrong.
    """
    return _load_cached(Path(path) if path is not None else DEFAULT_REPLIES_PATH)


def _issue_names(issues: Sequence[str], categories: Mapping[Any, str]) -> list[str]:
    """The localized name of each issue (category codes) or the label itself, deduplicated."""
    names: list[str] = []
    for issue in issues:
        if not isinstance(issue, str):
            raise TypeError(f"an issue must be a category code or a short label, not {issue!r}")
        label = " ".join(issue.split())
        if not label:
            raise ValueError("an issue label is empty")
        if any(c in issue for c in "\r\n\v\f") or len(label) > MAX_ISSUE_LABEL_CHARS:
            raise ValueError(
                f"an issue must be a category code or a short single-line label of at most "
                f"{MAX_ISSUE_LABEL_CHARS} characters, never text from the ticket"
            )
        name = categories.get(label, label)
        if name not in names:
            names.append(name)
    return names


def follow_up_message(
    language: str,
    missing_info: Sequence[str],
    *,
    contains_password: bool,
    category: str,
    multi_issue: bool,
    issues: Sequence[str] | None = None,
    templates: ReplyTemplates | None = None,
) -> str | None:
    """The ready-to-send follow-up for a classified ticket, or None when there is nothing to say.

    `language` is the ticket's language (nl, fr, en). Each code in `missing_info` produces one
    question; duplicate codes are asked once. `issues` (used only when `multi_issue` is true)
    are category codes, which are shown by their localized names, and/or short labels from the
    system; they are listed in the order given, duplicates once. The ticket's own text is never
    an input. Raises ValueError for an unknown language, category or missing_info code.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    if isinstance(missing_info, str):
        raise TypeError("missing_info is a list of codes, not a single string")
    unknown = sorted(set(missing_info) - set(MISSING_ORDER))
    if unknown:
        raise ValueError(
            f"unknown missing_info code(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(MISSING_ORDER)}"
        )
    if isinstance(issues, str):
        raise TypeError("issues is a list of category codes or labels, not a single string")

    templates = templates if templates is not None else load_reply_templates()
    texts = templates.for_language(language)
    links = templates.links_for(language)

    parts: list[str] = []
    if contains_password:
        parts.append(texts.password_warning.format_map(links))
    if category == "out_of_scope_device":
        parts.append(texts.out_of_scope_device.format_map(links))
    if multi_issue:
        names = _issue_names(issues or [], texts.categories)
        if names:
            listing = "\n".join(BULLET + name for name in names)
            parts.append(texts.multi_issue.named.format_map({**links, "issues": listing}))
        else:
            parts.append(texts.multi_issue.unnamed.format_map(links))
    asked = [code for code in MISSING_ORDER if code in set(missing_info)]
    if asked:
        questions = "\n".join(
            BULLET + texts.missing_info.items[code].format_map(links)  # type: ignore[index]
            for code in asked
        )
        parts.append(
            f"{texts.missing_info.intro.format_map(links)}\n{questions}"
            f"{PART_SEPARATOR}{texts.missing_info.outro.format_map(links)}"
        )
    if not parts:
        return None
    head = [texts.greeting.format_map(links), texts.opening.format_map(links)]
    return PART_SEPARATOR.join([*head, *parts, texts.sign_off.format_map(links)])
