"""Accuracy reports for analysts: offline on the test split, live from the prediction log and the
engineers' corrections. One JSON file with the figures and one self-contained HTML page (plots
embedded) with the same figures.

    ticket-classifier report [--out DIR]
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from classifier.model import TicketClassifier
from classifier.schemas import CATEGORIES, PRIORITIES
from classifier.settings import REPORT_HTML, REPORT_JSON
from classifier.signals import redact
from training import plots
from training.evaluate import TARGETS, evaluate_predictions, predictions_frame
from training.fit import tickets_of

CALIBRATION_BINS = 10
CONFIDENT_ERRORS = 20
EXCERPT_CHARS = 300
LIVE_FIELDS = ("category", "priority", "missing_info", "multi_issue", "contains_password")
DECISIONS = ("auto", "suggest", "review")
NO_PREDICTIONS = (
    "No predictions have been logged yet. The live part fills in once the service has "
    "classified tickets (POST /v1/predict) and engineers have corrected some "
    "(POST /v1/corrections)."
)
NO_CORRECTIONS = (
    "No corrections yet, so there is no live accuracy to show: agreement with the engineers' "
    "labels appears here once they correct predictions (POST /v1/corrections). Below: what the "
    "service predicted, which needs no corrections."
)


@dataclass
class Report:
    """The figures (JSON-ready) and the plots (PNG bytes by name)."""

    data: dict[str, Any]
    figures: dict[str, bytes] = field(default_factory=dict)


# ---------------------------------------------------------------- offline: the test split


def offline_section(
    model: TicketClassifier, test: pd.DataFrame, ablation: dict[str, Any] | None = None
) -> Report:
    """Per-field and per-class figures, confusion, breakdowns, calibration, coverage, ablation
    and the most confident errors of `model` on the labeled `test` tickets."""
    gold = test.reset_index(drop=True)
    pred = predictions_frame(model.predict(tickets_of(gold)))
    evaluation = evaluate_predictions(gold, pred)
    data: dict[str, Any] = {
        "n": len(gold),
        "overall": evaluation["overall"],
        "targets": TARGETS,
        "per_class": evaluation["per_class"],
        "confusion": evaluation["confusion"],
        "breakdowns": breakdowns(evaluation["slices"]),
        "calibration": {
            name: reliability(pred, gold, name) for name in ("category", "priority", "multi_issue")
        },
        "coverage": {name: coverage(pred, gold, name) for name in ("category", "priority")},
        "ablation": ablation if ablation is not None else model.metadata.get("ablation"),
        "confident_errors": confident_errors(gold, pred),
    }
    figures = {
        f"confusion_{name}": plots.confusion_plot(
            data["confusion"][name], f"{name} confusion (test split)"
        )
        for name in ("category", "priority")
    }
    for key, rows in data["breakdowns"].items():
        figures[f"breakdown_{key}"] = plots.grouped_bars(
            [r["value"] for r in rows],
            {
                "category accuracy": [r["category_accuracy"] for r in rows],
                "priority accuracy": [r["priority_accuracy"] for r in rows],
                "missing_info micro-F1": [r["missing_info_micro_f1"] for r in rows],
            },
            [r["n"] for r in rows],
            f"Test split per {key}",
            "score",
        )
    figures["calibration"] = plots.reliability_plot(data["calibration"])
    figures["coverage"] = plots.coverage_plot(data["coverage"])
    if data["ablation"]:
        variants = list(data["ablation"])
        metrics = ("category_macro_f1", "priority_macro_f1", "urgent_recall", "multi_issue_f1")
        figures["ablation"] = plots.grouped_bars(
            list(metrics),
            {v: [data["ablation"][v][m] for m in metrics] for v in variants},
            [len(gold)] * len(metrics),
            "Ablation on the test split: rules only, model only, hybrid",
            "score",
        )
    return Report(data, figures)


def breakdowns(slices: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The evaluation's per-language and per-channel slices as rows per field."""
    rows: dict[str, list[dict[str, Any]]] = {"language": [], "channel": []}
    for name, figures in slices.items():
        key, found, value = name.partition("=")
        if found and key in rows:
            rows[key].append({"value": value, **figures})
    return rows


def _confidence(pred: pd.DataFrame, name: str) -> np.ndarray:
    return pred["confidence"].map(lambda c: c[name]).to_numpy(dtype=float)


