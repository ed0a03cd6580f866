"""Training as small named steps: load → validate → split → fit → evaluate → save."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from classifier.model import TicketClassifier
from classifier.settings import get_settings
from training.config import DEFAULT_CONFIG, load_config
from training.dataset import DEFAULT_CORPUS, data_hash, load_tickets, split_tickets
from training.evaluate import evaluate, format_report, model_row, rules_only
from training.fit import fit_model

EVALUATION = "evaluation.json"


class StepTimer:
    """Prints each step with the time elapsed since training began."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", flush=True)


def ablation_table(model: TicketClassifier, train, test, config, progress) -> dict[str, dict]:
    """Rules only, model only (text features alone) and the hybrid, on the test split."""
    progress("ablation: fitting the model-only variant (no signal or rule features)")
    text_only = fit_model(
        train, config.model_copy(update={"use_signals": False}), "-", progress=lambda m: None
    )
    return {
        "rules only": rules_only(model, test),
        "model only": model_row(text_only, test),
        "hybrid": model_row(model, test),
    }


def run_training(
    data: Path | None = None, config_path: Path | None = None, out: Path | None = None
) -> TicketClassifier:
    progress = StepTimer()
    data = data or DEFAULT_CORPUS
    out = out or get_settings().model_dir
    config = load_config(config_path or DEFAULT_CONFIG)
    progress(f"loading and validating {data}")
    frame = load_tickets(data)
    train, test = split_tickets(frame)
    progress(f"split: {len(train)} train, {len(test)} test")
    model = fit_model(train, config, data_hash(data), progress=progress)
    progress("evaluating on the test split")
    report = evaluate(model, test)
    report["ablation"] = ablation_table(model, train, test, config, progress)
    model.metadata["metrics"] = report["overall"]
    model.metadata["ablation"] = report["ablation"]
    model.metadata["test_size"] = len(test)
    artifact = model.save(out)
    (Path(out) / EVALUATION).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_model_card(Path(out), model.metadata, report)
    progress(f"model written to {artifact} ({artifact.stat().st_size / 1e6:.1f} MB)")
    print(format_report(report, report["ablation"]))
    return model


def run_evaluation(
    data: Path | None = None,
    model_dir: Path | None = None,
    ablation: bool = False,
    json_out: Path | None = None,
) -> dict[str, Any]:
    settings = get_settings()
    model = TicketClassifier.load(
        model_dir or settings.model_dir, settings.urgent_threshold, settings.max_classify_chars
    )
    frame = load_tickets(data or DEFAULT_CORPUS)
    train, test = split_tickets(frame)
    report = evaluate(model, test)
    if ablation:
        config = load_config(DEFAULT_CONFIG)
        report["ablation"] = ablation_table(model, train, test, config, StepTimer())
    print(f"model {model.version}")
    print(format_report(report, report.get("ablation") or model.metadata.get("ablation")))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def write_model_card(out: Path, metadata: dict[str, Any], report: dict[str, Any]) -> None:
    m = report["overall"]
    lines = [
        "# Model card: ticket-classifier",
        "",
        f"- version: `{metadata['version']}`, trained {metadata['trained_at']}",
        f"- data: `data/tickets.jsonl` sha256 `{metadata['data_sha256'][:16]}…`, "
        f"{metadata['train_size']} train / {metadata['test_size']} test tickets",
        f"- code: git commit `{metadata['git_commit'][:12]}`",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in metadata["libraries"].items()),
        "",
        "## What it does",
        "",
        "Predicts category, priority, missing information, multi-issue and password presence for",
        "hosting support tickets in Dutch, French and English, per the labeling guide. Linear SVMs",
        "with sigmoid-calibrated probabilities over word (lemma) and character n-grams, detector",
        "signals and keyword-rule features; the guide's category/priority table is enforced when",
        "decoding; missing information follows the guide's 'needed when' rules.",
        "",
        "## Test-split figures",
        "",
        "| metric | value |",
        "| --- | --- |",
        *[f"| {k} | {v:.3f} |" for k, v in m.items() if k != "n"],
        "",
        "## Limits",
        "",
        "- Trained on a hand-written corpus of about 2,000 tickets; real traffic will differ.",
        "- Decisions below the `auto` thresholds should be reviewed by an engineer.",
        "- Password detection is pattern-based; unusual phrasings can slip through.",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
