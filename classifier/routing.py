"""A suggested queue per category and priority, from a mapping in a data file.

The shipped mapping is ``classifier/templates/routing.json``. To change a queue, edit the
file; no Python needs to change::

    {
      "comment": "optional, free text for whoever edits the file",
      "default": "service-desk",
      "routes": {
        "infrastructure:P1": "infra-urgent",
        "infrastructure:*": "infra",
        "*:P1": "on-call",
        "cms_plugins:*": "web"
      }
    }

A key is ``<category>:<priority>``. The category is one of the codes in
``classifier.schemas`` or ``*``, and so is the priority. ``*:*`` is not a valid key: use
``default`` instead. A queue name is a non-empty string with no spaces at either end.

When several keys match, the most specific one wins, in this order:

1. ``category:priority``
2. ``category:*``
3. ``*:priority``
4. ``default``

The category wildcard comes before the priority wildcard because the category decides which
team handles a ticket.

The file is checked when it loads. An unknown code, a malformed key, a duplicate key, bad
JSON or a missing ``default`` fails with an error that names the file and the key. The
mapping is loaded on first use and then cached per path (nothing is read at import time).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from classifier.datafiles import read_json_model
from classifier.schemas import CATEGORIES, PRIORITIES

DEFAULT_ROUTING_PATH = Path(__file__).resolve().parent / "templates" / "routing.json"
WILDCARD = "*"
DEFAULT_KEY = "default"


class RoutingError(ValueError):
    """The routing file cannot be read or is invalid (the message names file and key)."""


def _queue_name(value: str) -> str:
    if not value.strip():
        raise ValueError("queue name is empty")
    if value != value.strip():
        raise ValueError(f"queue name {value!r} has spaces at either end")
    return value


QueueName = Annotated[str, AfterValidator(_queue_name)]


def _check_key(key: str) -> str | None:
    """What is wrong with a route key, or None."""
    category, sep, priority = key.partition(":")
    if not sep or ":" in priority:
        return f"{key!r} is not of the form '<category>:<priority>'"
    if category == WILDCARD and priority == WILDCARD:
        return f"{key!r} matches everything: use 'default' instead"
    if category != WILDCARD and category not in CATEGORIES:
        return f"{key!r}: unknown category {category!r} (expected * or {', '.join(CATEGORIES)})"
    if priority != WILDCARD and priority not in PRIORITIES:
        return f"{key!r}: unknown priority {priority!r} (expected * or {', '.join(PRIORITIES)})"
    return None


class Routing(BaseModel):
    """The routing file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    comment: str | None = None
    default: QueueName
    routes: dict[str, QueueName] = {}

    @field_validator("routes")
    @classmethod
    def _keys(cls, routes: dict[str, str]) -> dict[str, str]:
        problems = [problem for key in routes if (problem := _check_key(key))]
        if problems:
            raise ValueError("; ".join(problems))
        return routes

    def resolve(self, category: str, priority: str) -> tuple[str, str]:
        """(queue, the key that decided it: a route key or 'default')."""
        if category not in CATEGORIES:
            raise ValueError(
                f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}"
            )
        if priority not in PRIORITIES:
            raise ValueError(
                f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}"
            )
        for key in (
            f"{category}:{priority}",
            f"{category}:{WILDCARD}",
            f"{WILDCARD}:{priority}",
        ):
            if key in self.routes:
                return self.routes[key], key
        return self.default, DEFAULT_KEY


def _read(path: Path) -> Routing:
    return read_json_model(path, Routing, "routing file", RoutingError)


@lru_cache(maxsize=16)
def _load_cached(path: Path) -> Routing:
    return _read(path)


def load_routing(path: Path | None = None) -> Routing:
    """The routing mapping, validated, read once per path (default: the shipped file).

    Raises RoutingError (a ValueError) naming the file and what is wrong.
    """
    return _load_cached(Path(path) if path is not None else DEFAULT_ROUTING_PATH)


def route(category: str, priority: str, routing: Routing | None = None) -> str:
    """The suggested queue for a ticket's category and priority (ValueError on unknown codes)."""
    routing = routing if routing is not None else load_routing()
    return routing.resolve(category, priority)[0]
