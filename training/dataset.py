"""Load, validate and split the labeled ticket corpus (`data/tickets.jsonl`).

Every row is checked against the labeling guide's contract; a bad row is reported with the file,
the line and the field at fault, and nothing is ever dropped silently: loading either returns the
whole corpus or raises `DatasetError` listing every problem found.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from classifier.schemas import (
    Category,
    Channel,
    Language,
    MissingCode,
    Plan,
    Priority,
    Source,
    Split,
    label_violations,
)

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "data" / "tickets.jsonl"
NEAR_DUPLICATE_JACCARD = 0.6
SHINGLE_SIZE = 5
_WORD = re.compile(r"\w+", re.UNICODE)


class DatasetError(ValueError):
    """The corpus breaks its contract; `problems` holds one message per fault."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the corpus:\n  {shown}{more}")


class CorpusRecord(BaseModel):
    """One labeled ticket: the guide's section-6 record plus corpus bookkeeping fields."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=64)
    subject: str
    body: str
    category: Category
    priority: Priority
    missing_info: list[MissingCode]
    multi_issue: StrictBool
    contains_password: StrictBool
    language: Language
    received_at: str
    channel: Channel
    plan: Plan
    split: Split
    source: Source

    @field_validator("received_at")
    @classmethod
    def _iso_with_offset(cls, value: str) -> str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date-time: {value!r}") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"needs a UTC offset: {value!r}")
        return value

    @field_validator("missing_info")
    @classmethod
    def _sorted_unique(cls, value: list[str]) -> list[str]:
        if value != sorted(set(value)):
            raise ValueError(f"must be sorted and without repeats: {value}")
        return value


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: field '{self.field}': {self.message}"


def guide_violations(record: CorpusRecord) -> Iterator[tuple[str, str]]:
    """Yield (field, message) for every invariant of the labeling guide the record breaks."""
    missing = set(record.missing_info)
    yield from label_violations(record.category, record.priority, record.missing_info)
    if not record.subject.strip() and "descriptive_subject" not in missing:
        yield "missing_info", "an empty subject must list descriptive_subject"
    if not (record.subject.strip() or record.body.strip()):
        yield "body", "subject and body are both empty"
    if record.split == "test" and record.source == "generated":
        yield "source", "generated tickets never enter the test split"


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        yield from enumerate(handle, start=1)


def _parse(path: Path) -> tuple[list[tuple[int, CorpusRecord]], list[Problem]]:
    records: list[tuple[int, CorpusRecord]] = []
    problems: list[Problem] = []
    for number, line in _read_lines(path):
        if not line.strip():
            problems.append(Problem(path, number, "-", "empty line"))
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, number, "-", f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(raw, dict):
            problems.append(Problem(path, number, "-", "a line must hold one JSON object"))
            continue
        try:
            record = CorpusRecord.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(part) for part in err["loc"]) or "-"
                problems.append(Problem(path, number, field, err["msg"]))
            continue
        bad = list(guide_violations(record))
        problems.extend(Problem(path, number, field, message) for field, message in bad)
        if not bad:
            records.append((number, record))
    return records, problems


def shingles(text: str, size: int = SHINGLE_SIZE) -> frozenset[tuple[str, ...]]:
    """Word `size`-shingles of the lower-cased text (a shorter text is one shingle)."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicates(
    left: Iterable[tuple[str, str]],
    right: Iterable[tuple[str, str]],
    threshold: float = NEAR_DUPLICATE_JACCARD,
) -> list[tuple[str, str, float]]:
    """Pairs (left id, right id, jaccard) of texts whose shingle Jaccard reaches `threshold`.

    An inverted index over the right side's shingles keeps this near linear: only pairs that share
    enough shingles to possibly reach the threshold are compared.
    """
    right_sets = {key: shingles(text) for key, text in right}
    index: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for key, sh in right_sets.items():
        for s in sh:
            index[s].append(key)
    found = []
    for key, text in left:
        sh = shingles(text)
        shared: dict[str, int] = defaultdict(int)
        for s in sh:
            for other in index.get(s, ()):
                shared[other] += 1
        for other, count in shared.items():
            # |A∩B| / |A∪B| >= t needs |A∩B| >= t * max(|A|, |B|)
            if count >= threshold * max(len(sh), len(right_sets[other])):
                score = jaccard(sh, right_sets[other])
                if score >= threshold:
                    found.append((key, other, round(score, 3)))
    return found


def _corpus_problems(path: Path, rows: list[tuple[int, CorpusRecord]]) -> list[Problem]:
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    first_text: dict[str, int] = {}
    for number, record in rows:
        if record.id in first_line:
            problems.append(
                Problem(
                    path,
                    number,
                    "id",
                    f"{record.id!r} already used on line {first_line[record.id]}",
                )
            )
        first_line.setdefault(record.id, number)
        text = " ".join(_WORD.findall(f"{record.subject} {record.body}".lower()))
        if text in first_text:
            problems.append(Problem(path, number, "body", f"same text as line {first_text[text]}"))
        first_text.setdefault(text, number)
    line_of = {record.id: number for number, record in rows}
    train = [(r.id, f"{r.subject}\n{r.body}") for _, r in rows if r.split == "train"]
    test = [(r.id, f"{r.subject}\n{r.body}") for _, r in rows if r.split == "test"]
    for test_id, train_id, score in near_duplicates(test, train):
        problems.append(
            Problem(
                path,
                line_of[test_id],
                "split",
                f"test ticket {test_id} is a near duplicate of train ticket {train_id} "
                f"(line {line_of[train_id]}, 5-shingle Jaccard {score})",
            )
        )
    return problems


def load_tickets(path: Path | str = DEFAULT_CORPUS) -> pd.DataFrame:
    """Load and validate the corpus; raise `DatasetError` naming every bad line and field."""
    path = Path(path)
    if not path.exists():
        raise DatasetError([f"{path}: no such file"])
    rows, problems = _parse(path)
    problems += _corpus_problems(path, rows)
    if problems:
        raise DatasetError([str(p) for p in sorted(problems, key=lambda p: p.line)])
    frame = pd.DataFrame([record.model_dump() for _, record in rows])
    frame["line"] = [number for number, _ in rows]
    return frame


def split_tickets(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fixed train and test parts (the split is authored, never re-drawn)."""
    return (
        frame[frame["split"] == "train"].reset_index(drop=True),
        frame[frame["split"] == "test"].reset_index(drop=True),
    )


def data_hash(path: Path | str = DEFAULT_CORPUS) -> str:
    """sha256 of the corpus file, recorded with every model trained on it."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def strata_test_share(frame: pd.DataFrame) -> pd.DataFrame:
    """Test share per category x priority x language cell (for the stratification check)."""
    counts = (
        frame.groupby(["category", "priority", "language", "split"]).size().unstack(fill_value=0)
    )
    for column in ("train", "test"):
        if column not in counts:
            counts[column] = 0
    counts["total"] = counts["train"] + counts["test"]
    counts["test_share"] = counts["test"] / counts["total"]
    return counts.reset_index()
