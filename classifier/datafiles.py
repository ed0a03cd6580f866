"""Configuration shipped as JSON data files (rules, reply templates, routing), read strictly:
invalid JSON, a duplicate key or a field that fails validation raises an error that names the
file and the place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def describe(exc: ValidationError) -> str:
    """Every validation problem as 'where: what', joined."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def read_json_model(path: Path, model: type[M], what: str, error: type[ValueError]) -> M:
    """The file at `path` validated as `model`; `error(f"{what} {path}: ...")` when it is not."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{what} {path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(raw, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise error(
            f"{what} {path}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except ValueError as exc:  # a duplicate key
        raise error(f"{what} {path}: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{what} {path}: {describe(exc)}") from exc
