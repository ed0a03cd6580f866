"""`ticket-classifier predict` end to end, as a pipeline would call it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

CLI = [sys.executable, "-m", "classifier.cli"]


def run(args, stdin=""):
    return subprocess.run(
        CLI + args, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_predict_file_keeps_ids_and_order_and_reports_bad_lines(tmp_path):
    lines = [
        json.dumps(
            {
                "id": "a1",
                "subject": "Outlook op mijn laptop",
                "body": "Kunnen jullie Outlook op mijn nieuwe laptop zetten?",
            }
        ),
        "{not json",
        json.dumps({"id": "a3", "subject": "", "body": ""}),
        json.dumps({"id": "a4", "subject": 12, "body": "x"}),
        json.dumps(
            {
                "id": "a5",
                "subject": "VPS down",
                "body": "vps-3.kapsalon-ria.be is down",
                "received_at": "2026-03-02T09:15:00+01:00",
                "channel": "email",
                "plan": "premium",
            }
        ),
        json.dumps({"id": "a6", "subject": "x", "body": "y", "colour": "red"}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(["predict", str(source), "-o", str(out)])
    assert result.returncode == 1
    predictions = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["id"] for p in predictions] == ["a1", "a5"]
    assert predictions[0]["category"] == "out_of_scope_device"
    err = result.stderr
    assert f"{source}:2: not valid JSON" in err
    assert f"{source}:3: field 'subject'/'body'" in err
    assert f"{source}:4: field 'subject'" in err
    assert f"{source}:6: field 'colour'" in err


def test_predict_stdin_to_stdout():
    ticket = {
        "id": "s1",
        "subject": "Factuur",
        "body": "Waarom is mijn factuur hoger dan vorige maand?",
    }
    result = run(["predict", "-"], stdin=json.dumps(ticket) + "\n")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    prediction = json.loads(line)
    assert prediction["id"] == "s1" and prediction["priority"] == "P4"


def test_a_missing_input_file_is_a_clear_error(tmp_path):
    result = run(["predict", str(tmp_path / "nope.jsonl")])
    assert result.returncode != 0
    assert "nope.jsonl" in result.stderr and "Traceback" not in result.stderr


def run_env(args, env_extra, stdin=""):
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run(
        CLI + args, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120, env=env
    )


ONE = json.dumps({"id": "o1", "subject": "SSL activeren", "body": "Hoe activeer ik SSL?"}) + "\n"


def test_an_unwritable_output_is_a_clear_error(tmp_path):
    target = tmp_path / "no-such-dir" / "out.jsonl"
    result = run(["predict", "-", "-o", str(target)], stdin=ONE)
    assert result.returncode == 2
    assert str(target) in result.stderr and "No such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_names_its_environment_variable():
    result = run_env(["predict", "-"], {"CLASSIFIER_MAX_CLASSIFY_CHARS": "500"}, stdin=ONE)
    assert result.returncode == 2
    assert "CLASSIFIER_MAX_CLASSIFY_CHARS" in result.stderr and "1000" in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_with_a_broken_model_is_a_clear_error(tmp_path):
    (tmp_path / "metadata.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.joblib").write_bytes(b"not a model")
    result = run(["evaluate", "--model-dir", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
