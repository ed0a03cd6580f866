"""The one contract: label codes, the ticket as received, and the guide's section-6 labels."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

Category = Literal["infrastructure", "product_usage", "cms_plugins", "out_of_scope_device"]
Priority = Literal["P1", "P2", "P3", "P4"]
MissingCode = Literal[
    "descriptive_subject", "error_message", "ip_address", "server_or_domain", "steps_tried"
]
Language = Literal["nl", "fr", "en"]
Channel = Literal["email", "portal", "whatsapp", "phone"]
Plan = Literal["standard", "premium", "pro"]
Split = Literal["train", "test"]
Source = Literal["handwritten", "generated", "correction"]

CATEGORIES: tuple[str, ...] = get_args(Category)
PRIORITIES: tuple[str, ...] = get_args(Priority)
MISSING_CODES: tuple[str, ...] = tuple(sorted(get_args(MissingCode)))
LANGUAGES: tuple[str, ...] = get_args(Language)
CHANNELS: tuple[str, ...] = get_args(Channel)
PLANS: tuple[str, ...] = get_args(Plan)

# Guide section 3: codes a ticket can only miss when it reports something broken (P1-P3).
FAILURE_ONLY_CODES: frozenset[str] = frozenset({"error_message", "steps_tried", "ip_address"})


def allowed_missing_info(
    category: str | None, priority: str | None, missing_info: Iterable[str]
) -> list[str]:
    """The codes of missing_info that the category and priority allow (sorted): a device
    ticket can miss only descriptive_subject, a P4 ticket no failure-only code."""
    codes = set(missing_info)
    if category == "out_of_scope_device":
        codes &= {"descriptive_subject"}
    if priority == "P4":
        codes -= FAILURE_ONLY_CODES
    return sorted(codes)


def label_violations(
    category: str | None, priority: str | None, missing_info: Iterable[str] | None
) -> list[tuple[str, str]]:
    """(field, message) for every rule of the guide a set of labels breaks."""
    found: list[tuple[str, str]] = []
    missing = set(missing_info or ())
    if category == "out_of_scope_device":
        if priority not in (None, "P4"):
            found.append(("priority", "out_of_scope_device tickets are always P4"))
        if missing - {"descriptive_subject"}:
            found.append(("missing_info", "out_of_scope_device can only miss descriptive_subject"))
    if priority == "P4" and missing & FAILURE_ONLY_CODES:
        codes = sorted(missing & FAILURE_ONLY_CODES)
        found.append(("missing_info", f"a P4 ticket reports no failure, so it cannot miss {codes}"))
    if priority in ("P1", "P2") and category not in (None, "infrastructure"):
        found.append(("priority", f"{priority} is for infrastructure problems, not {category}"))
    return found


RECEIVED_MIN_YEAR, RECEIVED_MAX_YEAR = 1970, 2200
# an id is stored and put in URLs: no control characters, no lone surrogates
_ID_OK = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")


def valid_ticket_id(value: str) -> bool:
    """Whether a ticket can have this id (stored, compared and put in URLs by every store)."""
    return bool(_ID_OK.fullmatch(value))


class Ticket(BaseModel):
    """A ticket as an intake pipeline sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    id: str | None = Field(default=None, max_length=200)
    subject: str = ""
    body: str = ""
    received_at: datetime | None = None
    channel: Channel | None = None
    plan: Plan | None = None

    @field_validator("id")
    @classmethod
    def _printable_id(cls, value: str | None) -> str | None:
        if value is not None and not valid_ticket_id(value):
            raise ValueError("id may hold no control characters or lone surrogates")
        return value

    @field_validator("received_at")
    @classmethod
    def _needs_offset(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.tzinfo is None:
            raise ValueError("received_at needs a UTC offset, e.g. 2026-03-14T08:12:00+01:00")
        # deadlines are computed days ahead in local time: keep far from datetime's limits
        if not RECEIVED_MIN_YEAR <= value.year <= RECEIVED_MAX_YEAR:
            raise ValueError(
                f"received_at must lie between the years {RECEIVED_MIN_YEAR} and"
                f" {RECEIVED_MAX_YEAR}"
            )
        return value


class Labels(BaseModel):
    """The labels of the guide's section 6 (what an engineer can correct)."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    priority: Priority
    missing_info: list[MissingCode]
    multi_issue: bool
    contains_password: bool
    language: Language

    @field_validator("missing_info")
    @classmethod
    def _sorted_unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


Decision = Literal["auto", "suggest", "review"]
SecretKind = Literal["password", "connection_string", "env", "code", "token", "private_key"]


class Alternative(BaseModel):
    label: str
    probability: float


class SecretSpanOut(BaseModel):
    """Where a secret stands in the input (offsets into `field`, end exclusive); never the text."""

    field: Literal["subject", "body"]
    start: int
    end: int
    kind: SecretKind


class Explanation(BaseModel):
    rules_fired: list[str] = Field(description="ids of the keyword rules that matched")
    top_terms: list[str] = Field(description="terms that weighed most for the predicted category")
    priority_terms: list[str] = Field(description="terms that weighed most for the priority")
    signals: list[str] = Field(description="detectors that fired (domain, error text, ...)")


class Prediction(BaseModel):
    """The guide's section-6 fields, with confidences, decisions and an explanation."""

    id: str
    category: Category
    priority: Priority
    missing_info: list[MissingCode]
    multi_issue: bool
    contains_password: bool
    language: Language
    confidence: dict[str, float] = Field(
        description="per field, the probability of the value given (missing_info: its least"
        " certain part; urgent: P(P1)+P(P2))"
    )
    alternatives: dict[str, list[Alternative]]
    decision: dict[str, Decision]
    needs_review: bool
    urgent: bool = Field(description="P(P1)+P(P2) passed the urgency threshold")
    language_fallback: bool = Field(description="written in no supported language; nearest used")
    truncated: bool = Field(description="the text was cut to the classification limit")
    explanation: Explanation
    secret_spans: list[SecretSpanOut]
    respond_by: datetime = Field(description="first-response deadline per the policy (with offset)")
    follow_up: str | None = Field(description="ready-to-send message asking for what is missing")
    route: str = Field(description="suggested queue for the category and priority")
    model_version: str
