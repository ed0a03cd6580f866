"""API keys with one role each, sent as `Authorization: Bearer <key>`, compared in constant time."""

from __future__ import annotations

import hmac
import os
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


# what each permission lets a role do, in 403 messages
PERMISSION_NAMES = {
    "predict": "request predictions",
    "read": "read stored predictions",
    "correct": "correct labels",
    "export": "export corrections",
    "model": "read the model's details",
    "reports": "read accuracy reports",
    "admin": "use the admin endpoints",
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


def dev_keys(path: Path) -> list[ApiKey]:
    """A development run's keys: those in the local file, or one random key per role written
    to it when it does not exist yet. The file appears whole and only once (linked into place
    from a file of its own), so the workers of one server, started together, share one set."""
    if not path.exists():
        keys = [ApiKey(role, secrets.token_urlsafe(24)) for role in ROLES]
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(
            "# local development keys (git-ignored); one role:key per line\n"
            + "\n".join(f"{k.role}:{k.key}" for k in keys)
            + "\n",
            encoding="utf-8",
        )
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # fails if another process made the file first
            return keys
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return parse_keys(path.read_text(encoding="utf-8"), str(path))


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
