"""Quality figures on the test split: overall, per class, per slice, and the ablation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_fscore_support

from classifier.model import URGENT, TicketClassifier
from classifier.rules import rules_only_prediction
from classifier.schemas import CATEGORIES, MISSING_CODES, PRIORITIES, Prediction
from training.fit import ablation_row, tickets_of

TARGETS = {
    "category_macro_f1": 0.93,
    "priority_macro_f1": 0.88,
    "urgent_recall": 0.95,
    "missing_info_micro_f1": 0.90,
    "multi_issue_f1": 0.85,
    "password_recall": 0.98,
    "password_precision": 0.95,
    "language_accuracy": 0.98,
}


def predictions_frame(predictions: Sequence[Prediction]) -> pd.DataFrame:
    return pd.DataFrame([p.model_dump() for p in predictions])


def missing_info_micro(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> dict[str, float]:
    tp = fp = fn = 0
    for given, predicted in zip(gold, pred, strict=True):
        g, p = set(given), set(predicted)
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(1e-9, precision + recall),
    }


def per_code(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    out = {}
    for code in MISSING_CODES:
        g = np.array([code in x for x in gold])
        p = np.array([code in x for x in pred])
        precision, recall, f1, _ = precision_recall_fscore_support(
            g, p, average="binary", zero_division=0
        )
        out[code] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(g.sum()),
        }
    return out


def per_class(
    gold: np.ndarray, pred: np.ndarray, labels: Sequence[str]
) -> dict[str, dict[str, float]]:
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, pred, labels=list(labels), zero_division=0
    )
    return {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }


def field_metrics(gold: pd.DataFrame, pred: pd.DataFrame) -> dict[str, Any]:
    """The headline figures for one set of predictions against gold labels."""
    urgent_gold = gold["priority"].isin(URGENT).to_numpy()
    urgent_pred = pred["priority"].isin(URGENT).to_numpy()
    pw_gold = gold["contains_password"].to_numpy(dtype=bool)
    pw_pred = pred["contains_password"].to_numpy(dtype=bool)
    mi = missing_info_micro(gold["missing_info"].tolist(), pred["missing_info"].tolist())
    return {
        "n": len(gold),
        "category_macro_f1": float(
            f1_score(
                gold["category"],
                pred["category"],
                average="macro",
                labels=list(CATEGORIES),
                zero_division=0,
            )
        ),
        "category_accuracy": float(
            (gold["category"].to_numpy() == pred["category"].to_numpy()).mean()
        ),
        "priority_macro_f1": float(
            f1_score(
                gold["priority"],
                pred["priority"],
                average="macro",
                labels=list(PRIORITIES),
                zero_division=0,
            )
        ),
        "priority_accuracy": float(
            (gold["priority"].to_numpy() == pred["priority"].to_numpy()).mean()
        ),
        "urgent_recall": float(urgent_pred[urgent_gold].mean())
        if urgent_gold.any()
        else float("nan"),
        "urgent_precision": float(urgent_gold[urgent_pred].mean())
        if urgent_pred.any()
        else float("nan"),
        "missing_info_micro_f1": mi["f1"],
        "missing_info_precision": mi["precision"],
        "missing_info_recall": mi["recall"],
        "multi_issue_f1": float(
            f1_score(
                gold["multi_issue"].astype(bool), pred["multi_issue"].astype(bool), zero_division=0
            )
        ),
        "password_recall": float(pw_pred[pw_gold].mean()) if pw_gold.any() else float("nan"),
        "password_precision": float(pw_gold[pw_pred].mean()) if pw_pred.any() else float("nan"),
        "language_accuracy": float(
            (gold["language"].to_numpy() == pred["language"].to_numpy()).mean()
        ),
    }


def evaluate(model: TicketClassifier, test: pd.DataFrame) -> dict[str, Any]:
    """Everything the evaluation report holds, for the hybrid model on the test split."""
    return evaluate_predictions(test, predictions_frame(model.predict(tickets_of(test))))


def evaluate_predictions(test: pd.DataFrame, pred: pd.DataFrame) -> dict[str, Any]:
    """The evaluation report of predictions (one row per test ticket, same order)."""
    gold = test.reset_index(drop=True)
    report: dict[str, Any] = {
        "overall": field_metrics(gold, pred),
        "per_class": {
            "category": per_class(
                gold["category"].to_numpy(), pred["category"].to_numpy(), CATEGORIES
            ),
            "priority": per_class(
                gold["priority"].to_numpy(), pred["priority"].to_numpy(), PRIORITIES
            ),
            "missing_info": per_code(gold["missing_info"].tolist(), pred["missing_info"].tolist()),
        },
        "confusion": {
            "category": confusion(gold["category"], pred["category"], CATEGORIES),
            "priority": confusion(gold["priority"], pred["priority"], PRIORITIES),
        },
        "slices": slices(gold, pred),
        "decisions": {
            field: pred["decision"].map(lambda d, f=field: d[f]).value_counts().to_dict()
            for field in ("category", "priority")
        },
        "needs_review_share": float(pred["needs_review"].mean()),
    }
    return report


def confusion(gold: pd.Series, pred: pd.Series, labels: Sequence[str]) -> dict[str, Any]:
    table = pd.crosstab(
        pd.Categorical(gold, categories=list(labels)),
        pd.Categorical(pred, categories=list(labels)),
        dropna=False,
    )
    return {"labels": list(labels), "matrix": table.to_numpy().tolist()}


def slices(gold: pd.DataFrame, pred: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Headline figures per language, channel, short tickets and rule fired."""
    words = (gold["subject"] + " " + gold["body"]).str.split().map(len)
    masks: dict[str, np.ndarray] = {}
    for lang in ("nl", "fr", "en"):
        masks[f"language={lang}"] = (gold["language"] == lang).to_numpy()
    for channel in ("email", "portal", "whatsapp", "phone"):
        masks[f"channel={channel}"] = (gold["channel"] == channel).to_numpy()
    masks["short (<25 words)"] = (words < 25).to_numpy()
    fired = pred["explanation"].map(lambda e: bool(e["rules_fired"])).to_numpy()
    masks["rule fired"] = fired
    masks["no rule fired"] = ~fired
    out = {}
    for name, mask in masks.items():
        if mask.sum() == 0:
            continue
        m = field_metrics(gold[mask].reset_index(drop=True), pred[mask].reset_index(drop=True))
        out[name] = {
            k: m[k]
            for k in (
                "n",
                "category_accuracy",
                "priority_accuracy",
                "missing_info_micro_f1",
                "multi_issue_f1",
                "urgent_recall",
            )
        }
    return out


