"""Accuracy reports: offline figures on labeled tickets, live figures from a real store (SQLite and
PostgreSQL), the plain message without corrections, redaction, and the self-contained page."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT
from training.dataset import load_tickets, split_tickets
from training.report import (
    NO_CORRECTIONS,
    NO_PREDICTIONS,
    build_report,
    live_section,
    offline_section,
    render_html,
    write_report,
)

PLANTED = "Zomer2026!Planted"


@pytest.fixture(scope="module")
def sample():
    """A stratified slice of the test split (every category x priority cell), with one ticket
    whose gold label is deliberately wrong and that holds a password: a confident error."""
    _, test = split_tickets(load_tickets())
    small = test.groupby(["category", "priority"], group_keys=False).head(12)
    small = small.reset_index(drop=True).copy()
    planted = small.index[small["category"] == "out_of_scope_device"][0]
    small.at[planted, "body"] += f"\n\nMijn wachtwoord is {PLANTED} als jullie het nodig hebben."
    small.at[planted, "category"] = "infrastructure"  # gold wrong on purpose
    small.at[planted, "priority"] = "P1"
    return small


@pytest.fixture(scope="module")
def offline(model, sample):
    return offline_section(model, sample)


def test_offline_figures_agree_with_each_other(offline, sample):
    data = offline.data
    n = len(sample)
    assert data["n"] == n
    for field in ("category", "priority"):
        assert sum(m["support"] for m in data["per_class"][field].values()) == n
        assert sum(map(sum, data["confusion"][field]["matrix"])) == n
        diagonal = sum(row[i] for i, row in enumerate(data["confusion"][field]["matrix"]))
        accuracy = data["overall"][f"{field}_accuracy"]
        assert diagonal / n == pytest.approx(accuracy)
        curve = data["coverage"][field]
        assert curve["coverage"][-1] == 1.0
        assert curve["precision"][-1] == pytest.approx(accuracy, abs=1e-4)
        calibration = data["calibration"][field]
        assert sum(b["n"] for b in calibration["bins"]) == n
        assert 0 <= calibration["ece"] < 1
    for key in ("language", "channel"):
        assert sum(row["n"] for row in data["breakdowns"][key]) == n
    assert {"rules only", "model only", "hybrid"} <= set(data["ablation"])


def test_confident_errors_are_wrong_sorted_and_redacted(offline, sample):
    errors = offline.data["confident_errors"]
    planted_id = sample.loc[sample["body"].str.contains(PLANTED, regex=False), "id"].item()
    ids = [e["id"] for e in errors]
    assert planted_id in ids  # the wrong gold label makes it an error
    confidences = [e["confidence"] for e in errors]
    assert confidences == sorted(confidences, reverse=True)
    gold = sample.set_index("id")
    for e in errors:
        for field, w in e["wrong"].items():
            assert w["gold"] == gold.at[e["id"], field] != w["predicted"]
    planted = errors[ids.index(planted_id)]
    assert "[REDACTED]" in planted["body"]
    assert PLANTED not in json.dumps(offline.data)


def _prediction(category: str, priority: str, decision: str = "auto", version: str = "v1"):
    return {
        "model_version": version,
        "category": category,
        "priority": priority,
        "missing_info": ["descriptive_subject"],  # a code every category and priority allow
        "multi_issue": False,
        "contains_password": False,
        "decision": {"category": decision, "priority": decision},
        "confidence": {"category": 0.9, "priority": 0.9},
    }


def test_live_agreement_from_the_store(store):
    logged = [
        ("a", "infrastructure", "P1", "auto"),
        ("b", "cms_plugins", "P3", "auto"),
        ("c", "product_usage", "P4", "suggest"),
        ("d", "product_usage", "P4", "review"),
        ("e", "out_of_scope_device", "P4", "auto"),
    ]
    for ticket_id, category, priority, decision in logged:
        store.log_prediction(
            {"ticket_id": ticket_id, "subject": "s", "body": "b"},
            _prediction(category, priority, decision),
        )
    # "a" was predicted twice: only its newest prediction counts
    store.log_prediction(
        {"ticket_id": "a", "subject": "s", "body": "b"},
        _prediction("infrastructure", "P2", "auto", "v2"),
    )
    store.correct("b", "engineer", {"category": "product_usage"}, None)  # wrong category
    store.correct("c", "engineer", {"priority": "P3"}, None)
    store.correct("c", "engineer", {"priority": "P4"}, None)  # then confirmed: latest wins
    store.correct("d", "engineer", {"category": "cms_plugins", "priority": "P3"}, None)

    report = live_section(*store.report_rows())
    data = report.data
    assert data["status"] == "ok"
    assert data["predictions"] == 5
    assert data["model_versions"] == {"v1": 4, "v2": 1}
    agreement = data["agreement"]
    assert agreement["category"]["accuracy_final"] == pytest.approx(3 / 5)  # b and d wrong
    assert agreement["category"]["reviewed"] == 2
    assert agreement["category"]["agreement_reviewed"] == 0.0
    assert agreement["priority"]["accuracy_final"] == pytest.approx(4 / 5)  # d wrong
    assert agreement["priority"]["agreement_reviewed"] == pytest.approx(1 / 2)  # c kept P4
    assert agreement["missing_info"]["accuracy_final"] == 1.0
    pairs = {(p["field"], p["predicted"], p["final"]): p["count"] for p in data["confused_pairs"]}
    assert pairs == {
        ("category", "cms_plugins", "product_usage"): 1,
        ("category", "product_usage", "cms_plugins"): 1,
        ("priority", "P4", "P3"): 1,
    }
    assert data["corrections"] == 4
    assert data["corrected_tickets"] == 3
    assert sum(data["corrections_per_week"].values()) == 4
    assert data["corrections_per_field"] == {"priority": 3, "category": 2}
    week = data["weeks"][-1]
    assert data["decisions"]["category"]["review"][-1] == pytest.approx(1 / 5)
    assert data["label_distribution"]["category"]["product_usage"][-1] == pytest.approx(2 / 5)
    assert data["predictions_per_week"] == {week: 5}
    per_class = {r["label"]: r for r in data["agreement_per_class"]["category"]}
    assert per_class["product_usage"]["n"] == 2  # b (corrected to it) and c
    assert per_class["product_usage"]["agreement"] == pytest.approx(1 / 2)
    assert per_class["product_usage"]["precision"] == pytest.approx(1 / 2)
    assert {"live_agreement_weekly", "live_confused_pairs", "live_corrections_weekly"} <= set(
        report.figures
    )


def test_weekly_agreement_follows_the_prediction_week():
    monday = datetime(2026, 10, 5, 10, tzinfo=UTC)  # ISO week 41
    predictions, corrections = [], []
    for week in range(3):
        for k in range(4):
            ticket_id = f"w{week}-{k}"
            predictions.append(
                {
                    "ticket_id": ticket_id,
                    "created_at": monday + timedelta(weeks=week, hours=k),
                    **_prediction("cms_plugins", "P3"),
                }
            )
            if k < week:  # week 0: none wrong, week 1: one, week 2: two
                corrections.append(
                    {
                        "ticket_id": ticket_id,
                        "created_at": monday + timedelta(weeks=week, days=1),
                        "after": {"category": "product_usage"},
                    }
                )
    data = live_section(predictions, corrections).data
    assert data["weeks"] == ["2026-W41", "2026-W42", "2026-W43"]
    assert data["agreement_weekly"]["category"] == [1.0, 0.75, 0.5]
    assert data["agreement_weekly"]["priority"] == [1.0, 1.0, 1.0]
    assert data["corrections_per_week"] == {"2026-W42": 1, "2026-W43": 2}
    assert live_section(predictions, corrections, weeks=2).data["weeks"] == ["2026-W42", "2026-W43"]


def test_without_corrections_the_live_part_says_so_and_draws_no_agreement(model, sample):
    predictions = [
        {
            "ticket_id": "x",
            "created_at": datetime(2026, 11, 2, tzinfo=UTC),
            **_prediction("cms_plugins", "P3"),
        }
    ]
    live = live_section(predictions, [])
    assert live.data["status"] == "no_corrections"
    assert live.data["message"] == NO_CORRECTIONS
    assert not [name for name in live.figures if "agreement" in name or "correct" in name]
    empty = live_section([], [])
    assert empty.data == {"status": "no_predictions", "message": NO_PREDICTIONS}
    assert empty.figures == {}
    report = build_report(model, sample.head(8), ([], []))
    html = render_html(report)
    assert "No predictions have been logged yet" in html
    assert "Agreement with the final labels" not in html


def test_the_page_is_self_contained_and_matches_the_json(model, sample, tmp_path):
    predictions = [
        {
            "ticket_id": f"t{i}",
            "created_at": datetime(2026, 11, 2, tzinfo=UTC),
            **_prediction("cms_plugins", "P3"),
        }
        for i in range(3)
    ]
    corrections = [
        {
            "ticket_id": "t0",
            "created_at": datetime(2026, 11, 3, tzinfo=UTC),
            "after": {"priority": "P2"},
        }
    ]
    report = build_report(model, sample, (predictions, corrections))
    json_path, html_path = write_report(report, tmp_path / "out", png_dir=tmp_path / "png")

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")  # NaN must have become null

    data = json.loads(json_path.read_text(), parse_constant=no_constants)
    html = html_path.read_text()
    assert data["model"]["version"] == model.version
    assert data["live"]["agreement"]["priority"]["accuracy_final"] == pytest.approx(2 / 3)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == len(data["figures"]) == len(list((tmp_path / "png").glob("*.png")))
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing fetched from outside
    assert model.version in html
    assert PLANTED not in html
    assert f"{data['offline']['overall']['category_macro_f1']:.3f}" in html


def test_report_command_writes_both_files_and_explains_an_empty_store(tmp_path):
    env = {
        **os.environ,
        "CLASSIFIER_DATA_DIR": str(tmp_path / "var"),
        "CLASSIFIER_MODEL_DIR": str(ROOT / "models"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "classifier.cli", "report"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    folder = tmp_path / "var" / "reports"
    data = json.loads((folder / "accuracy.json").read_text())
    assert data["live"]["status"] == "no_predictions"
    assert data["offline"]["n"] == len(split_tickets(load_tickets())[1])
    assert not (tmp_path / "var" / "classifier.db").exists()  # reading made no database
    bad = subprocess.run(
        [sys.executable, "-m", "classifier.cli", "report", "--model-dir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "error: no model in" in bad.stderr
