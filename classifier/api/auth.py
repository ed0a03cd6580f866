"""API keys with one role each, sent as `Authorization: Bearer <key>`, compared in constant time."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["intake", "engineer", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("intake", "engineer", "analyst", "admin")

# What each role may do; admin may do everything.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "predict": frozenset({"intake", "engineer", "admin"}),
    "read": frozenset({"engineer", "analyst", "admin"}),
    "correct": frozenset({"engineer", "admin"}),
    "export": frozenset({"analyst", "admin"}),
    "model": frozenset({"analyst", "admin"}),
    "reports": frozenset({"analyst", "admin"}),
    "admin": frozenset({"admin"}),
}


class KeyError_(ValueError):
    """A key definition is malformed (the message names where)."""


@dataclass(frozen=True)
class ApiKey:
    role: Role
    key: str


def parse_keys(text: str, source: str) -> list[ApiKey]:
    """Keys from 'role:key' items separated by commas or new lines ('#' starts a comment)."""
    keys = []
    items = [item.strip() for line in text.splitlines() for item in line.split("#")[0].split(",")]
    for number, item in enumerate((i for i in items if i), start=1):
        role, sep, key = item.partition(":")
        if not sep or role not in ROLES:
            raise KeyError_(f"{source}: item {number}: expected role:key with a role of {ROLES}")
        if len(key) < 16:
            raise KeyError_(f"{source}: item {number}: a key needs at least 16 characters")
        keys.append(ApiKey(role, key))
    return keys


def write_dev_keys(path: Path) -> list[ApiKey]:
    """Create one random key per role in a local file (a development run) and return them."""
    keys = [ApiKey(role, secrets.token_urlsafe(24)) for role in ROLES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# local development keys (git-ignored); one role:key per line\n"
        + "\n".join(f"{k.role}:{k.key}" for k in keys)
        + "\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return keys


class KeyRing:
    def __init__(self, keys: list[ApiKey]):
        self.keys = keys

    def role_of(self, presented: str) -> Role | None:
        """The role of a presented key; every key is compared, in constant time."""
        found: Role | None = None
        for key in self.keys:
            if hmac.compare_digest(key.key.encode(), presented.encode()):
                found = key.role
        return found
