"""Engineers' corrections flow back into training: from the export file or the store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from classifier.schemas import Labels

LABELS = ("category", "priority", "missing_info", "multi_issue", "contains_password", "language")


class CorrectionsError(ValueError):
    """A corrections file line is not a usable correction (the message names the line)."""


def read_corrections_file(path: Path) -> list[dict[str, Any]]:
    """The export of `GET /v1/corrections` (JSON Lines), checked line by line."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorrectionsError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        for field in ("id", "subject", "body", *LABELS[:-1]):
            if field not in record:
                raise CorrectionsError(f"{path}:{number}: field '{field}' is missing")
        records.append(record)
    return records


def read_corrections_store(url: str, schema: str | None = None) -> list[dict[str, Any]]:
    from classifier.store import Store

    store = Store.open(url, schema)
    try:
        return list(store.export_corrections())
    finally:
        store.close()


def merge_corrections(
    frame: pd.DataFrame, corrections: Iterable[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The corpus with corrections applied (the latest per ticket wins). A corrected corpus
    ticket keeps its split, except that test tickets are never changed; a new ticket joins the
    training split."""
    latest: dict[str, dict[str, Any]] = {}
    for record in corrections:
        ticket_id = str(record["id"])
        if ticket_id not in latest or str(record.get("corrected_at", "")) >= str(
            latest[ticket_id].get("corrected_at", "")
        ):
            latest[ticket_id] = record
    frame = frame.copy()
    index = {ticket_id: i for i, ticket_id in enumerate(frame["id"])}
    counts = {"corrections": len(latest), "updated": 0, "added": 0, "skipped_test": 0}
    new_rows = []
    for ticket_id, record in latest.items():
        labels = Labels.model_validate(
            {k: record.get(k) if record.get(k) is not None else "nl" for k in LABELS}
        ).model_dump()
        if ticket_id in index:
            row = index[ticket_id]
            if frame.at[row, "split"] == "test":
                counts["skipped_test"] += 1  # the frozen test split is never changed
                continue
            for key in LABELS[:-1]:
                frame.at[row, key] = labels[key]
            counts["updated"] += 1
        else:
            new_rows.append(
                {
                    "id": ticket_id,
                    "subject": record["subject"] or "",
                    "body": record["body"] or "",
                    **labels,
                    "received_at": "",
                    "channel": "email",
                    "plan": "standard",
                    "split": "train",
                    "source": "correction",
                }
            )
            counts["added"] += 1
    if new_rows:
        frame = pd.concat([frame, pd.DataFrame(new_rows)], ignore_index=True)
    return frame, counts
