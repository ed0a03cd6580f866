"""The data contract, run on the whole shipped corpus in every `make test`."""

from __future__ import annotations

import pandas as pd
import pytest

from classifier.schemas import CATEGORIES, MISSING_CODES
from training.dataset import DEFAULT_CORPUS, load_tickets, strata_test_share
from training.datasheet import DATASHEET, current_section, render_tables

GENERIC_SUBJECTS = {
    "help",
    "probleem",
    "vraag",
    "urgent",
    "re",
    "ticket",
    "question",
    "aide",
    "hulp",
}


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return load_tickets(DEFAULT_CORPUS)


def test_size_and_authorship(corpus):
    assert len(corpus) >= 2000
    assert (corpus["source"] == "handwritten").sum() >= 1500
    assert (corpus["source"] == "generated").mean() <= 0.25
    assert not ((corpus["source"] == "generated") & (corpus["split"] == "test")).any()


def test_language_mix(corpus):
    share = corpus["language"].value_counts(normalize=True)
    assert 0.50 <= share["nl"] <= 0.60
    assert 0.20 <= share["fr"] <= 0.30
    assert 0.15 <= share["en"] <= 0.25


def test_label_volumes(corpus):
    categories = corpus["category"].value_counts()
    for category in CATEGORIES:
        assert categories.get(category, 0) >= 400, category
    priorities = corpus["priority"].value_counts()
    assert priorities["P1"] >= 150
    assert priorities["P2"] >= 200
    assert 0.15 <= corpus["multi_issue"].mean() <= 0.25
    assert 0.08 <= corpus["contains_password"].mean() <= 0.12
    for code in MISSING_CODES:
        assert corpus["missing_info"].map(lambda codes, c=code: c in codes).sum() >= 150, code


def test_empty_and_generic_subjects_present(corpus):
    subjects = corpus["subject"].str.strip().str.lower().str.strip("!?.: ")
    assert (subjects == "").sum() >= 20
    assert subjects.isin(GENERIC_SUBJECTS).sum() >= 20


def test_test_split_is_large_and_stratified(corpus):
    assert (corpus["split"] == "test").mean() >= 0.20
    cells = strata_test_share(corpus)
    big = cells[cells["total"] >= 20]
    off = big[(big["test_share"] < 0.10) | (big["test_share"] > 0.45)]
    assert off.empty, off.to_string()
    # every category x priority cell that exists in training is tested too
    pairs = corpus.groupby(["category", "priority", "split"]).size().unstack(fill_value=0)
    assert (pairs.loc[pairs["train"] >= 20, "test"] > 0).all(), pairs


def test_datasheet_tables_match_the_corpus(corpus):
    text = DATASHEET.read_text(encoding="utf-8")
    assert current_section(text) == render_tables(corpus).strip(), (
        "data/README.md is out of date: run `make datasheet`"
    )


def test_the_independent_check_set_is_valid_and_apart_from_the_corpus(corpus):
    """data/check.jsonl: 120 tickets written from the guide alone, never trained on."""
    from training.dataset import near_duplicates

    check = load_tickets(DEFAULT_CORPUS.parent / "check.jsonl")  # the same line checks
    assert len(check) == 120 and set(check["split"]) == {"test"}
    assert not set(check["id"]) & set(corpus["id"])
    pairs = near_duplicates(
        zip(check["id"], check["subject"] + " " + check["body"], strict=True),
        zip(corpus["id"], corpus["subject"] + " " + corpus["body"], strict=True),
    )
    assert pairs == []
