"""Keyword rules: data files per language (`classifier/rules/<lang>.json`), matched on lemmas.

Each rule has an id, the label it supports and a weight. An engineer adds a phrase or a rule in
the JSON file without touching Python; phrases are lemmatized by the same spaCy pipeline as the
tickets, so "servers lagen plat" matches the phrase "server ligt plat".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from classifier.datafiles import read_json_model
from classifier.schemas import CATEGORIES, PRIORITIES

if TYPE_CHECKING:
    from spacy.language import Language as SpacyLanguage
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc

RULES_DIR = Path(__file__).resolve().parent / "rules"
RULE_LABELS: tuple[str, ...] = (
    *(f"category:{c}" for c in CATEGORIES),
    *(f"priority:{p}" for p in PRIORITIES),
    "priority:urgency_words",  # a feature only: urgency words never decide a priority (the guide)
    "multi_issue",
)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z]{2}\.[a-z0-9_]+$")
    label: Literal[RULE_LABELS]  # type: ignore[valid-type]
    weight: float = Field(gt=0, le=5)
    phrases: list[str] = Field(min_length=1)

    @field_validator("phrases")
    @classmethod
    def _no_blank(cls, phrases: list[str]) -> list[str]:
        if any(not p.strip() for p in phrases):
            raise ValueError("a phrase is empty")
        return phrases


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["nl", "fr", "en"]
    rules: list[Rule]


def load_rule_file(path: Path) -> RuleFile:
    return read_json_model(path, RuleFile, "rule file", ValueError)


@dataclass(frozen=True)
class RuleHit:
    rule_id: str
    label: str
    weight: float


class RuleSet:
    """All rules of one language, compiled into a PhraseMatcher on lemmas."""

    def __init__(self, rule_file: RuleFile, nlp: SpacyLanguage):
        from spacy.matcher import PhraseMatcher

        self.language = rule_file.language
        self.rules = {rule.id: rule for rule in rule_file.rules}
        self.matcher: PhraseMatcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        for rule in rule_file.rules:
            patterns = list(nlp.pipe(p.lower() for p in rule.phrases))
            self.matcher.add(rule.id, patterns)

    def match(self, doc: Doc) -> list[RuleHit]:
        """The rules that fire on a doc, once each, in order of first match."""
        seen: dict[str, None] = {}
        for match_id, _start, _end in self.matcher(doc):
            seen.setdefault(doc.vocab.strings[match_id], None)
        return [
            RuleHit(rule_id, self.rules[rule_id].label, self.rules[rule_id].weight)
            for rule_id in seen
        ]


def rule_scores(hits: list[RuleHit]) -> dict[str, float]:
    """Summed weight per label, with a stable key for each (features for the model)."""
    scores: dict[str, float] = defaultdict(float)
    for hit in hits:
        scores[f"rule_{hit.label}"] += hit.weight
    topics = {hit.label for hit in hits if hit.label.startswith("category:")}
    scores["rule_distinct_categories"] = float(len(topics))
    return dict(scores)


def all_rule_phrases(directory: Path = RULES_DIR) -> dict[str, list[str]]:
    """Every phrase per language (the lemmas they need are kept in the model's lemma table)."""
    return {
        path.stem: [p for rule in load_rule_file(path).rules for p in rule.phrases]
        for path in sorted(directory.glob("*.json"))
    }


def rules_only_prediction(hits: list[RuleHit]) -> tuple[str, str, bool]:
    """The rules' own answer (the ablation baseline): category, priority, multi_issue."""
    scores = rule_scores(hits)
    categories = {c: scores.get(f"rule_category:{c}", 0.0) for c in CATEGORIES}
    category = max(categories, key=lambda c: categories[c])
    if categories[category] == 0:
        category = "product_usage"
    if category == "out_of_scope_device":
        priority = "P4"
    elif category == "infrastructure":
        ranked = [p for p in ("P1", "P2") if scores.get(f"rule_priority:{p}", 0) > 0]
        priority = ranked[0] if ranked else "P3"
    elif scores.get("rule_priority:P4", 0) > 0 or category == "product_usage":
        priority = "P4"
    else:
        priority = "P3"
    return category, priority, scores.get("rule_multi_issue", 0) > 0
