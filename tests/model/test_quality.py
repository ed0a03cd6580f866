"""The shipped model meets the issue's quality targets on the test split, and the evaluate
command prints them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from training.dataset import load_tickets, split_tickets
from training.evaluate import TARGETS, evaluate


@pytest.fixture(scope="module")
def report(model):
    _, test = split_tickets(load_tickets())
    return evaluate(model, test)


def test_every_quality_target_is_met_on_the_test_split(report):
    overall = report["overall"]
    missed = {key: overall[key] for key, target in TARGETS.items() if overall[key] < target}
    assert not missed, f"below target: {missed}"
    assert set(TARGETS) >= {
        "category_macro_f1",
        "priority_macro_f1",
        "urgent_recall",
        "missing_info_micro_f1",
        "multi_issue_f1",
        "password_recall",
        "password_precision",
        "language_accuracy",
    }


def test_the_shipped_figures_are_the_models(model, report):
    """models/metadata.json reports what the artifact does on today's test split."""
    stored = model.metadata["metrics"]
    for key, value in report["overall"].items():
        assert stored[key] == pytest.approx(value, abs=1e-9), key


def test_evaluate_prints_the_figures_with_their_targets():
    result = subprocess.run(
        [sys.executable, "-m", "classifier.cli", "evaluate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for key in TARGETS:
        line = next(x for x in result.stdout.splitlines() if x.strip().startswith(key))
        assert "target" in line and "ok" in line, line


def test_the_hybrid_beats_rules_alone_and_text_alone(model):
    """The ablation stored at training. The rules and signals carry category and multi-issue:
    there the hybrid is ahead of both variants, on cross-validation of the training split
    (2,400-odd tickets) and on the test split. On priority the two learned variants differ by a
    ticket or two either way, so there the hybrid is held to at least matching text alone on
    cross-validation, and to beating the rules alone everywhere."""
    cv = model.metadata["ablation_cv"]
    test = model.metadata["ablation"]
    for rows in (cv, test):
        for key in ("category_macro_f1", "multi_issue_f1"):
            assert rows["hybrid"][key] > rows["model only"][key], key
        for key in ("category_macro_f1", "priority_macro_f1", "urgent_recall", "multi_issue_f1"):
            assert rows["hybrid"][key] > rows["rules only"][key], key
    for key in ("priority_macro_f1", "urgent_recall"):
        assert cv["hybrid"][key] >= cv["model only"][key], key