def rules_only(model: TicketClassifier, test: pd.DataFrame) -> dict[str, float]:
    """The keyword rules alone (category, priority, multi_issue), for the ablation."""
    analyses = model.analyzer.analyze(tickets_of(test))
    answers = [rules_only_prediction(a.hits) for a in analyses]
    return ablation_row(
        test, [a[0] for a in answers], [a[1] for a in answers], [a[2] for a in answers]
    )


def model_row(model: TicketClassifier, test: pd.DataFrame) -> dict[str, float]:
    pred = predictions_frame(model.predict(tickets_of(test)))
    return ablation_row(test, pred["category"], pred["priority"], pred["multi_issue"])


def format_report(
    report: dict[str, Any],
    ablation: dict[str, dict[str, float]] | None = None,
    ablation_cv: dict[str, dict[str, float]] | None = None,
    train_size: int | None = None,
    source: str = "test split",
) -> str:
    """A plain-text rendering of the figures, with the targets beside them."""
    lines = ["Overall ({}, n={})".format(source, report["overall"]["n"])]
    for key, value in report["overall"].items():
        if key == "n":
            continue
        target = TARGETS.get(key)
        mark = ""
        if target is not None:
            mark = f"  (target {'≥'} {target:.2f}: {'ok' if value >= target else 'MISSED'})"
        lines.append(f"  {key:<26} {value:6.3f}{mark}")
    for name in ("category", "priority", "missing_info"):
        lines.append(f"\nPer class: {name}")
        lines.append(f"  {'class':<22} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}")
        for label, m in report["per_class"][name].items():
            lines.append(
                f"  {label:<22} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
                f"{m['support']:5d}"
            )
    for name in ("category", "priority"):
        conf = report["confusion"][name]
        lines.append(f"\nConfusion: {name} (rows gold, columns predicted)")
        short = [label[:10] for label in conf["labels"]]
        lines.append("  " + " " * 12 + " ".join(f"{s:>10}" for s in short))
        for label, row in zip(short, conf["matrix"], strict=True):
            lines.append(f"  {label:<12}" + " ".join(f"{v:>10d}" for v in row))
    lines.append("\nSlices")
    lines.append(
        f"  {'slice':<20} {'n':>5} {'cat acc':>8} {'pri acc':>8} {'mi f1':>7} {'urg rec':>8}"
    )
    for name, m in report["slices"].items():
        lines.append(
            f"  {name:<20} {m['n']:5d} {m['category_accuracy']:8.3f} "
            f"{m['priority_accuracy']:8.3f} {m['missing_info_micro_f1']:7.3f} "
            f"{m['urgent_recall']:8.3f}"
        )
    tables = [("Ablation (test split)", ablation)]
    if ablation_cv:
        size = f", n={train_size}" if train_size else ""
        tables.append(
            (
                f"Ablation (cross-validation on the training split{size}; before the urgency rule)",
                ablation_cv,
            )
        )
    for title, rows in tables:
        if not rows:
            continue
        lines.append(f"\n{title}")
        lines.append(
            f"  {'variant':<12} {'cat F1':>8} {'prio F1':>8} {'urg rec':>8} {'multi F1':>9}"
        )
        for name, row in rows.items():
            lines.append(
                f"  {name:<12} {row['category_macro_f1']:8.3f} {row['priority_macro_f1']:8.3f} "
                f"{row['urgent_recall']:8.3f} {row['multi_issue_f1']:9.3f}"
            )
    return "\n".join(lines)
