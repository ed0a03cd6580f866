"""Training on MLflow: tracking, registry aliases, the promotion gate, export, pyfunc parity,
corrections merged into training, and no secret in any artifact."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pandas as pd
import pytest

from classifier.model import TicketClassifier
from tests.conftest import ROOT
from training.corrections import CorrectionsError, merge_corrections, read_corrections_file
from training.dataset import load_tickets
from training.registry import promotion_gate

REPORT = {
    "overall": {"category_macro_f1": 0.95, "priority_macro_f1": 0.92, "urgent_recall": 0.96},
    "per_class": {
        "category": {"infrastructure": {"recall": 0.95}, "cms_plugins": {"recall": 0.90}},
        "priority": {"P1": {"recall": 0.93}, "P4": {"recall": 0.99}},
    },
    "slices": {
        "language=nl": {"category_accuracy": 0.95, "priority_accuracy": 0.94},
        "channel=email": {"category_accuracy": 0.9, "priority_accuracy": 0.9},
    },
}


def changed(**paths):
    report = copy.deepcopy(REPORT)
    for path, value in paths.items():
        node = report
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return report


def test_the_gate_passes_small_changes_and_names_every_failed_check():
    assert promotion_gate(changed(overall__category_macro_f1=0.945), REPORT).passed
    result = promotion_gate(
        changed(
            overall__priority_macro_f1=0.90,
            overall__urgent_recall=0.95,
            per_class__category__cms_plugins={"recall": 0.86},
        ),
        REPORT,
    )
    assert not result.passed
    text = str(result)
    assert "priority_macro_f1 dropped by 0.020" in text
    assert "category cms_plugins recall dropped by 0.040" in text
    assert "P1+P2 recall dropped" in text
    language = copy.deepcopy(REPORT)
    language["slices"]["language=nl"]["priority_accuracy"] = 0.91
    assert "language=nl priority_accuracy dropped by 0.030" in str(promotion_gate(language, REPORT))


def test_corrections_merge_latest_wins_and_never_touch_the_test_split():
    frame = load_tickets()
    train_id = frame.loc[frame["split"] == "train", "id"].iloc[0]
    test_id = frame.loc[frame["split"] == "test", "id"].iloc[0]
    base = {
        "subject": "s",
        "body": "b",
        "missing_info": [],
        "multi_issue": False,
        "contains_password": False,
        "language": "nl",
    }
    merged, counts = merge_corrections(
        frame,
        [
            {
                "id": train_id,
                "category": "cms_plugins",
                "priority": "P3",
                "corrected_at": "2026-01-01",
                **base,
            },
            {
                "id": train_id,
                "category": "product_usage",
                "priority": "P4",
                "corrected_at": "2026-02-01",
                **base,
            },
            {
                "id": test_id,
                "category": "cms_plugins",
                "priority": "P3",
                "corrected_at": "2026-01-01",
                **base,
            },
            {
                "id": "t-live-1",
                "category": "infrastructure",
                "priority": "P1",
                "corrected_at": "2026-01-01",
                **base,
            },
        ],
    )
    assert counts == {"corrections": 3, "updated": 1, "added": 1, "skipped_test": 1}
    row = merged.set_index("id")
    assert row.loc[train_id, "category"] == "product_usage"
    assert row.loc[test_id, "category"] == frame.set_index("id").loc[test_id, "category"]
    assert row.loc["t-live-1", "split"] == "train"


def test_a_bad_corrections_file_names_the_line(tmp_path):
    path = tmp_path / "corrections.jsonl"
    path.write_text('{"id": "x", "subject": "", "body": "", "category": "cms_plugins"}\n')
    with pytest.raises(CorrectionsError, match=r"corrections.jsonl:1: field 'priority'"):
        read_corrections_file(path)


SECRET = "Geheim!Planted-4417"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two tracked trainings on a small stratified corpus, in a throw-away MLflow store."""
    work = tmp_path_factory.mktemp("mlflow")
    frame = load_tickets()
    groups = frame.groupby(["split", "category", "priority"])
    small = pd.concat(g.sample(min(len(g), 25), random_state=3) for _, g in groups)
    corpus = work / "tickets.jsonl"
    with corpus.open("w", encoding="utf-8") as handle:
        for record in small.drop(columns=["line"]).to_dict(orient="records"):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    corrections = work / "corrections.jsonl"
    corrections.write_text(
        json.dumps(
            {
                "id": "t-live-9",
                "subject": "FTP",
                "body": f"Mijn ftp wachtwoord is {SECRET} en het werkt niet",
                "category": "product_usage",
                "priority": "P3",
                "missing_info": ["error_message"],
                "multi_issue": False,
                "contains_password": True,
                "language": "nl",
                "corrected_at": "2026-03-01T10:00:00+00:00",
            }
        )
        + "\n"
    )
    config = json.loads((ROOT / "training" / "config.json").read_text())
    config["cv_folds"] = 3
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config))
    weak = dict(config, head_c={k: 0.0001 for k in config["head_c"]})
    weak_path = work / "weak.json"
    weak_path.write_text(json.dumps(weak))
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
    }
    cli = [
        sys.executable,
        "-m",
        "classifier.cli",
        "train",
        "--data",
        str(corpus),
        "--no-ablation",
        "--out",
        str(work / "served"),
    ]
    first = subprocess.run(
        [*cli, "--config", str(config_path), "--corrections", str(corrections)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    second = subprocess.run(
        [*cli, "--config", str(weak_path)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return work, env, first, second


def test_first_model_becomes_champion_and_a_worse_one_is_held_back(trained):
    work, _env, first, second = trained
    assert first.returncode == 0, first.stderr[-2000:]
    assert "version 1 is the first: it becomes the champion" in first.stdout
    assert "corrections: corrections 1, updated 0, added 1" in first.stdout
    assert (work / "served" / "model.joblib").exists()
    assert second.returncode == 0, second.stderr[-2000:]
    assert "version 2 stays challenger: the gate failed" in second.stdout
    assert "macro_f1 dropped by" in second.stdout


def test_promote_override_and_export(trained):
    work, env, *_ = trained
    cli = [sys.executable, "-m", "classifier.cli"]
    promoted = subprocess.run(
        [*cli, "promote", "--version", "2", "--reason", "manual check"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert promoted.returncode == 0, promoted.stderr[-2000:]
    exported = subprocess.run(
        [*cli, "export", "--alias", "champion", "--out", str(work / "x")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert TicketClassifier.load(work / "x").metadata["config"]["head_c"]["category"] == 0.0001


def test_pyfunc_predicts_as_the_cli_does(trained):
    work, env, *_ = trained
    script = f"""
import json, mlflow, pandas as pd
mlflow.set_tracking_uri({env["MLFLOW_TRACKING_URI"]!r})
model = mlflow.pyfunc.load_model("models:/ticket-classifier/1")
frame = pd.DataFrame([
    {{"id": "a", "subject": "VPS down", "body": "vps-2.bakker-jan.be reageert niet", "received_at": "2026-03-02T09:15:00+01:00"}},
    {{"id": "b", "subject": "Factuur", "body": "Waarom is mijn factuur hoger?", "received_at": "2026-03-02T09:15:00+01:00"}},
])
print(json.dumps(model.predict(frame).to_dict(orient="records")))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    pyfunc = json.loads(out.stdout.strip().splitlines()[-1])
    sent = [
        ("a", "VPS down", "vps-2.bakker-jan.be reageert niet"),
        ("b", "Factuur", "Waarom is mijn factuur hoger?"),
    ]
    stamp = "2026-03-02T09:15:00+01:00"
    lines = "".join(
        json.dumps({"id": i, "subject": s, "body": b, "received_at": stamp}) + "\n"
        for i, s, b in sent
    )
    cli = subprocess.run(
        [sys.executable, "-m", "classifier.cli", "predict", "-"],
        input=lines,
        cwd=work,
        env={**env, "CLASSIFIER_MODEL_DIR": str(work / "served")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [(p["id"], p["category"], p["priority"], p["missing_info"]) for p in pyfunc] == [
        (p["id"], p["category"], p["priority"], p["missing_info"]) for p in expected
    ]


def test_no_secret_reaches_mlflow(trained):
    work, *_ = trained
    for path in work.rglob("*"):
        if path.is_file() and path.name != "corrections.jsonl":
            assert SECRET.encode() not in path.read_bytes(), path


def test_every_run_logs_the_accuracy_report(trained):
    work, *_ = trained
    pages = sorted(work.rglob("report/accuracy.json"))
    assert len(pages) == 2  # one per training run
    for path in pages:
        data = json.loads(path.read_text())
        assert data["model"]["mlflow_run_id"] and data["model"]["mlflow_run_id"] in str(path)
        assert data["live"]["status"] == "not_included"
        assert (path.parent / "accuracy.html").read_text().count("data:image/png") == len(
            data["figures"]
        )
        assert {"confusion_category", "calibration", "coverage"} <= {
            p.stem for p in (path.parent / "plots").glob("*.png")
        }