def reliability(pred: pd.DataFrame, gold: pd.DataFrame, name: str) -> dict[str, Any]:
    """Reliability bins (mean confidence against share correct) and the expected calibration
    error of one field's predicted label."""
    confidence = _confidence(pred, name)
    correct = (pred[name].to_numpy() == gold[name].to_numpy()).astype(float)
    index = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    bins, ece = [], 0.0
    for b in range(CALIBRATION_BINS):
        mask = index == b
        n = int(mask.sum())
        mean_conf = float(confidence[mask].mean()) if n else None
        accuracy = float(correct[mask].mean()) if n else None
        if n:
            ece += n / len(confidence) * abs(accuracy - mean_conf)  # type: ignore[operator]
        bins.append(
            {
                "low": b / CALIBRATION_BINS,
                "high": (b + 1) / CALIBRATION_BINS,
                "n": n,
                "confidence": mean_conf,
                "accuracy": accuracy,
            }
        )
    return {"n": len(confidence), "ece": ece, "bins": bins}


def coverage(pred: pd.DataFrame, gold: pd.DataFrame, name: str, points: int = 100) -> dict:
    """Precision of the k most confident predictions against coverage k/n, and the operating
    points of the decision levels (auto; auto+suggest)."""
    confidence = _confidence(pred, name)
    correct = pred[name].to_numpy() == gold[name].to_numpy()
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    k = np.arange(1, len(order) + 1)
    pick = np.unique(np.linspace(0, len(order) - 1, min(points, len(order))).astype(int))
    decision = pred["decision"].map(lambda d: d[name]).to_numpy()
    levels = []
    for level_name, allowed in (("auto", {"auto"}), ("auto+suggest", {"auto", "suggest"})):
        mask = np.isin(decision, list(allowed))
        levels.append(
            {
                "name": level_name,
                "coverage": float(mask.mean()),
                "precision": float(correct[mask].mean()) if mask.any() else float("nan"),
                "n": int(mask.sum()),
            }
        )
    return {
        "n": len(order),
        "coverage": (k[pick] / len(order)).round(4).tolist(),
        "precision": (hits[pick] / k[pick]).round(4).tolist(),
        "levels": levels,
    }


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Redacted first, cut second: a secret is never half-shown."""
    flat = " ".join(redact(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def confident_errors(
    gold: pd.DataFrame, pred: pd.DataFrame, limit: int = CONFIDENT_ERRORS
) -> list[dict[str, Any]]:
    """The wrong category or priority predictions the model was surest of, with redacted text."""
    rows = []
    for i in range(len(gold)):
        wrong = {
            name: {
                "gold": gold.at[i, name],
                "predicted": pred.at[i, name],
                "confidence": pred.at[i, "confidence"][name],
            }
            for name in ("category", "priority")
            if gold.at[i, name] != pred.at[i, name]
        }
        if wrong:
            rows.append(
                {
                    "id": gold.at[i, "id"],
                    "language": gold.at[i, "language"],
                    "confidence": max(w["confidence"] for w in wrong.values()),
                    "wrong": wrong,
                    "subject": excerpt(gold.at[i, "subject"], 120),
                    "body": excerpt(gold.at[i, "body"]),
                }
            )
    rows.sort(key=lambda r: -r["confidence"])
    return rows[:limit]


# ---------------------------------------------------------------- live: log and corrections


def _week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _as_key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def live_frame(
    predictions: Sequence[dict[str, Any]], corrections: Sequence[dict[str, Any]]
) -> pd.DataFrame:
    """One row per ticket: its newest prediction, the final value of every label (the latest
    correction of that label, else the prediction) and whether an engineer touched it."""
    final: dict[str, dict[str, Any]] = {}
    for correction in corrections:  # oldest first: the latest wins
        final.setdefault(correction["ticket_id"], {}).update(correction["after"])
    rows = []
    for p in predictions:
        corrected = final.get(p["ticket_id"], {})
        decision = p.get("decision") or {}
        row = {
            "ticket_id": p["ticket_id"],
            "model_version": p["model_version"],
            "week": _week(p["created_at"]),
            "corrected": bool(corrected),
        }
        for name in LIVE_FIELDS:
            predicted = _as_key(p.get(name))
            row[name] = predicted
            row[f"{name}_final"] = _as_key(corrected.get(name, p.get(name)))
            row[f"{name}_reviewed"] = name in corrected
            row[f"{name}_decision"] = decision.get(name)
        rows.append(row)
    return pd.DataFrame(rows)


def live_section(
    predictions: Sequence[dict[str, Any]],
    corrections: Sequence[dict[str, Any]],
    weeks: int = 26,
) -> Report:
    """Agreement of the logged predictions with the engineers' final labels, per week and per
    class, the most-confused pairs, correction volume, decision levels and the weekly label
    distribution (a drift signal), over the last `weeks` weeks."""
    if not predictions:
        return Report({"status": "no_predictions", "message": NO_PREDICTIONS})
    frame = live_frame(predictions, corrections)
    shown = sorted(frame["week"].unique())[-weeks:]
    frame = frame[frame["week"].isin(shown)].reset_index(drop=True)
    per_week = frame.groupby("week").size()
    data: dict[str, Any] = {
        "status": "ok" if corrections else "no_corrections",
        "message": None if corrections else NO_CORRECTIONS,
        "weeks": shown,
        "predictions": len(frame),
        "predictions_per_week": {w: int(per_week.get(w, 0)) for w in shown},
        "model_versions": {
            str(k): int(v) for k, v in frame["model_version"].value_counts().items()
        },
        "decisions": {
            name: _weekly_shares(frame, f"{name}_decision", DECISIONS, shown)
            for name in ("category", "priority")
        },
        "label_distribution": {
            "category": _weekly_shares(frame, "category", CATEGORIES, shown),
            "priority": _weekly_shares(frame, "priority", PRIORITIES, shown),
        },
    }
    figures: dict[str, bytes] = {}
    counts = [data["predictions_per_week"][w] for w in shown]
    if corrections:
        data.update(_agreement(frame, shown, corrections))
        figures["live_agreement_weekly"] = plots.weekly_lines(
            shown,
            {name: data["agreement_weekly"][name] for name in ("category", "priority")},
            counts,
            "Predictions agreeing with the final label, per week",
            "share agreeing",
        )
        for name in ("category", "priority"):
            rows = data["agreement_per_class"][name]
            if rows:
                figures[f"live_agreement_{name}"] = plots.grouped_bars(
                    [r["label"] for r in rows],
                    {
                        "agreement (of final label)": [r["agreement"] for r in rows],
                        "precision (of predicted label)": [r["precision"] for r in rows],
                    },
                    [r["n"] for r in rows],
                    f"Live {name}: agreement per class",
                    "share",
                )
        if data["confused_pairs"]:
            figures["live_confused_pairs"] = plots.count_bars(
                [f"{p['field']}: {p['predicted']} → {p['final']}" for p in data["confused_pairs"]],
                [p["count"] for p in data["confused_pairs"]],
                "Most-confused pairs (predicted → corrected)",
                "pair",
            )
        volume = data["corrections_per_week"]
        figures["live_corrections_weekly"] = plots.count_bars(
            list(volume), list(volume.values()), "Corrections per week", "week corrected"
        )
    figures["live_decisions_weekly"] = plots.weekly_stacked(
        shown,
        data["decisions"]["category"],
        counts,
        "Decision level of the category, per week",
        plots.DECISION_COLOURS,
    )
    for name in ("category", "priority"):
        figures[f"live_{name}_distribution"] = plots.weekly_stacked(
            shown,
            data["label_distribution"][name],
            counts,
            f"Predicted {name} per week (a shift is a drift signal)",
        )
    return Report(data, figures)


def _weekly_shares(
    frame: pd.DataFrame, column: str, labels: Sequence[str], weeks: Sequence[str]
) -> dict[str, list[float]]:
    table = pd.crosstab(frame["week"], frame[column].fillna("unknown"), normalize="index")
    table = table.reindex(index=list(weeks), fill_value=0.0)
    names = list(labels) + [c for c in table.columns if c not in labels]
    return {
        str(label): [round(float(v), 4) for v in table.get(label, pd.Series(0.0, index=weeks))]
        for label in names
    }


def _agreement(
    frame: pd.DataFrame, weeks: Sequence[str], corrections: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    agree = {name: frame[name] == frame[f"{name}_final"] for name in LIVE_FIELDS}
    overall = {}
    for name in LIVE_FIELDS:
        reviewed = frame[f"{name}_reviewed"]
        overall[name] = {
            "accuracy_final": float(agree[name].mean()),
            "reviewed": int(reviewed.sum()),
            "agreement_reviewed": float(agree[name][reviewed].mean()) if reviewed.any() else None,
        }
    weekly = {
        name: [
            float(agree[name][frame["week"] == w].mean()) if (frame["week"] == w).any() else None
            for w in weeks
        ]
        for name in LIVE_FIELDS
    }
    per_class = {name: _per_class(frame, name) for name in ("category", "priority")}
    pairs: Counter[tuple[str, str, str]] = Counter()
    for name in ("category", "priority"):
        wrong = frame[~agree[name]]
        pairs.update((name, p, f) for p, f in zip(wrong[name], wrong[f"{name}_final"], strict=True))
    volume = Counter(_week(c["created_at"]) for c in corrections)
    fields = Counter(name for c in corrections for name in c["after"])
    return {
        "agreement": overall,
        "agreement_weekly": weekly,
        "agreement_per_class": per_class,
        "confused_pairs": [
            {"field": f, "predicted": p, "final": t, "count": n}
            for (f, p, t), n in pairs.most_common(10)
        ],
        "corrections": len(corrections),
        "corrected_tickets": int(frame["corrected"].sum()),
        "corrections_per_week": dict(sorted(volume.items())),
        "corrections_per_field": dict(fields.most_common()),
    }


def _per_class(frame: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    rows = []
    labels = CATEGORIES if name == "category" else PRIORITIES
    for label in labels:
        final = frame[f"{name}_final"] == label
        predicted = frame[name] == label
        if not final.any() and not predicted.any():
            continue
        both = (final & predicted).sum()
        rows.append(
            {
                "label": label,
                "n": int(final.sum()),
                "agreement": float(both / final.sum()) if final.any() else 0.0,
                "precision": float(both / predicted.sum()) if predicted.any() else 0.0,
            }
        )
    return rows


# ---------------------------------------------------------------- the whole report


def build_report(
    model: TicketClassifier,
    test: pd.DataFrame,
    live: tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]]] | None,
    ablation: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> Report:
    """Offline and live parts, and which model and training run they describe."""
    offline = offline_section(model, test, ablation)
    if live is None:
        live_part = Report(
            {
                "status": "not_included",
                "message": "The live part comes from the service's store: run "
                "`ticket-classifier report` where the service's database is configured.",
            }
        )
    else:
        live_part = live_section(*live)
    meta = model.metadata
    data = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "version": model.version,
            "trained_at": meta.get("trained_at"),
            "git_commit": meta.get("git_commit"),
            "data_sha256": meta.get("data_sha256"),
            "train_size": meta.get("train_size"),
            "test_size": meta.get("test_size"),
            "registry_version": meta.get("registry_version"),
            "mlflow_run_id": run_id,
        },
        "offline": offline.data,
        "live": live_part.data,
        "figures": sorted({**offline.figures, **live_part.figures}),
    }
    return Report(data, {**offline.figures, **live_part.figures})


def _clean(value: Any) -> Any:
    """NaN is not JSON: it becomes null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def render_html(report: Report) -> str:
    """The report as one HTML page that works offline (plots embedded as data URIs)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("training", "templates"), autoescape=select_autoescape(["html"])
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.1%}"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:.3f}"
    images = {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for name, png in report.figures.items()
    }
    return env.get_template("report.html.j2").render(r=_clean(report.data), img=images)


def _write_atomic(path: Path, text: str) -> None:
    """Readers (the service) see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
    os.replace(tmp, path)


def write_report(report: Report, out: Path, png_dir: Path | None = None) -> tuple[Path, Path]:
    """accuracy.json and accuracy.html into `out`; the plots as PNG files into `png_dir` too."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / REPORT_JSON, out / REPORT_HTML
    _write_atomic(json_path, json.dumps(_clean(report.data), indent=2, ensure_ascii=False) + "\n")
    _write_atomic(html_path, render_html(report))
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        for name, png in report.figures.items():
            (png_dir / f"{name}.png").write_bytes(png)
    return json_path, html_path
