"""The one contract: label codes, the ticket as received, and the guide's section-6 labels."""

from __future__ import annotations

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
Source = Literal["handwritten", "generated"]

CATEGORIES: tuple[str, ...] = get_args(Category)
PRIORITIES: tuple[str, ...] = get_args(Priority)
MISSING_CODES: tuple[str, ...] = tuple(sorted(get_args(MissingCode)))
LANGUAGES: tuple[str, ...] = get_args(Language)
CHANNELS: tuple[str, ...] = get_args(Channel)
PLANS: tuple[str, ...] = get_args(Plan)

# Guide section 3: codes a ticket can only miss when it reports something broken (P1-P3).
FAILURE_ONLY_CODES: frozenset[str] = frozenset({"error_message", "steps_tried", "ip_address"})


class Ticket(BaseModel):
    """A ticket as an intake pipeline sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    id: str | None = Field(default=None, max_length=200)
    subject: str = ""
    body: str = ""
    received_at: datetime | None = None
    channel: Channel | None = None
    plan: Plan | None = None

    @field_validator("received_at")
    @classmethod
    def _needs_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("received_at needs a UTC offset, e.g. 2026-03-14T08:12:00+01:00")
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
